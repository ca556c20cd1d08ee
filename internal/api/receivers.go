package api

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"

	"groundcrew.dev/groundcrew/internal/notify"
)

// PageParams page a list that has no search.
type PageParams struct {
	Limit  int    `query:"limit" minimum:"0" maximum:"1000" default:"100" doc:"page size"`
	Cursor string `query:"cursor" maxLength:"400" doc:"next_cursor of the previous page"`
}

// after returns the decoded cursor.
func (p PageParams) after() (string, error) {
	o, err := ListParams{Cursor: p.Cursor}.Options()
	return o.After, err
}

// DeliveryListParams filter the list of deliveries.
type DeliveryListParams struct {
	PageParams
	Receiver string `query:"receiver" maxLength:"63" doc:"only this receiver's deliveries"`
	Status   string `query:"status" enum:"pending,delivered,failed," doc:"only deliveries with this status"`
}

// TestReceiverOutput lists the deliveries a test enqueued.
type TestReceiverOutput struct {
	Body struct {
		Deliveries []uuid.UUID `json:"deliveries" doc:"one delivery per channel; follow them at /deliveries/{id}"`
	}
}

// DeliveryOutput is one delivery with its attempts.
type DeliveryOutput struct {
	Body notify.Delivery
}

func (a *API) registerReceivers() {
	svc := a.cfg.Notify
	if svc == nil {
		return
	}
	tags := []string{"Notifications"}
	huma.Register(a.huma, huma.Operation{
		OperationID: "list-receivers", Method: http.MethodGet, Path: "/receivers", Tags: tags,
		Summary: "List notification receivers", Description: "Sorted by name, paged. Secrets read as \"<redacted>\".",
	}, func(ctx context.Context, in *PageParams) (*PageOutput[notify.Receiver], error) {
		after, err := in.after()
		if err != nil {
			return nil, err
		}
		items, next, err := svc.List(ctx, after, in.Limit)
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		return page(items, next), nil
	})
	registerCRUD(a, crud[notify.Receiver, notify.Input]{
		plural: "receivers", singular: "receiver", tag: "Notifications",
		get: svc.Get, create: svc.Create, update: svc.Update, delete: svc.Delete,
		revision: func(r notify.Receiver) int64 { return r.Revision },
	})
	huma.Register(a.huma, huma.Operation{
		OperationID: "test-receiver", Method: http.MethodPost, Path: "/receivers/{name}/test", Tags: tags,
		Summary:       "Send a test notification",
		Description:   "Enqueues a test notification to every channel of the receiver and returns the deliveries' ids.",
		DefaultStatus: http.StatusAccepted,
	}, func(ctx context.Context, in *NameParam) (*TestReceiverOutput, error) {
		ids, err := svc.Test(ctx, in.Name)
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		out := &TestReceiverOutput{}
		out.Body.Deliveries = ids
		return out, nil
	})
	huma.Register(a.huma, huma.Operation{
		OperationID: "list-deliveries", Method: http.MethodGet, Path: "/deliveries", Tags: tags,
		Summary: "List notification deliveries", Description: "Newest first, paged; filter by receiver and status.",
	}, func(ctx context.Context, in *DeliveryListParams) (*PageOutput[notify.Delivery], error) {
		after, err := in.after()
		if err != nil {
			return nil, err
		}
		items, next, err := svc.Deliveries(ctx, notify.DeliveryFilter{Receiver: in.Receiver, Status: notify.DeliveryStatus(in.Status),
			Before: after, Limit: in.Limit})
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		return page(items, next), nil
	})
	huma.Register(a.huma, huma.Operation{
		OperationID: "get-delivery", Method: http.MethodGet, Path: "/deliveries/{id}", Tags: tags,
		Summary: "Get a delivery with its attempts",
	}, func(ctx context.Context, in *struct {
		ID uuid.UUID `path:"id"`
	}) (*DeliveryOutput, error) {
		d, err := svc.Delivery(ctx, in.ID)
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		return &DeliveryOutput{Body: d}, nil
	})
}
