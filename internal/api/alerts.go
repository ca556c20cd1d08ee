package api

import (
	"context"
	"encoding/base64"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"groundcrew.dev/groundcrew/internal/alert"
	"groundcrew.dev/groundcrew/internal/errs"
)

// AlertListParams filter the alert list.
type AlertListParams struct {
	Status   string `query:"status" enum:"firing,resolved," doc:"only alerts in this status"`
	Service  string `query:"service" maxLength:"63" doc:"only alerts of this catalog service"`
	Severity string `query:"severity" maxLength:"32"`
	Label    string `query:"label" maxLength:"500" doc:"a label matcher name=value (equality only for now)"`
	Limit    int    `query:"limit" minimum:"0" maximum:"1000" default:"100" doc:"page size"`
	Cursor   string `query:"cursor" maxLength:"100" doc:"next_cursor of the previous page"`
}

// IntegrationCreated is a new integration with its key, shown only this
// once.
type IntegrationCreated struct {
	alert.Integration
	Key string `json:"key" doc:"the integration key; shown only in this response"`
}

// RegisterAlerts registers the alert and integration operations.
func (a *API) RegisterAlerts(svc *alert.Service) {
	huma.Register(a.huma, huma.Operation{
		OperationID: "list-alerts", Method: http.MethodGet, Path: "/alerts", Tags: []string{"Alerts"},
		Summary: "List alerts, newest first", Description: "Filter by status, service, severity and a label matcher name=value; paged.",
	}, func(ctx context.Context, in *AlertListParams) (*PageOutput[alert.Alert], error) {
		after := ""
		if in.Cursor != "" {
			b, err := base64.RawURLEncoding.DecodeString(in.Cursor)
			if err != nil {
				return nil, a.fail(ctx, errs.Invalidf("cursor", "is not a cursor this API returned"))
			}
			after = string(b)
		}
		items, next, err := svc.List(ctx, alert.Filter{Status: alert.Status(in.Status), Service: in.Service, Severity: in.Severity,
			Label: in.Label, After: after, Limit: in.Limit})
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		return page(items, next), nil
	})
	huma.Register(a.huma, huma.Operation{
		OperationID: "get-alert", Method: http.MethodGet, Path: "/alerts/{name}", Tags: []string{"Alerts"},
		Summary:     "Get an alert with its history",
		Description: "{name} is the alert's id, or a fingerprint or dedup key (then the newest alert with it).",
	}, func(ctx context.Context, in *struct {
		Name string `path:"name" maxLength:"300" doc:"alert id, fingerprint or dedup key"`
	}) (*struct{ Body alert.Detail }, error) {
		d, err := svc.Get(ctx, in.Name)
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		return &struct{ Body alert.Detail }{d}, nil
	})
	huma.Register(a.huma, huma.Operation{
		OperationID: "raise-alert", Method: http.MethodPost, Path: "/alerts", Tags: []string{"Alerts"},
		Summary:      "Raise (or resolve) an alert by hand",
		Description:  "For people and scripts with an API token; monitoring systems use an integration key instead. Members may raise alerts for their teams' services.",
		MaxBodyBytes: MaxBodyBytes,
	}, func(ctx context.Context, in *CreateInput[alert.RaiseInput]) (*struct{ Body alert.Alert }, error) {
		al, err := svc.Raise(ctx, in.Body)
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		return &struct{ Body alert.Alert }{al}, nil
	})
	huma.Register(a.huma, huma.Operation{
		OperationID: "list-integrations", Method: http.MethodGet, Path: "/integrations", Tags: []string{"Alerts"},
		Summary: "List alert integrations (inbound alert sources), revoked ones included",
	}, func(ctx context.Context, _ *struct{}) (*PageOutput[alert.Integration], error) {
		items, err := svc.ListIntegrations(ctx)
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		return page(items, ""), nil
	})
	huma.Register(a.huma, huma.Operation{
		OperationID: "create-integration", Method: http.MethodPost, Path: "/integrations", Tags: []string{"Alerts"},
		Summary:       "Create an alert integration and return its key (shown only once)",
		Description:   "Alertmanager-type keys go into Prometheus's alertmanagers configuration (bearer or basic-auth password) or an Alertmanager webhook; PagerDuty-type keys are the routing_key.",
		DefaultStatus: http.StatusCreated, MaxBodyBytes: MaxBodyBytes,
	}, func(ctx context.Context, in *CreateInput[alert.IntegrationInput]) (*struct{ Body IntegrationCreated }, error) {
		it, key, err := svc.CreateIntegration(ctx, in.Body)
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		return &struct{ Body IntegrationCreated }{IntegrationCreated{Integration: it, Key: key}}, nil
	})
	huma.Register(a.huma, huma.Operation{
		OperationID: "revoke-integration", Method: http.MethodDelete, Path: "/integrations/{name}", Tags: []string{"Alerts"},
		Summary: "Revoke an alert integration's key", Description: "The integration and its alerts stay, for history.",
		DefaultStatus: http.StatusNoContent,
	}, func(ctx context.Context, in *NameParam) (*struct{}, error) {
		if err := svc.RevokeIntegration(ctx, in.Name); err != nil {
			return nil, a.fail(ctx, err)
		}
		return nil, nil
	})
	a.registerAlertConfig(svc)
}
