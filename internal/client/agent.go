package client

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"groundcrew.dev/groundcrew/internal/api"
	"groundcrew.dev/groundcrew/internal/check"
	"groundcrew.dev/groundcrew/internal/fleet"
)

// EnrollTokenCreated is a new enrollment token with its secret.
type EnrollTokenCreated = api.EnrollTokenCreated

// CreateEnrollToken creates an agent enrollment token for location;
// expiresIn zero means the server's default (24 h), uses zero any number.
func (c *Client) CreateEnrollToken(ctx context.Context, name, location string, expiresIn time.Duration, uses int) (EnrollTokenCreated, error) {
	in := api.EnrollTokenCreate{Name: name, Location: location, Uses: uses}
	if expiresIn > 0 {
		in.ExpiresIn = expiresIn.String()
	}
	var out EnrollTokenCreated
	err := c.Do(ctx, http.MethodPost, "/enroll-tokens", nil, in, &out)
	return out, err
}

// ListEnrollTokens returns the enrollment tokens, newest first.
func (c *Client) ListEnrollTokens(ctx context.Context) ([]fleet.EnrollToken, error) {
	var out api.Page[fleet.EnrollToken]
	err := c.Do(ctx, http.MethodGet, "/enroll-tokens", nil, nil, &out)
	return out.Items, err
}

// RevokeEnrollToken revokes an enrollment token.
func (c *Client) RevokeEnrollToken(ctx context.Context, name string) error {
	return c.Do(ctx, http.MethodDelete, "/enroll-tokens/"+url.PathEscape(name), nil, nil, nil)
}

// ListAgents returns the enrolled agents.
func (c *Client) ListAgents(ctx context.Context) ([]fleet.Agent, error) {
	var out api.Page[fleet.Agent]
	err := c.Do(ctx, http.MethodGet, "/agents", nil, nil, &out)
	return out.Items, err
}

// RevokeAgent revokes an agent's credential.
func (c *Client) RevokeAgent(ctx context.Context, name string) error {
	return c.Do(ctx, http.MethodDelete, "/agents/"+url.PathEscape(name), nil, nil, nil)
}

// The agent protocol (api.AgentProtocol). A Client for these calls is made
// with the agent's credential as its token (none for Enroll).

// Enroll enrolls an agent with an enrollment token.
func (c *Client) Enroll(ctx context.Context, in fleet.Enrollment) (fleet.Enrolled, error) {
	var out fleet.Enrolled
	err := c.doAt(ctx, api.AgentPrefix, http.MethodPost, "/enroll", nil, in, &out)
	return out, err
}

// AgentChecks returns the checks of the agent's location; with since set
// to the version of an earlier answer, an answer with Unchanged and no
// checks when nothing changed.
func (c *Client) AgentChecks(ctx context.Context, since string) (api.Assignments, error) {
	var out api.Assignments
	q := url.Values{}
	if since != "" {
		q.Set("since", since)
	}
	err := c.doAt(ctx, api.AgentPrefix, http.MethodGet, "/checks", q, nil, &out)
	return out, err
}

// AgentReport sends the results of the agent's runs and returns how many
// the server stored.
func (c *Client) AgentReport(ctx context.Context, rs []check.Result) (int, error) {
	in := api.Report{Results: make([]check.Reported, len(rs))}
	for i, r := range rs {
		in.Results[i] = check.NewReported(r)
	}
	var out api.ReportAccepted
	err := c.doAt(ctx, api.AgentPrefix, http.MethodPost, "/results", nil, in, &out)
	return out.Accepted, err
}
