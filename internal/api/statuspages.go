package api

import (
	"context"
	"fmt"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"groundcrew.dev/groundcrew/internal/statuspage"
)

// NoticeParam names one notice of a status page.
type NoticeParam struct {
	NameParam
	Number int64 `path:"number" minimum:"1" doc:"the notice's number on its page"`
}

// NoticeListParams filter the notices of a page.
type NoticeListParams struct {
	NameParam
	Open   bool   `query:"open" doc:"only notices not yet resolved or completed"`
	Ref    string `query:"ref" maxLength:"100" doc:"only notices with this ref, e.g. INC-42"`
	Before int64  `query:"before" minimum:"0" doc:"only notices numbered below this (the next page of a list)"`
	Limit  int    `query:"limit" minimum:"0" maximum:"500" default:"50"`
}

// ResolveInput closes a notice.
type ResolveInput struct {
	Message string `json:"message,omitempty" doc:"the last update; default a plain \"resolved\" or \"complete\" message"`
}

func (a *API) registerStatusPages() {
	svc := a.cfg.StatusPages
	huma.Register(a.huma, huma.Operation{
		OperationID: "list-status-pages", Method: http.MethodGet, Path: "/status-pages", Tags: []string{"Status pages"},
		Summary: "List status pages", Description: "Each page is public at /status/{name}; see docs/status-pages.md.",
	}, func(ctx context.Context, in *ListParams) (*PageOutput[statuspage.Page], error) {
		opts, err := in.Options()
		if err != nil {
			return nil, err
		}
		items, next, err := svc.ListPages(ctx, opts)
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		return page(items, next), nil
	})
	registerCRUD(a, crud[statuspage.Page, statuspage.PageInput]{
		plural: "status-pages", singular: "status-page", tag: "Status pages",
		get: svc.GetPage, create: svc.CreatePage, update: svc.UpdatePage, delete: svc.DeletePage,
		revision: func(p statuspage.Page) int64 { return p.Revision },
	})

	noticeOut := func(n statuspage.Notice) *ObjectOutput[statuspage.Notice] {
		return &ObjectOutput[statuspage.Notice]{ETag: ETag(n.Revision), Body: n,
			Location: fmt.Sprintf("%s/status-pages/%s/notices/%d", Prefix, n.Page, n.Number)}
	}
	huma.Register(a.huma, huma.Operation{
		OperationID: "list-status-notices", Method: http.MethodGet, Path: "/status-pages/{name}/notices", Tags: []string{"Status pages"},
		Summary: "List the incident and maintenance notices of a status page, newest first",
	}, func(ctx context.Context, in *NoticeListParams) (*PageOutput[statuspage.Notice], error) {
		items, err := svc.ListNotices(ctx, in.Name, statuspage.NoticeFilter{Open: in.Open, Ref: in.Ref, Before: in.Before, Limit: in.Limit})
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		return page(items, ""), nil
	})
	huma.Register(a.huma, huma.Operation{
		OperationID: "create-status-notice", Method: http.MethodPost, Path: "/status-pages/{name}/notices", Tags: []string{"Status pages"},
		Summary:       "Post an incident or maintenance notice",
		Description:   "The message is the notice's first update. It shows on the public page at once (within its cache time).",
		DefaultStatus: http.StatusCreated, MaxBodyBytes: MaxBodyBytes,
	}, func(ctx context.Context, in *struct {
		NameParam
		Body statuspage.NoticeInput
	}) (*ObjectOutput[statuspage.Notice], error) {
		n, err := svc.CreateNotice(ctx, in.Name, in.Body)
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		return noticeOut(n), nil
	})
	huma.Register(a.huma, huma.Operation{
		OperationID: "get-status-notice", Method: http.MethodGet, Path: "/status-pages/{name}/notices/{number}", Tags: []string{"Status pages"},
		Summary: "Get a notice with its updates",
	}, func(ctx context.Context, in *NoticeParam) (*ObjectOutput[statuspage.Notice], error) {
		n, err := svc.GetNotice(ctx, in.Name, in.Number)
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		return noticeOut(n), nil
	})
	huma.Register(a.huma, huma.Operation{
		OperationID: "post-status-notice-update", Method: http.MethodPost, Path: "/status-pages/{name}/notices/{number}/updates", Tags: []string{"Status pages"},
		Summary:      "Post an update to a notice",
		Description:  "A message adds to the public timeline; status, title, components and the maintenance window change the notice. Moving to resolved or completed closes it.",
		MaxBodyBytes: MaxBodyBytes,
	}, func(ctx context.Context, in *struct {
		NoticeParam
		Body statuspage.UpdateInput
	}) (*ObjectOutput[statuspage.Notice], error) {
		n, err := svc.PostUpdate(ctx, in.Name, in.Number, in.Body)
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		return noticeOut(n), nil
	})
	huma.Register(a.huma, huma.Operation{
		OperationID: "resolve-status-notice", Method: http.MethodPost, Path: "/status-pages/{name}/notices/{number}/resolve", Tags: []string{"Status pages"},
		Summary: "Resolve an incident or complete a maintenance", MaxBodyBytes: MaxBodyBytes,
	}, func(ctx context.Context, in *struct {
		NoticeParam
		Body *ResolveInput
	}) (*ObjectOutput[statuspage.Notice], error) {
		msg := ""
		if in.Body != nil {
			msg = in.Body.Message
		}
		n, err := svc.Resolve(ctx, in.Name, in.Number, msg)
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		return noticeOut(n), nil
	})
	huma.Register(a.huma, huma.Operation{
		OperationID: "delete-status-notice", Method: http.MethodDelete, Path: "/status-pages/{name}/notices/{number}", Tags: []string{"Status pages"},
		Summary: "Delete a notice posted by mistake", Description: "The audit log keeps what it said.", DefaultStatus: http.StatusNoContent,
	}, func(ctx context.Context, in *NoticeParam) (*struct{}, error) {
		if err := svc.DeleteNotice(ctx, in.Name, in.Number); err != nil {
			return nil, a.fail(ctx, err)
		}
		return nil, nil
	})
}
