package api

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"groundcrew.dev/groundcrew/internal/oncall"
)

// NotificationRules are a person's notification rules, replaced whole.
type NotificationRules struct {
	Rules []oncall.RuleInput `json:"rules" maxItems:"20" doc:"every rule; an empty list removes them all"`
}

// RegisterContacts registers the operations on people's contact methods
// and notification rules. A person manages their own; admins anyone's.
// Webhook and Slack URLs are secrets: responses show only scheme://host/….
func (a *API) RegisterContacts(svc *oncall.Service) {
	tags := []string{"On call"}
	huma.Register(a.huma, huma.Operation{
		OperationID: "list-contact-methods", Method: http.MethodGet, Path: "/users/{name}/contact-methods", Tags: tags,
		Summary: "List a person's contact methods", Description: "By name; webhook URLs are shown as scheme://host/… only.",
	}, func(ctx context.Context, in *NameParam) (*PageOutput[oncall.ContactMethod], error) {
		out, err := svc.ListContactMethods(ctx, in.Name)
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		return page(out, ""), nil
	})
	huma.Register(a.huma, huma.Operation{
		OperationID: "create-contact-method", Method: http.MethodPost, Path: "/users/{name}/contact-methods", Tags: tags,
		Summary:       "Add a contact method",
		Description:   "An e-mail address, or the https URL of a Slack or generic webhook (http only for loopback hosts). At most 10 per person.",
		DefaultStatus: http.StatusCreated, MaxBodyBytes: 64 << 10,
	}, func(ctx context.Context, in *struct {
		NameParam
		Body oncall.ContactMethodInput
	}) (*struct{ Body oncall.ContactMethod }, error) {
		in.Body.User = in.Name
		m, err := svc.AddContactMethod(ctx, in.Body)
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		return &struct{ Body oncall.ContactMethod }{m}, nil
	})
	huma.Register(a.huma, huma.Operation{
		OperationID: "delete-contact-method", Method: http.MethodDelete, Path: "/users/{name}/contact-methods/{method}", Tags: tags,
		Summary: "Delete a contact method", Description: "Its notification rules go with it.", DefaultStatus: http.StatusNoContent,
	}, func(ctx context.Context, in *struct {
		NameParam
		Method string `path:"method" maxLength:"63"`
	}) (*struct{}, error) {
		if err := svc.DeleteContactMethod(ctx, in.Name, in.Method); err != nil {
			return nil, a.fail(ctx, err)
		}
		return nil, nil
	})
	huma.Register(a.huma, huma.Operation{
		OperationID: "put-notification-rules", Method: http.MethodPut, Path: "/users/{name}/notification-rules", Tags: tags,
		Summary:      "Replace a person's notification rules",
		Description:  "All at once: a bad rule changes nothing. Returns the plan the pager will follow, by delay.",
		MaxBodyBytes: 64 << 10,
	}, func(ctx context.Context, in *struct {
		NameParam
		Body NotificationRules
	}) (*PageOutput[oncall.PlannedContact], error) {
		out, err := svc.SetNotificationRules(ctx, in.Name, in.Body.Rules)
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		return page(out, ""), nil
	})
	huma.Register(a.huma, huma.Operation{
		OperationID: "get-notification-rules", Method: http.MethodGet, Path: "/users/{name}/notification-rules", Tags: tags,
		Summary: "A person's notification plan", Description: "Each rule's contact method and delay, by delay.",
	}, func(ctx context.Context, in *NameParam) (*PageOutput[oncall.PlannedContact], error) {
		out, err := svc.NotificationPlan(ctx, in.Name)
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		return page(out, ""), nil
	})
}
