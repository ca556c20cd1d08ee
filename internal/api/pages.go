package api

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"

	"groundcrew.dev/groundcrew/internal/errs"
	"groundcrew.dev/groundcrew/internal/oncall/pager"
)

// PageListParams filter GET /pages.
type PageListParams struct {
	ListParams
	Status  string `query:"status" enum:"open,triggered,acknowledged,resolved," doc:"open is triggered or acknowledged; empty: all"`
	User    string `query:"user" maxLength:"63" doc:"only pages that notified this person"`
	Policy  string `query:"policy" maxLength:"63"`
	Service string `query:"service" maxLength:"63"`
	Team    string `query:"team" maxLength:"63"`
}

// PageIDParam names one page.
type PageIDParam struct {
	ID uuid.UUID `path:"id"`
}

// SnoozeInput snoozes a page.
type SnoozeInput struct {
	Duration string `json:"duration" maxLength:"20" doc:"how long, as a Go duration between 1m and 24h, e.g. 30m"`
}

// LoadReportParams select the pages of GET /reports/oncall.
type LoadReportParams struct {
	From          time.Time `query:"from" doc:"RFC 3339; default 30 days before to"`
	To            time.Time `query:"to" doc:"RFC 3339; default now"`
	Team          string    `query:"team" maxLength:"63"`
	Policy        string    `query:"policy" maxLength:"63"`
	TimeZone      string    `query:"time_zone" maxLength:"64" doc:"IANA zone business hours are counted in; default UTC"`
	BusinessHours string    `query:"business_hours" maxLength:"11" doc:"HH:MM-HH:MM, Monday to Friday; default 09:00-18:00"`
	Format        string    `query:"format" enum:"json,csv" doc:"csv: one row per person (by=person) or policy (by=policy)"`
	By            string    `query:"by" enum:"person,policy" doc:"the rows of the CSV; default person"`
}

// RegisterPages registers the operations on pages: list, read, open by
// hand, acknowledge, resolve, escalate now and snooze. Everyone who may
// read sees pages; writers act on them.
func (a *API) RegisterPages(p *pager.Pager) {
	tags := []string{"Pages"}
	huma.Register(a.huma, huma.Operation{
		OperationID: "list-pages", Method: http.MethodGet, Path: "/pages", Tags: tags,
		Summary: "List pages", Description: "Newest first, paged; filter by status, person paged, policy, service or team.",
	}, func(ctx context.Context, in *PageListParams) (*PageOutput[pager.Page], error) {
		opts, err := in.Options()
		if err != nil {
			return nil, err
		}
		items, next, err := p.List(ctx, pager.Filter{Status: in.Status, User: in.User, Policy: in.Policy, Service: in.Service,
			Team: in.Team, After: opts.After, Limit: opts.Limit})
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		return page(items, next), nil
	})
	huma.Register(a.huma, huma.Operation{
		OperationID: "get-page", Method: http.MethodGet, Path: "/pages/{id}", Tags: tags,
		Summary: "Read a page", Description: "With its history (events) and what each step sent to whom (sends).",
	}, func(ctx context.Context, in *PageIDParam) (*struct{ Body pager.Page }, error) {
		pg, err := p.Get(ctx, in.ID)
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		return &struct{ Body pager.Page }{pg}, nil
	})
	huma.Register(a.huma, huma.Operation{
		OperationID: "open-page", Method: http.MethodPost, Path: "/pages", Tags: tags,
		Summary:       "Page an escalation policy by hand",
		Description:   "Opens a page that escalates through the policy's steps until acknowledged, as one opened by an alert does.",
		DefaultStatus: http.StatusCreated, MaxBodyBytes: 64 << 10,
	}, func(ctx context.Context, in *struct{ Body pager.OpenInput }) (*struct{ Body pager.Page }, error) {
		pg, err := p.Open(ctx, in.Body)
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		return &struct{ Body pager.Page }{pg}, nil
	})
	loadSchema := a.huma.OpenAPI().Components.Schemas.Schema(reflect.TypeFor[pager.Report](), true, "")
	huma.Register(a.huma, huma.Operation{
		OperationID: "oncall-load-report", Method: http.MethodGet, Path: "/reports/oncall", Tags: tags,
		Summary: "On-call load over a window",
		Description: "Pages opened in [from, to): per person, the pages that reached them, how many outside business hours, " +
			"messages and acknowledgements; per escalation policy, pages, escalations, MTTA and MTTR (mean and median). format=csv for a spreadsheet.",
		Responses: map[string]*huma.Response{"200": {Description: "The report, or CSV", Content: map[string]*huma.MediaType{
			"application/json": {Schema: loadSchema}, "text/csv": {Schema: &huma.Schema{Type: "string"}}}}},
	}, func(ctx context.Context, in *LoadReportParams) (*RawOutput, error) {
		rep, err := p.Report(ctx, pager.ReportFilter{From: in.From, To: in.To, Team: in.Team, Policy: in.Policy, TimeZone: in.TimeZone, BusinessHours: in.BusinessHours})
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		if in.Format == "csv" {
			var b bytes.Buffer
			if err := rep.WriteCSV(&b, in.By); err != nil {
				return nil, a.fail(ctx, err)
			}
			return &RawOutput{ContentType: "text/csv; charset=utf-8", ContentDisposition: `attachment; filename="oncall-load.csv"`, Body: b.Bytes()}, nil
		}
		body, err := json.Marshal(rep)
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		return &RawOutput{ContentType: "application/json", Body: body}, nil
	})
	action := func(id, path, summary, desc string, fn func(context.Context, uuid.UUID) (pager.Page, error)) {
		huma.Register(a.huma, huma.Operation{
			OperationID: id, Method: http.MethodPost, Path: "/pages/{id}/" + path, Tags: tags, Summary: summary, Description: desc,
		}, func(ctx context.Context, in *PageIDParam) (*struct{ Body pager.Page }, error) {
			pg, err := fn(ctx, in.ID)
			if err != nil {
				return nil, a.fail(ctx, err)
			}
			return &struct{ Body pager.Page }{pg}, nil
		})
	}
	action("acknowledge-page", "acknowledge", "Acknowledge a page", "Escalation stops; acknowledging a snoozed page ends the snooze.", p.Acknowledge)
	action("resolve-page", "resolve", "Resolve a page", "Closes it; nothing more is sent.", p.Resolve)
	action("escalate-page", "escalate", "Escalate a page now", "Notifies the next step at once, whatever its delay left.", p.EscalateNow)
	huma.Register(a.huma, huma.Operation{
		OperationID: "snooze-page", Method: http.MethodPost, Path: "/pages/{id}/snooze", Tags: tags,
		Summary:     "Snooze a page",
		Description: "Acknowledges it for a while; when the snooze ends, its current step notifies again and escalation goes on.",
	}, func(ctx context.Context, in *struct {
		PageIDParam
		Body SnoozeInput
	}) (*struct{ Body pager.Page }, error) {
		d, err := time.ParseDuration(in.Body.Duration)
		if err != nil {
			return nil, a.fail(ctx, errs.Invalidf("duration", "%q is not a duration such as 30m", in.Body.Duration))
		}
		pg, err := p.Snooze(ctx, in.ID, d)
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		return &struct{ Body pager.Page }{pg}, nil
	})
}
