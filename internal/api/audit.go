package api

import (
	"context"
	"encoding/base64"
	"net/http"
	"strconv"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"

	"groundcrew.dev/groundcrew/internal/audit"
	"groundcrew.dev/groundcrew/internal/identity"
)

// AuditListParams filter the audit log.
type AuditListParams struct {
	Actor      string    `query:"actor" maxLength:"63"`
	Action     string    `query:"action" maxLength:"63"`
	ObjectKind string    `query:"kind" maxLength:"63" doc:"service, team, user, environment, tool, token"`
	ObjectName string    `query:"object" maxLength:"200"`
	Since      time.Time `query:"since" doc:"RFC 3339"`
	Until      time.Time `query:"until" doc:"RFC 3339"`
	Limit      int       `query:"limit" minimum:"0" maximum:"500" default:"50"`
	Cursor     string    `query:"cursor" maxLength:"40"`
}

func (a *API) registerAudit() {
	huma.Register(a.huma, huma.Operation{
		OperationID: "list-audit", Method: http.MethodGet, Path: "/audit", Tags: []string{"Audit"},
		Summary: "Read the audit log", Description: "Newest first. Operators and admins only.",
	}, func(ctx context.Context, in *AuditListParams) (*PageOutput[audit.Record], error) {
		if err := identity.Authorize(ctx, identity.PermReadAudit, uuid.Nil); err != nil {
			return nil, a.fail(ctx, err)
		}
		var before int64
		if in.Cursor != "" {
			b, _ := base64.RawURLEncoding.DecodeString(in.Cursor)
			n, err := strconv.ParseInt(string(b), 10, 64)
			if err != nil || n <= 0 {
				return nil, huma.NewError(http.StatusUnprocessableEntity, "invalid cursor",
					&huma.ErrorDetail{Location: "query.cursor", Message: "is not a cursor this API returned", Value: in.Cursor})
			}
			before = n
		}
		limit := in.Limit
		if limit == 0 {
			limit = 50
		}
		recs, err := audit.List(ctx, a.cfg.DB.Reader(), audit.Filter{
			Actor: in.Actor, Action: in.Action, ObjectKind: in.ObjectKind, ObjectName: in.ObjectName,
			Since: in.Since, Until: in.Until, BeforeSeq: before, Limit: limit,
		})
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		next := ""
		if len(recs) == limit {
			next = strconv.FormatInt(recs[len(recs)-1].Seq, 10)
		}
		return page(recs, next), nil
	})
	huma.Register(a.huma, huma.Operation{
		OperationID: "verify-audit", Method: http.MethodGet, Path: "/audit/verify", Tags: []string{"Audit"},
		Summary: "Verify the audit chain", Description: "Walks the hash chain and reports the first row that was edited, inserted or deleted out of order.",
	}, func(ctx context.Context, _ *struct{}) (*struct{ Body audit.Report }, error) {
		if err := identity.Authorize(ctx, identity.PermReadAudit, uuid.Nil); err != nil {
			return nil, a.fail(ctx, err)
		}
		rep, err := audit.Verify(ctx, a.cfg.DB.Reader())
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		return &struct{ Body audit.Report }{rep}, nil
	})
}
