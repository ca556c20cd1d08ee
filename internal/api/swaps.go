package api

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"

	"groundcrew.dev/groundcrew/internal/identity"
	"groundcrew.dev/groundcrew/internal/oncall"
)

// SwapListParams filter a list of swaps.
type SwapListParams struct {
	Status string `query:"status" enum:"pending,accepted,declined,cancelled,expired," doc:"empty: every status"`
	Limit  int    `query:"limit" minimum:"0" maximum:"1000" default:"100" doc:"page size"`
	Cursor string `query:"cursor" maxLength:"400" doc:"next_cursor of the previous page"`
}

// MySwapListParams filter GET /swaps.
type MySwapListParams struct {
	SwapListParams
	User string `query:"user" maxLength:"63" doc:"swaps this person requested or was asked; default you"`
}

// SwapIDParam names one swap.
type SwapIDParam struct {
	ID uuid.UUID `path:"id"`
}

// RegisterSwaps registers on-call swaps: a person on call asks someone to
// cover a period of their shift or to trade it for one of theirs; only
// the person asked (or an admin) accepts or declines, only the requester
// (or an admin) cancels. Accepting adds the overrides to the schedule.
func (a *API) RegisterSwaps(svc *oncall.Service) {
	tags := []string{"On call"}
	list := func(ctx context.Context, in SwapListParams, f oncall.SwapFilter) (*PageOutput[oncall.Swap], error) {
		opts, err := ListParams{Limit: in.Limit, Cursor: in.Cursor}.Options()
		if err != nil {
			return nil, err
		}
		f.Status, f.After, f.Limit = in.Status, opts.After, opts.Limit
		items, next, err := svc.ListSwaps(ctx, f)
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		return page(items, next), nil
	}
	huma.Register(a.huma, huma.Operation{
		OperationID: "request-swap", Method: http.MethodPost, Path: "/schedules/{name}/swaps", Tags: tags,
		Summary: "Ask someone to cover or trade a period of your shift",
		Description: "The requester (default you) must be on call for the whole period, at most 14 days, in the future; for a trade " +
			"the counterpart for the whole trade period. Nothing changes until the counterpart accepts; a pending swap expires when its first period starts.",
		DefaultStatus: http.StatusCreated, MaxBodyBytes: 16 << 10,
	}, func(ctx context.Context, in *struct {
		NameParam
		Body oncall.SwapInput
	}) (*struct{ Body oncall.Swap }, error) {
		sw, err := svc.RequestSwap(ctx, in.Name, in.Body)
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		return &struct{ Body oncall.Swap }{sw}, nil
	})
	huma.Register(a.huma, huma.Operation{
		OperationID: "list-schedule-swaps", Method: http.MethodGet, Path: "/schedules/{name}/swaps", Tags: tags,
		Summary: "List a schedule's swaps", Description: "Newest first, paged; filter by status.",
	}, func(ctx context.Context, in *struct {
		NameParam
		SwapListParams
	}) (*PageOutput[oncall.Swap], error) {
		return list(ctx, in.SwapListParams, oncall.SwapFilter{Schedule: in.Name})
	})
	huma.Register(a.huma, huma.Operation{
		OperationID: "list-swaps", Method: http.MethodGet, Path: "/swaps", Tags: tags,
		Summary: "List your swaps", Description: "Those you (or user) requested or were asked, in every schedule, newest first, paged.",
	}, func(ctx context.Context, in *MySwapListParams) (*PageOutput[oncall.Swap], error) {
		user := in.User
		if a := identity.ActorFrom(ctx); user == "" && a != nil {
			user = a.Name
		}
		return list(ctx, in.SwapListParams, oncall.SwapFilter{User: user})
	})
	action := func(id, path, summary, desc string, fn func(context.Context, uuid.UUID) (oncall.Swap, error)) {
		huma.Register(a.huma, huma.Operation{
			OperationID: id, Method: http.MethodPost, Path: "/swaps/{id}/" + path, Tags: tags, Summary: summary, Description: desc,
		}, func(ctx context.Context, in *SwapIDParam) (*struct{ Body oncall.Swap }, error) {
			sw, err := fn(ctx, in.ID)
			if err != nil {
				return nil, a.fail(ctx, err)
			}
			return &struct{ Body oncall.Swap }{sw}, nil
		})
	}
	action("accept-swap", "accept", "Accept a swap",
		"Only the counterpart (or an admin). Adds the replace overrides to the schedule; 409 when the schedule changed so that the requester is no longer on call for the whole period.",
		svc.AcceptSwap)
	action("decline-swap", "decline", "Decline a swap", "Only the counterpart (or an admin). The schedule does not change.", svc.DeclineSwap)
	action("cancel-swap", "cancel", "Cancel a swap", "Only the requester, whoever asked for them, or an admin. The schedule does not change.", svc.CancelSwap)
}
