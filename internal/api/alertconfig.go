package api

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"

	"groundcrew.dev/groundcrew/internal/alert"
)

// RouteTestInput asks where an alert with these labels would go.
type RouteTestInput struct {
	Labels map[string]string `json:"labels" doc:"the alert's labels, e.g. {\"alertname\": \"HighLatency\", \"service\": \"payments-api\"}"`
}

// SilencePreviewInput asks which firing alerts matchers would silence.
type SilencePreviewInput struct {
	Matchers []string `json:"matchers"`
}

func (a *API) registerAlertConfig(svc *alert.Service) {
	tags := []string{"Alert routing"}
	huma.Register(a.huma, huma.Operation{
		OperationID: "list-alert-routes", Method: http.MethodGet, Path: "/alert-routes", Tags: tags,
		Summary: "List alert routes", Description: "In tree order: by position, then name. Each is a top-level route under the root, which groups by alertname and service.",
	}, func(ctx context.Context, _ *struct{}) (*PageOutput[alert.Route], error) {
		list, err := svc.ListRoutes(ctx)
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		return page(list, ""), nil
	})
	registerCRUD(a, crud[alert.Route, alert.RouteInput]{
		plural: "alert-routes", singular: "alert-route", tag: "Alert routing",
		get: svc.GetRoute,
		create: func(ctx context.Context, in alert.RouteInput) (alert.Route, error) {
			return svc.PutRoute(ctx, in, 0, true)
		},
		update: func(ctx context.Context, name string, in alert.RouteInput, ifRevision int64) (alert.Route, error) {
			in.Name = name
			if ifRevision > 0 {
				// A revision says "change the route I read": if someone
				// deleted it meanwhile, that is a conflict, not a create.
				return svc.ReplaceRoute(ctx, in, ifRevision)
			}
			return svc.PutRoute(ctx, in, 0, false)
		},
		delete:   svc.DeleteRoute,
		revision: func(r alert.Route) int64 { return r.Revision },
	})
	huma.Register(a.huma, huma.Operation{
		OperationID: "test-alert-route", Method: http.MethodPost, Path: "/alert-routes/test", Tags: tags,
		Summary:     "Where would an alert go?",
		Description: "Returns the routes an alert with these labels ends at now, their receivers and group keys, why each route matched or not, and the silences that would mute it.",
	}, func(ctx context.Context, in *struct{ Body RouteTestInput }) (*struct{ Body alert.RouteTest }, error) {
		out, err := svc.TestRoute(ctx, in.Body.Labels)
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		return &struct{ Body alert.RouteTest }{out}, nil
	})
	huma.Register(a.huma, huma.Operation{
		OperationID: "list-inhibit-rules", Method: http.MethodGet, Path: "/inhibit-rules", Tags: tags,
		Summary: "List inhibition rules",
	}, func(ctx context.Context, _ *struct{}) (*PageOutput[alert.InhibitRule], error) {
		list, err := svc.ListInhibitRules(ctx)
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		return page(list, ""), nil
	})

	stags := []string{"Silences"}
	huma.Register(a.huma, huma.Operation{
		OperationID: "list-silences", Method: http.MethodGet, Path: "/silences", Tags: stags,
		Summary: "List silences", Description: "Pending and active ones, newest first; with all=true also those that ended in the last 30 days.",
	}, func(ctx context.Context, in *struct {
		All bool `query:"all"`
	}) (*PageOutput[alert.Silence], error) {
		list, err := svc.ListSilences(ctx, in.All)
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		return page(list, ""), nil
	})
	huma.Register(a.huma, huma.Operation{
		OperationID: "create-silence", Method: http.MethodPost, Path: "/silences", Tags: stags,
		Summary: "Create a silence", DefaultStatus: http.StatusCreated, MaxBodyBytes: 64 << 10,
		Description: "Operators may silence anything; members only their teams' services, with a matcher service=\"…\".",
	}, func(ctx context.Context, in *struct{ Body alert.SilenceInput }) (*struct{ Body alert.Silence }, error) {
		s, err := svc.CreateSilence(ctx, in.Body)
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		return &struct{ Body alert.Silence }{s}, nil
	})
	huma.Register(a.huma, huma.Operation{
		OperationID: "expire-silence", Method: http.MethodDelete, Path: "/silences/{id}", Tags: stags,
		Summary: "End a silence now", DefaultStatus: http.StatusNoContent,
	}, func(ctx context.Context, in *struct {
		ID uuid.UUID `path:"id"`
	}) (*struct{}, error) {
		if err := svc.ExpireSilence(ctx, in.ID); err != nil {
			return nil, a.fail(ctx, err)
		}
		return nil, nil
	})
	huma.Register(a.huma, huma.Operation{
		OperationID: "preview-silence", Method: http.MethodPost, Path: "/silences/preview", Tags: stags,
		Summary: "Which firing alerts would a silence mute?",
	}, func(ctx context.Context, in *struct{ Body SilencePreviewInput }) (*PageOutput[alert.Alert], error) {
		list, err := svc.PreviewSilence(ctx, in.Body.Matchers)
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		return page(list, ""), nil
	})
}
