package api

import (
	"context"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"groundcrew.dev/groundcrew/internal/check"
	"groundcrew.dev/groundcrew/internal/errs"
)

// CheckListParams filter the check list.
type CheckListParams struct {
	ListParams
	Service     string `query:"service" maxLength:"63"`
	Environment string `query:"environment" maxLength:"63"`
	Type        string `query:"type" maxLength:"20"`
	Status      string `query:"status" enum:"unknown,up,degraded,down,blocked,paused,"`
}

// CheckCreated is a new check; for a heartbeat check it carries the ping
// URL, shown only this once.
type CheckCreated struct {
	check.Check
	PingURL string `json:"ping_url,omitempty" doc:"heartbeat checks: the secret URL to call; shown once"`
}

// ResultsParams page the results of a check.
type ResultsParams struct {
	NameParam
	Since  time.Time `query:"since" doc:"RFC 3339; default 24 h ago"`
	Until  time.Time `query:"until" doc:"RFC 3339; default now"`
	Limit  int       `query:"limit" minimum:"0" maximum:"1000" default:"100"`
	Cursor string    `query:"cursor" maxLength:"40"`
}

func (a *API) registerChecks() {
	svc := a.cfg.Checks
	huma.Register(a.huma, huma.Operation{
		OperationID: "list-checks", Method: http.MethodGet, Path: "/checks", Tags: []string{"Checks"},
		Summary: "List health checks", Description: "Sorted by name, paged; filter by search, service, environment, type and confirmed status.",
	}, func(ctx context.Context, in *CheckListParams) (*PageOutput[check.Check], error) {
		opts, err := in.Options()
		if err != nil {
			return nil, err
		}
		items, next, err := svc.List(ctx, check.Filter{Query: opts.Query, After: opts.After, Limit: opts.Limit,
			Service: in.Service, Environment: in.Environment, Type: in.Type, Status: check.Status(in.Status)})
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		return page(items, next), nil
	})
	huma.Register(a.huma, huma.Operation{
		OperationID: "create-check", Method: http.MethodPost, Path: "/checks", Tags: []string{"Checks"},
		Summary: "Create a health check", DefaultStatus: http.StatusCreated, MaxBodyBytes: MaxBodyBytes,
	}, func(ctx context.Context, in *CreateInput[check.Input]) (*ObjectOutput[CheckCreated], error) {
		c, secret, err := svc.Create(ctx, in.Body)
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		out := CheckCreated{Check: c}
		if secret != "" {
			out.PingURL = a.pingURL(ctx, secret)
		}
		return &ObjectOutput[CheckCreated]{ETag: ETag(c.Revision), Body: out}, nil
	})
	huma.Register(a.huma, huma.Operation{
		OperationID: "get-check", Method: http.MethodGet, Path: "/checks/{name}", Tags: []string{"Checks"},
		Summary: "Get a health check with its confirmed state",
	}, func(ctx context.Context, in *NameParam) (*ObjectOutput[check.Check], error) {
		c, err := svc.Get(ctx, in.Name)
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		return &ObjectOutput[check.Check]{ETag: ETag(c.Revision), Body: c}, nil
	})
	huma.Register(a.huma, huma.Operation{
		OperationID: "update-check", Method: http.MethodPut, Path: "/checks/{name}", Tags: []string{"Checks"},
		Summary: "Replace a health check", MaxBodyBytes: MaxBodyBytes,
	}, func(ctx context.Context, in *UpdateInput[check.Input]) (*ObjectOutput[check.Check], error) {
		rev, err := in.Revision()
		if err != nil {
			return nil, err
		}
		c, err := svc.Update(ctx, in.Name, in.Body, rev)
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		return &ObjectOutput[check.Check]{ETag: ETag(c.Revision), Body: c}, nil
	})
	huma.Register(a.huma, huma.Operation{
		OperationID: "delete-check", Method: http.MethodDelete, Path: "/checks/{name}", Tags: []string{"Checks"},
		Summary: "Delete a health check", DefaultStatus: http.StatusNoContent,
	}, func(ctx context.Context, in *DeleteInput) (*struct{}, error) {
		rev, err := in.Revision()
		if err != nil {
			return nil, err
		}
		if err := svc.Delete(ctx, in.Name, rev); err != nil {
			return nil, a.fail(ctx, err)
		}
		return nil, nil
	})
	huma.Register(a.huma, huma.Operation{
		OperationID: "list-check-results", Method: http.MethodGet, Path: "/checks/{name}/results", Tags: []string{"Checks"},
		Summary: "Runs of a check, newest first", Description: "Each run says which conditions held and why the run failed.",
	}, func(ctx context.Context, in *ResultsParams) (*PageOutput[check.Result], error) {
		until := in.Until
		if until.IsZero() {
			until = time.Now().UTC().Add(time.Minute)
		}
		since := in.Since
		if since.IsZero() {
			since = until.Add(-25 * time.Hour)
		}
		var after check.ResultsCursor
		if in.Cursor != "" {
			b, _ := base64.RawURLEncoding.DecodeString(in.Cursor)
			at, id, ok := strings.Cut(string(b), ":")
			ns, err1 := strconv.ParseInt(at, 10, 64)
			n, err2 := strconv.ParseInt(id, 10, 64)
			if !ok || err1 != nil || err2 != nil || n <= 0 {
				return nil, a.fail(ctx, errs.Invalidf("cursor", "is not a cursor this API returned"))
			}
			after = check.ResultsCursor{At: time.Unix(0, ns).UTC(), ID: n}
		}
		limit := in.Limit
		if limit == 0 {
			limit = 100
		}
		rs, err := svc.Results(ctx, in.Name, since, until, after, limit)
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		next := ""
		if len(rs) == limit {
			last := rs[len(rs)-1]
			next = strconv.FormatInt(last.At.UnixNano(), 10) + ":" + strconv.FormatInt(last.ID, 10)
		}
		return page(rs, next), nil
	})
	huma.Register(a.huma, huma.Operation{
		OperationID: "list-check-events", Method: http.MethodGet, Path: "/checks/{name}/events", Tags: []string{"Checks"},
		Summary: "State changes of a check, newest first, with the evidence",
	}, func(ctx context.Context, in *struct {
		NameParam
		Limit int `query:"limit" minimum:"0" maximum:"1000" default:"50"`
	}) (*PageOutput[check.Event], error) {
		evs, err := svc.Events(ctx, in.Name, in.Limit)
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		return page(evs, ""), nil
	})
	huma.Register(a.huma, huma.Operation{
		OperationID: "get-check-uptime", Method: http.MethodGet, Path: "/checks/{name}/uptime", Tags: []string{"Checks"},
		Summary:     "Uptime, response-time percentiles and downtimes over a window",
		Description: "Use window (24h, 7d, 30d, 90d…) or from and to. Computed from hourly rollups, so any window works long after raw results are deleted.",
	}, func(ctx context.Context, in *struct {
		NameParam
		Window string    `query:"window" maxLength:"10" doc:"e.g. 24h, 7d, 30d, 90d; default 24h"`
		From   time.Time `query:"from"`
		To     time.Time `query:"to"`
	}) (*struct{ Body check.Uptime }, error) {
		from, to := in.From, in.To
		if to.IsZero() {
			to = time.Now().UTC()
		}
		if from.IsZero() {
			d, err := parseWindow(in.Window)
			if err != nil {
				return nil, a.fail(ctx, err)
			}
			from = to.Add(-d)
		}
		u, err := svc.Uptime(ctx, in.Name, from, to)
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		return &struct{ Body check.Uptime }{u}, nil
	})
	huma.Register(a.huma, huma.Operation{
		OperationID: "list-check-days", Method: http.MethodGet, Path: "/checks/{name}/days", Tags: []string{"Checks"},
		Summary: "Daily uptime of a check, oldest first (for uptime bars)",
	}, func(ctx context.Context, in *struct {
		NameParam
		Days int `query:"days" minimum:"1" maximum:"400" default:"90"`
	}) (*PageOutput[check.Day], error) {
		days, err := svc.Days(ctx, in.Name, in.Days)
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		return page(days, ""), nil
	})
	huma.Register(a.huma, huma.Operation{
		OperationID: "rotate-ping-secret", Method: http.MethodPost, Path: "/checks/{name}/ping-secret", Tags: []string{"Checks"},
		Summary: "Give a heartbeat check a new ping URL", Description: "The old URL stops working. The new one is shown only in this response.",
	}, func(ctx context.Context, in *NameParam) (*struct {
		Body struct {
			PingURL string `json:"ping_url"`
		}
	}, error) {
		secret, err := svc.RotatePingSecret(ctx, in.Name)
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		out := &struct {
			Body struct {
				PingURL string `json:"ping_url"`
			}
		}{}
		out.Body.PingURL = a.pingURL(ctx, secret)
		return out, nil
	})
}

// pingURL is the heartbeat URL of secret as the caller reaches this server.
func (a *API) pingURL(ctx context.Context, secret string) string {
	base := a.cfg.BaseURL
	if base == "" || strings.HasSuffix(base, ":0") { // listening on a random port: use the address the caller used
		if r, ok := ctx.Value(requestKey{}).(*http.Request); ok {
			scheme := "http"
			if r.TLS != nil {
				scheme = "https"
			}
			base = scheme + "://" + r.Host
		}
	}
	return base + Prefix + "/ping/" + secret
}

// parseWindow reads a window such as 24h, 7d or 90d.
func parseWindow(s string) (time.Duration, error) {
	if s == "" {
		return 24 * time.Hour, nil
	}
	if n, err := strconv.Atoi(strings.TrimSuffix(s, "d")); err == nil && strings.HasSuffix(s, "d") && n > 0 && n <= 800 {
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, errs.Invalidf("window", "%q is not a window such as 24h, 7d or 90d", s)
	}
	return d, nil
}
