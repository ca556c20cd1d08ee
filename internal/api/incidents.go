package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strconv"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"

	"groundcrew.dev/groundcrew/internal/incident"
	"groundcrew.dev/groundcrew/internal/statuspage"
)

// IncidentParam is the {number} path parameter of an incident.
type IncidentParam struct {
	Number int64 `path:"number" minimum:"1" doc:"the incident's number: 7 for INC-7"`
}

// IncidentListParams filter the list of incidents.
type IncidentListParams struct {
	Status   string `query:"status" enum:"open,investigating,identified,monitoring,resolved" doc:"open is every status but resolved"`
	Severity string `query:"severity" enum:"SEV1,SEV2,SEV3,SEV4"`
	Service  string `query:"service" maxLength:"63" doc:"only incidents affecting this service"`
	Team     string `query:"team" maxLength:"63" doc:"only incidents affecting a service this team owns"`
	Limit    int    `query:"limit" minimum:"0" maximum:"1000" default:"100" doc:"page size"`
	Cursor   string `query:"cursor" maxLength:"40" doc:"next_cursor of the previous page"`
}

// RoleInput assigns an incident role.
type RoleInput struct {
	User string `json:"user" maxLength:"63" doc:"who takes the role"`
}

// ServiceRefInput names a catalog service.
type ServiceRefInput struct {
	Service string `json:"service" maxLength:"63"`
}

// ActionItemListParams filter the list of action items.
type ActionItemListParams struct {
	Team     string `query:"team" maxLength:"63" doc:"owning team"`
	Status   string `query:"status" enum:"open,done"`
	Overdue  bool   `query:"overdue" doc:"only open items due before today (UTC)"`
	Incident int64  `query:"incident" minimum:"0" doc:"only this incident's"`
	Limit    int    `query:"limit" minimum:"0" maximum:"1000" default:"100" doc:"page size"`
	Cursor   string `query:"cursor" maxLength:"200" doc:"next_cursor of the previous page"`
}

// ReportParams select the incidents of a report.
type ReportParams struct {
	From    time.Time `query:"from" doc:"RFC 3339; default 30 days before to"`
	To      time.Time `query:"to" doc:"RFC 3339; default now"`
	Service string    `query:"service" maxLength:"63"`
	Team    string    `query:"team" maxLength:"63"`
	Format  string    `query:"format" enum:"json,csv" doc:"csv: one row per incident (text/csv)"`
}

// RawOutput is a response whose body is written as is.
type RawOutput struct {
	ContentType        string `header:"Content-Type"`
	ContentDisposition string `header:"Content-Disposition"`
	Body               []byte
}

