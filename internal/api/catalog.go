package api

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"groundcrew.dev/groundcrew/internal/catalog"
)

// ServiceListParams filter the service list.
type ServiceListParams struct {
	ListParams
	Owner       string `query:"owner" maxLength:"63" doc:"only services of this team"`
	Environment string `query:"environment" maxLength:"63" doc:"only services running in this environment"`
	Tag         string `query:"tag" maxLength:"63"`
	Lifecycle   string `query:"lifecycle" enum:"experimental,production,deprecated,"`
	NoRunbook   bool   `query:"no_runbook" doc:"only production services without a runbook"`
	Unstaffed   bool   `query:"unstaffed" doc:"only services whose owning team has no members"`
}

// ToolListParams filter the tool list.
type ToolListParams struct {
	ListParams
	Owner string `query:"owner" maxLength:"63" doc:"only tools of this team"`
}

func (a *API) registerCatalog() {
	cat := a.cfg.Catalog
	huma.Register(a.huma, huma.Operation{
		OperationID: "list-services", Method: http.MethodGet, Path: "/services", Tags: []string{"Catalog"},
		Summary: "List services", Description: "Sorted by name, paged with cursors; filter by search, owner, environment, tag, lifecycle.",
	}, func(ctx context.Context, in *ServiceListParams) (*PageOutput[catalog.Service], error) {
		opts, err := in.Options()
		if err != nil {
			return nil, err
		}
		items, next, err := cat.ListServices(ctx, opts, catalog.ServiceFilter{
			Owner: in.Owner, Environment: in.Environment, Tag: in.Tag, Lifecycle: in.Lifecycle, NoRunbook: in.NoRunbook, Unstaffed: in.Unstaffed,
		})
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		return page(items, next), nil
	})
	registerCRUD(a, crud[catalog.Service, catalog.ServiceInput]{
		plural: "services", singular: "service", tag: "Catalog",
		get: cat.GetService, create: cat.CreateService, update: cat.UpdateService, delete: cat.DeleteService,
		revision: func(s catalog.Service) int64 { return s.Revision },
	})

	huma.Register(a.huma, huma.Operation{
		OperationID: "list-environments", Method: http.MethodGet, Path: "/environments", Tags: []string{"Catalog"},
		Summary: "List environments",
	}, func(ctx context.Context, in *ListParams) (*PageOutput[catalog.Environment], error) {
		opts, err := in.Options()
		if err != nil {
			return nil, err
		}
		items, next, err := cat.ListEnvironments(ctx, opts)
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		return page(items, next), nil
	})
	registerCRUD(a, crud[catalog.Environment, catalog.EnvironmentInput]{
		plural: "environments", singular: "environment", tag: "Catalog",
		get: cat.GetEnvironment, create: cat.CreateEnvironment, update: cat.UpdateEnvironment, delete: cat.DeleteEnvironment,
		revision: func(e catalog.Environment) int64 { return e.Revision },
	})

	huma.Register(a.huma, huma.Operation{
		OperationID: "list-tools", Method: http.MethodGet, Path: "/tools", Tags: []string{"Catalog"},
		Summary: "List internal tools",
	}, func(ctx context.Context, in *ToolListParams) (*PageOutput[catalog.Tool], error) {
		opts, err := in.Options()
		if err != nil {
			return nil, err
		}
		items, next, err := cat.ListTools(ctx, opts, in.Owner)
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		return page(items, next), nil
	})
	registerCRUD(a, crud[catalog.Tool, catalog.ToolInput]{
		plural: "tools", singular: "tool", tag: "Catalog",
		get: cat.GetTool, create: cat.CreateTool, update: cat.UpdateTool, delete: cat.DeleteTool,
		revision: func(x catalog.Tool) int64 { return x.Revision },
	})
}
