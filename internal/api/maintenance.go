package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"groundcrew.dev/groundcrew/internal/maintenance"
)

// MaintenanceListParams filter the list of maintenance windows.
type MaintenanceListParams struct {
	ListParams
	Active      bool   `query:"active" doc:"only windows in effect now"`
	Service     string `query:"service" maxLength:"63" doc:"only windows that mute this service (naming it, or every service)"`
	Environment string `query:"environment" maxLength:"63" doc:"only windows that mute this environment"`
}

func (a *API) registerMaintenance() {
	svc := a.cfg.Maintenance
	tags := []string{"Maintenance"}
	huma.Register(a.huma, huma.Operation{
		OperationID: "list-maintenance-windows", Method: http.MethodGet, Path: "/maintenance-windows", Tags: tags,
		Summary: "List maintenance windows", Description: "Sorted by name, paged; filter by search, service, environment, and whether in effect now.",
	}, func(ctx context.Context, in *MaintenanceListParams) (*PageOutput[maintenance.Window], error) {
		opts, err := in.Options()
		if err != nil {
			return nil, err
		}
		items, next, err := svc.List(ctx, maintenance.Filter{Query: opts.Query, After: opts.After, Limit: opts.Limit,
			Service: in.Service, Environment: in.Environment, Active: in.Active})
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		return page(items, next), nil
	})
	registerCRUD(a, crud[maintenance.Window, maintenance.Input]{
		plural: "maintenance-windows", singular: "maintenance-window", tag: "Maintenance",
		get: svc.Get, create: svc.Create, update: svc.Update, delete: svc.Delete,
		revision: func(w maintenance.Window) int64 { return w.Revision },
	})
	huma.Register(a.huma, huma.Operation{
		OperationID: "list-maintenance-occurrences", Method: http.MethodGet, Path: "/maintenance-windows/{name}/occurrences", Tags: tags,
		Summary:     "Occurrences of a maintenance window",
		Description: "Those overlapping [from, to), one in effect at from included, by start. Default from now for 30 days; at most 400 days.",
	}, func(ctx context.Context, in *struct {
		NameParam
		From time.Time `query:"from" doc:"RFC 3339; default now"`
		To   time.Time `query:"to" doc:"RFC 3339; default 30 days after from"`
	}) (*PageOutput[maintenance.Interval], error) {
		occ, err := svc.Occurrences(ctx, in.Name, in.From, in.To)
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		return page(occ, ""), nil
	})
}