// RegisterIncidents registers incident command: incidents, roles,
// services, timeline, status updates, postmortems, action items,
// severities and reports. See docs/incidents.md.
func (a *API) RegisterIncidents(svc *incident.Service) {
	tags := []string{"Incidents"}
	out := func(in incident.Incident) *ObjectOutput[incident.Incident] {
		return &ObjectOutput[incident.Incident]{ETag: ETag(in.Revision), Body: in, Location: fmt.Sprintf("%s/incidents/%d", Prefix, in.Number)}
	}
	huma.Register(a.huma, huma.Operation{
		OperationID: "list-incident-severities", Method: http.MethodGet, Path: "/incident-severities", Tags: tags,
		Summary: "The severity definitions", Description: "SEV1 (worst) to SEV4, fixed.",
	}, func(ctx context.Context, _ *struct{}) (*PageOutput[incident.SeverityDefinition], error) {
		defs, err := svc.SeverityDefinitions(ctx)
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		return page(defs, ""), nil
	})
	huma.Register(a.huma, huma.Operation{
		OperationID: "declare-incident", Method: http.MethodPost, Path: "/incidents", Tags: tags,
		Summary:       "Declare an incident",
		Description:   "Members and up may declare. The declarer leads unless lead names someone else; status starts at investigating.",
		DefaultStatus: http.StatusCreated, MaxBodyBytes: MaxBodyBytes,
	}, func(ctx context.Context, in *struct{ Body incident.DeclareInput }) (*ObjectOutput[incident.Incident], error) {
		inc, err := svc.Declare(ctx, in.Body)
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		return out(inc), nil
	})
	huma.Register(a.huma, huma.Operation{
		OperationID: "list-incidents", Method: http.MethodGet, Path: "/incidents", Tags: tags,
		Summary: "List incidents", Description: "Newest first, paged; filter by status (open = not resolved), severity, service and team.",
	}, func(ctx context.Context, in *IncidentListParams) (*PageOutput[incident.Incident], error) {
		f := incident.Filter{Status: in.Status, Severity: incident.Severity(in.Severity), Service: in.Service, Team: in.Team, Limit: in.Limit}
		if in.Cursor != "" {
			n, err := strconv.ParseInt(in.Cursor, 10, 64)
			if err != nil || n <= 0 {
				return nil, huma.NewError(http.StatusUnprocessableEntity, "invalid cursor",
					&huma.ErrorDetail{Location: "query.cursor", Message: "is not a cursor this API returned", Value: in.Cursor})
			}
			f.Before = n
		}
		items, next, err := svc.List(ctx, f)
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		p := page(items, "")
		if next > 0 {
			p.Body.NextCursor = strconv.FormatInt(next, 10)
		}
		return p, nil
	})
	huma.Register(a.huma, huma.Operation{
		OperationID: "get-incident", Method: http.MethodGet, Path: "/incidents/{number}", Tags: tags,
		Summary: "Get an incident", Description: "With its roles, affected services and their owning teams.",
	}, func(ctx context.Context, in *IncidentParam) (*ObjectOutput[incident.Incident], error) {
		inc, err := svc.Get(ctx, in.Number)
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		return out(inc), nil
	})
	huma.Register(a.huma, huma.Operation{
		OperationID: "update-incident", Method: http.MethodPatch, Path: "/incidents/{number}", Tags: tags,
		Summary: "Change an incident's title, severity, status or summary",
		Description: "Each change goes on the timeline with the message. Resolving needs a summary; a resolved incident re-opens to investigating. " +
			"Send If-Match with the ETag you read to avoid overwriting someone else's change.",
		MaxBodyBytes: MaxBodyBytes,
	}, func(ctx context.Context, in *struct {
		IncidentParam
		IfMatch
		Body incident.UpdateInput
	}) (*ObjectOutput[incident.Incident], error) {
		rev, err := in.Revision()
		if err != nil {
			return nil, err
		}
		inc, err := svc.Update(ctx, in.Number, in.Body, rev)
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		return out(inc), nil
	})
	huma.Register(a.huma, huma.Operation{
		OperationID: "assign-incident-role", Method: http.MethodPut, Path: "/incidents/{number}/roles/{role}", Tags: tags,
		Summary:     "Give a role to someone",
		Description: "lead, communications, scribe or a custom role name; replaces whoever held it. There is always exactly one lead.",
	}, func(ctx context.Context, in *struct {
		IncidentParam
		Role string `path:"role" maxLength:"63"`
		Body RoleInput
	}) (*ObjectOutput[incident.Incident], error) {
		inc, err := svc.AssignRole(ctx, in.Number, in.Role, in.Body.User)
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		return out(inc), nil
	})
	huma.Register(a.huma, huma.Operation{
		OperationID: "unassign-incident-role", Method: http.MethodDelete, Path: "/incidents/{number}/roles/{role}", Tags: tags,
		Summary: "Free a role", Description: "The lead cannot be freed, only handed to someone else.",
	}, func(ctx context.Context, in *struct {
		IncidentParam
		Role string `path:"role" maxLength:"63"`
	}) (*ObjectOutput[incident.Incident], error) {
		inc, err := svc.UnassignRole(ctx, in.Number, in.Role)
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		return out(inc), nil
	})
	huma.Register(a.huma, huma.Operation{
		OperationID: "add-incident-service", Method: http.MethodPost, Path: "/incidents/{number}/services", Tags: tags,
		Summary: "Add an affected service", Description: "A catalog service; its owning team may then change the incident.",
	}, func(ctx context.Context, in *struct {
		IncidentParam
		Body ServiceRefInput
	}) (*ObjectOutput[incident.Incident], error) {
		inc, err := svc.AddService(ctx, in.Number, in.Body.Service)
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		return out(inc), nil
	})
	huma.Register(a.huma, huma.Operation{
		OperationID: "remove-incident-service", Method: http.MethodDelete, Path: "/incidents/{number}/services/{service}", Tags: tags,
		Summary: "Remove an affected service",
	}, func(ctx context.Context, in *struct {
		IncidentParam
		Service string `path:"service" maxLength:"63"`
	}) (*ObjectOutput[incident.Incident], error) {
		inc, err := svc.RemoveService(ctx, in.Number, in.Service)
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		return out(inc), nil
	})
	huma.Register(a.huma, huma.Operation{
		OperationID: "get-incident-timeline", Method: http.MethodGet, Path: "/incidents/{number}/timeline", Tags: tags,
		Summary: "An incident's timeline", Description: "Everything that happened, oldest first. Entries are never changed or removed.",
	}, func(ctx context.Context, in *IncidentParam) (*PageOutput[incident.Entry], error) {
		items, err := svc.Timeline(ctx, in.Number)
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		return page(items, ""), nil
	})
	huma.Register(a.huma, huma.Operation{
		OperationID: "add-incident-note", Method: http.MethodPost, Path: "/incidents/{number}/timeline", Tags: tags,
		Summary: "Add a note to the timeline", Description: "Members and up may add notes to any incident.",
		DefaultStatus: http.StatusCreated, MaxBodyBytes: MaxBodyBytes,
	}, func(ctx context.Context, in *struct {
		IncidentParam
		Body incident.NoteInput
	}) (*struct{ Body incident.Entry }, error) {
		e, err := svc.AddNote(ctx, in.Number, in.Body)
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		return &struct{ Body incident.Entry }{e}, nil
	})
	huma.Register(a.huma, huma.Operation{
		OperationID: "post-incident-status-update", Method: http.MethodPost, Path: "/incidents/{number}/status-updates", Tags: tags,
		Summary: "Post a status update to public status pages",
		Description: "The first post to a page creates the incident's notice there (ref INC-n), later posts add updates to it. " +
			"Needs the right to change the incident and to post notices (operators, admins). Returns the notices.",
		DefaultStatus: http.StatusCreated, MaxBodyBytes: MaxBodyBytes,
	}, func(ctx context.Context, in *struct {
		IncidentParam
		Body incident.StatusUpdateInput
	}) (*PageOutput[statuspage.Notice], error) {
		ns, err := svc.PostStatusUpdate(ctx, in.Number, in.Body)
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		return page(ns, ""), nil
	})

	pmOut := func(p incident.Postmortem) *ObjectOutput[incident.Postmortem] {
		return &ObjectOutput[incident.Postmortem]{ETag: ETag(p.Revision), Body: p, Location: fmt.Sprintf("%s/incidents/%d/postmortem", Prefix, p.Incident)}
	}
	huma.Register(a.huma, huma.Operation{
		OperationID: "get-postmortem", Method: http.MethodGet, Path: "/incidents/{number}/postmortem", Tags: tags,
		Summary: "Get an incident's postmortem", Description: "404 until it is created with PUT.",
	}, func(ctx context.Context, in *IncidentParam) (*ObjectOutput[incident.Postmortem], error) {
		p, err := svc.GetPostmortem(ctx, in.Number)
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		return pmOut(p), nil
	})
	huma.Register(a.huma, huma.Operation{
		OperationID: "put-postmortem", Method: http.MethodPut, Path: "/incidents/{number}/postmortem", Tags: tags,
		Summary: "Create or change an incident's postmortem",
		Description: "The first PUT creates it from the template prefilled from the incident (summary, impact, timeline). " +
			"Fields left out stay as they are. Review: draft → in_review → approved; an approved postmortem goes back to draft before it changes.",
		MaxBodyBytes: MaxBodyBytes,
	}, func(ctx context.Context, in *struct {
		IncidentParam
		IfMatch
		Body incident.PostmortemInput
	}) (*ObjectOutput[incident.Postmortem], error) {
		rev, err := in.Revision()
		if err != nil {
			return nil, err
		}
		p, _, err := svc.PutPostmortem(ctx, in.Number, in.Body, rev)
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		return pmOut(p), nil
	})
	huma.Register(a.huma, huma.Operation{
		OperationID: "add-action-item", Method: http.MethodPost, Path: "/incidents/{number}/postmortem/action-items", Tags: tags,
		Summary: "Add an action item", Description: "Owned by a team, due on a date.",
		DefaultStatus: http.StatusCreated, MaxBodyBytes: MaxBodyBytes,
	}, func(ctx context.Context, in *struct {
		IncidentParam
		Body incident.ActionItemInput
	}) (*struct{ Body incident.ActionItem }, error) {
		item, err := svc.AddActionItem(ctx, in.Number, in.Body)
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		return &struct{ Body incident.ActionItem }{item}, nil
	})
	huma.Register(a.huma, huma.Operation{
		OperationID: "update-action-item", Method: http.MethodPatch, Path: "/action-items/{id}", Tags: tags,
		Summary: "Change an action item", Description: "status done records who and when. Its incident's responders and its owner team may change it.",
		MaxBodyBytes: MaxBodyBytes,
	}, func(ctx context.Context, in *struct {
		ID   uuid.UUID `path:"id"`
		Body incident.ActionItemUpdate
	}) (*struct{ Body incident.ActionItem }, error) {
		item, err := svc.UpdateActionItem(ctx, in.ID, in.Body)
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		return &struct{ Body incident.ActionItem }{item}, nil
	})
	huma.Register(a.huma, huma.Operation{
		OperationID: "list-action-items", Method: http.MethodGet, Path: "/action-items", Tags: tags,
		Summary: "List action items across incidents", Description: "By due date; e.g. ?team=payments&overdue=true.",
	}, func(ctx context.Context, in *ActionItemListParams) (*PageOutput[incident.ActionItem], error) {
		after := ""
		if in.Cursor != "" {
			opts, err := ListParams{Cursor: in.Cursor}.Options()
			if err != nil {
				return nil, err
			}
			after = opts.After
		}
		items, next, err := svc.ListActionItems(ctx, incident.ActionItemFilter{Team: in.Team, Status: in.Status, Overdue: in.Overdue,
			Incident: in.Incident, After: after, Limit: in.Limit})
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		return page(items, next), nil
	})

	reportSchema := a.huma.OpenAPI().Components.Schemas.Schema(reflect.TypeFor[incident.Report](), true, "")
	huma.Register(a.huma, huma.Operation{
		OperationID: "incident-report", Method: http.MethodGet, Path: "/reports/incidents", Tags: tags,
		Summary: "Incident figures over a window",
		Description: "Incidents declared in [from, to): counts, MTTA (declared → first acknowledgement) and MTTR (declared → resolved), " +
			"mean and median, per severity, service and owning team. format=csv returns one row per incident instead.",
		Responses: map[string]*huma.Response{"200": {Description: "The report, or CSV", Content: map[string]*huma.MediaType{
			"application/json": {Schema: reportSchema}, "text/csv": {Schema: &huma.Schema{Type: "string"}}}}},
	}, func(ctx context.Context, in *ReportParams) (*RawOutput, error) {
		rep, rows, err := svc.Report(ctx, incident.ReportFilter{From: in.From, To: in.To, Service: in.Service, Team: in.Team})
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		if in.Format == "csv" {
			var b bytes.Buffer
			if err := incident.WriteCSV(&b, rows); err != nil {
				return nil, a.fail(ctx, err)
			}
			return &RawOutput{ContentType: "text/csv; charset=utf-8", ContentDisposition: `attachment; filename="incidents.csv"`, Body: b.Bytes()}, nil
		}
		body, err := json.Marshal(rep)
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		return &RawOutput{ContentType: "application/json", Body: body}, nil
	})
}
