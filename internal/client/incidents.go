package client

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"groundcrew.dev/groundcrew/internal/api"
	"groundcrew.dev/groundcrew/internal/incident"
)

func incidentPath(number int64, rest string) string {
	return fmt.Sprintf("/incidents/%d%s", number, rest)
}

// DeclareIncident declares an incident.
func (c *Client) DeclareIncident(ctx context.Context, in incident.DeclareInput) (incident.Incident, error) {
	var out incident.Incident
	err := c.Do(ctx, http.MethodPost, "/incidents", nil, in, &out)
	return out, err
}

// ListIncidents returns the first page of incidents matching the filter
// (Status, Severity, Service, Team, Limit), newest first.
func (c *Client) ListIncidents(ctx context.Context, f incident.Filter) ([]incident.Incident, error) {
	v := url.Values{}
	for k, s := range map[string]string{"status": f.Status, "severity": string(f.Severity), "service": f.Service, "team": f.Team} {
		if s != "" {
			v.Set(k, s)
		}
	}
	if f.Limit > 0 {
		v.Set("limit", fmt.Sprint(f.Limit))
	}
	var out api.Page[incident.Incident]
	err := c.Do(ctx, http.MethodGet, "/incidents", v, nil, &out)
	return out.Items, err
}

// GetIncident returns incident number.
func (c *Client) GetIncident(ctx context.Context, number int64) (incident.Incident, error) {
	var out incident.Incident
	err := c.Do(ctx, http.MethodGet, incidentPath(number, ""), nil, nil, &out)
	return out, err
}

// UpdateIncident changes incident number's title, severity, status or
// summary.
func (c *Client) UpdateIncident(ctx context.Context, number int64, in incident.UpdateInput) (incident.Incident, error) {
	var out incident.Incident
	err := c.Do(ctx, http.MethodPatch, incidentPath(number, ""), nil, in, &out)
	return out, err
}

// AssignIncidentRole gives role to user.
func (c *Client) AssignIncidentRole(ctx context.Context, number int64, role, user string) (incident.Incident, error) {
	var out incident.Incident
	err := c.Do(ctx, http.MethodPut, incidentPath(number, "/roles/"+url.PathEscape(role)), nil, api.RoleInput{User: user}, &out)
	return out, err
}

// UnassignIncidentRole frees role.
func (c *Client) UnassignIncidentRole(ctx context.Context, number int64, role string) (incident.Incident, error) {
	var out incident.Incident
	err := c.Do(ctx, http.MethodDelete, incidentPath(number, "/roles/"+url.PathEscape(role)), nil, nil, &out)
	return out, err
}

// AddIncidentService adds an affected service.
func (c *Client) AddIncidentService(ctx context.Context, number int64, service string) (incident.Incident, error) {
	var out incident.Incident
	err := c.Do(ctx, http.MethodPost, incidentPath(number, "/services"), nil, api.ServiceRefInput{Service: service}, &out)
	return out, err
}

// IncidentTimeline returns incident number's timeline, oldest first.
func (c *Client) IncidentTimeline(ctx context.Context, number int64) ([]incident.Entry, error) {
	var out api.Page[incident.Entry]
	err := c.Do(ctx, http.MethodGet, incidentPath(number, "/timeline"), nil, nil, &out)
	return out.Items, err
}

// AddIncidentNote adds a note to the timeline.
func (c *Client) AddIncidentNote(ctx context.Context, number int64, text string) (incident.Entry, error) {
	var out incident.Entry
	err := c.Do(ctx, http.MethodPost, incidentPath(number, "/timeline"), nil, incident.NoteInput{Text: text}, &out)
	return out, err
}

// PostIncidentStatusUpdate posts a status update to status pages.
func (c *Client) PostIncidentStatusUpdate(ctx context.Context, number int64, in incident.StatusUpdateInput) error {
	return c.Do(ctx, http.MethodPost, incidentPath(number, "/status-updates"), nil, in, nil)
}

// GetPostmortem returns incident number's postmortem.
func (c *Client) GetPostmortem(ctx context.Context, number int64) (incident.Postmortem, error) {
	var out incident.Postmortem
	err := c.Do(ctx, http.MethodGet, incidentPath(number, "/postmortem"), nil, nil, &out)
	return out, err
}

// PutPostmortem creates or changes incident number's postmortem.
func (c *Client) PutPostmortem(ctx context.Context, number int64, in incident.PostmortemInput) (incident.Postmortem, error) {
	var out incident.Postmortem
	err := c.Do(ctx, http.MethodPut, incidentPath(number, "/postmortem"), nil, in, &out)
	return out, err
}

// AddActionItem adds an action item to incident number's postmortem.
func (c *Client) AddActionItem(ctx context.Context, number int64, in incident.ActionItemInput) (incident.ActionItem, error) {
	var out incident.ActionItem
	err := c.Do(ctx, http.MethodPost, incidentPath(number, "/postmortem/action-items"), nil, in, &out)
	return out, err
}

// UpdateActionItem changes action item id.
func (c *Client) UpdateActionItem(ctx context.Context, id string, in incident.ActionItemUpdate) (incident.ActionItem, error) {
	var out incident.ActionItem
	err := c.Do(ctx, http.MethodPatch, "/action-items/"+url.PathEscape(id), nil, in, &out)
	return out, err
}

// ListActionItems returns the first page of action items of a team
// (empty: every team), open ones only or overdue ones only.
func (c *Client) ListActionItems(ctx context.Context, team, status string, overdue bool) ([]incident.ActionItem, error) {
	v := url.Values{}
	if team != "" {
		v.Set("team", team)
	}
	if status != "" {
		v.Set("status", status)
	}
	if overdue {
		v.Set("overdue", "true")
	}
	v.Set("limit", "1000")
	var out api.Page[incident.ActionItem]
	err := c.Do(ctx, http.MethodGet, "/action-items", v, nil, &out)
	return out.Items, err
}
