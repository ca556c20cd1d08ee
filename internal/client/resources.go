package client

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"groundcrew.dev/groundcrew/internal/apply"
	"groundcrew.dev/groundcrew/internal/audit"
	"groundcrew.dev/groundcrew/internal/catalog"
	"groundcrew.dev/groundcrew/internal/identity"
)

// Page is one page of a list response.
type Page[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor,omitempty"`
}

// WhoAmI describes the caller.
type WhoAmI struct {
	Name  string         `json:"name"`
	Role  identity.Role  `json:"role"`
	Scope identity.Scope `json:"scope"`
	Via   string         `json:"via"` // "session" or "token"
	Teams []string       `json:"teams"`
}

// TokenCreated is a new API token with its secret, which the server shows
// only this once.
type TokenCreated struct {
	identity.Token
	Secret string `json:"secret"`
}

// Kind describes a kind of document that apply accepts and get prints.
type Kind struct {
	Name    string         `json:"name"`    // "Service"
	Plural  string         `json:"plural"`  // "services"
	Aliases []string       `json:"aliases"` // "service", "svc"
	Columns []apply.Column `json:"columns"` // what a table shows after NAME
}

// LoginToken exchanges a user name and password for a new API token called
// tokenName with scope ("read", "write" or "" for write). It needs no token
// of its own.
func (c *Client) LoginToken(ctx context.Context, user, password, tokenName string, scope identity.Scope) (TokenCreated, error) {
	var out TokenCreated
	in := struct {
		User      string         `json:"user"`
		Password  string         `json:"password"`
		TokenName string         `json:"token_name"`
		Scope     identity.Scope `json:"scope,omitempty"`
	}{user, password, tokenName, scope}
	err := c.Do(ctx, http.MethodPost, "/auth/token", nil, in, &out)
	return out, err
}

// WhoAmI returns who the token belongs to.
func (c *Client) WhoAmI(ctx context.Context) (WhoAmI, error) {
	var out WhoAmI
	err := c.Do(ctx, http.MethodGet, "/whoami", nil, nil, &out)
	return out, err
}

// CreateToken creates an API token for the caller. expiresIn 0 takes the
// server's default lifetime.
func (c *Client) CreateToken(ctx context.Context, name string, scope identity.Scope, expiresIn time.Duration) (TokenCreated, error) {
	in := struct {
		Name      string         `json:"name"`
		Scope     identity.Scope `json:"scope,omitempty"`
		ExpiresIn string         `json:"expires_in,omitempty"`
	}{Name: name, Scope: scope}
	if expiresIn > 0 {
		in.ExpiresIn = expiresIn.String()
	}
	var out TokenCreated
	err := c.Do(ctx, http.MethodPost, "/tokens", nil, in, &out)
	return out, err
}

// ListTokens returns the caller's API tokens, newest first.
func (c *Client) ListTokens(ctx context.Context) ([]identity.Token, error) {
	return List[identity.Token](ctx, c, "/tokens", nil)
}

// RevokeToken revokes the caller's token called name.
func (c *Client) RevokeToken(ctx context.Context, name string) error {
	return c.Do(ctx, http.MethodDelete, "/tokens/"+url.PathEscape(name), nil, nil, nil)
}

// Apply applies docs in one transaction (all or none). A dry run reports
// what would change without changing anything; prune deletes the objects an
// earlier apply of set created that docs no longer name.
func (c *Client) Apply(ctx context.Context, docs []apply.Document, dryRun, prune bool, set string) (apply.Result, error) {
	if docs == nil {
		docs = []apply.Document{}
	}
	in := struct {
		Documents []apply.Document `json:"documents"`
		DryRun    bool             `json:"dry_run,omitempty"`
		Prune     bool             `json:"prune,omitempty"`
		Set       string           `json:"set,omitempty"`
	}{docs, dryRun, prune, set}
	var out apply.Result
	err := c.Do(ctx, http.MethodPost, "/apply", nil, in, &out)
	return out, err
}

// Kinds returns the kinds the server knows, in apply order.
func (c *Client) Kinds(ctx context.Context) ([]Kind, error) {
	return List[Kind](ctx, c, "/kinds", nil)
}

// Export returns every object of kind (a name, plural or alias) as
// documents, sorted by name: what applying again leaves unchanged.
func (c *Client) Export(ctx context.Context, kind string) ([]apply.Document, error) {
	return List[apply.Document](ctx, c, Collection("/documents/"+url.PathEscape(kind)), nil)
}

// VerifyAudit walks the audit hash chain on the server.
func (c *Client) VerifyAudit(ctx context.Context) (audit.Report, error) {
	var out audit.Report
	err := c.Do(ctx, http.MethodGet, "/audit/verify", nil, nil, &out)
	return out, err
}

// AuditFilter selects audit records. The zero value selects the newest 50.
type AuditFilter struct {
	Actor  string    // user name, or "system"
	Action string    // "create", "update", "delete", "login", …
	Kind   string    // object kind: "service", "team", "token", …
	Object string    // object name
	Since  time.Time // inclusive
	Until  time.Time // exclusive
	Limit  int       // at most this many records (default 50)
}

// ListAudit returns audit records matching f, newest first, following the
// server's pages until f.Limit records are read or none are left.
func (c *Client) ListAudit(ctx context.Context, f AuditFilter) ([]audit.Record, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	q := url.Values{}
	for k, v := range map[string]string{"actor": f.Actor, "action": f.Action, "kind": f.Kind, "object": f.Object} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if !f.Since.IsZero() {
		q.Set("since", f.Since.UTC().Format(time.RFC3339Nano))
	}
	if !f.Until.IsZero() {
		q.Set("until", f.Until.UTC().Format(time.RFC3339Nano))
	}
	var out []audit.Record
	err := pages(ctx, c, "/audit", q, func(p Page[audit.Record]) bool {
		out = append(out, p.Items...)
		return len(out) < limit
	}, func(q url.Values) { q.Set("limit", strconv.Itoa(min(limit-len(out), 500))) })
	if len(out) > limit {
		out = out[:limit]
	}
	return out, err
}

// Collection names the API path of a kind of named object; Get and List
// take one.
type Collection string

// The collections of named objects.
const (
	Services     Collection = "/services"
	Teams        Collection = "/teams"
	Environments Collection = "/environments"
	Tools        Collection = "/tools"
	Users        Collection = "/users"
)

// Get returns the object called name from coll, decoded into T
// (catalog.Service for Services, and so on).
func Get[T any](ctx context.Context, c *Client, coll Collection, name string) (T, error) {
	var out T
	err := c.Do(ctx, http.MethodGet, string(coll)+"/"+url.PathEscape(name), nil, nil, &out)
	return out, err
}

// List returns every object of coll (or any list path of the API) that
// matches query (filters such as "owner" or "q"), following next_cursor
// until the last page.
func List[T any](ctx context.Context, c *Client, coll Collection, query url.Values) ([]T, error) {
	var out []T
	err := pages(ctx, c, string(coll), query, func(p Page[T]) bool {
		out = append(out, p.Items...)
		return true
	}, nil)
	return out, err
}

// Create creates an object in coll from in (catalog.ServiceInput for
// Services, and so on) and returns it as T.
func Create[T any](ctx context.Context, c *Client, coll Collection, in any) (T, error) {
	var out T
	err := c.Do(ctx, http.MethodPost, string(coll), nil, in, &out)
	return out, err
}

// Delete deletes the object called name from coll.
func Delete(ctx context.Context, c *Client, coll Collection, name string) error {
	return c.Do(ctx, http.MethodDelete, string(coll)+"/"+url.PathEscape(name), nil, nil, nil)
}

// Service returns the service called name.
func (c *Client) Service(ctx context.Context, name string) (catalog.Service, error) {
	return Get[catalog.Service](ctx, c, Services, name)
}

// ListServices returns every service matching query ("owner",
// "environment", "tag", "lifecycle", "q").
func (c *Client) ListServices(ctx context.Context, query url.Values) ([]catalog.Service, error) {
	return List[catalog.Service](ctx, c, Services, query)
}

// Team returns the team called name.
func (c *Client) Team(ctx context.Context, name string) (identity.Team, error) {
	return Get[identity.Team](ctx, c, Teams, name)
}

// ListTeams returns every team matching query ("q").
func (c *Client) ListTeams(ctx context.Context, query url.Values) ([]identity.Team, error) {
	return List[identity.Team](ctx, c, Teams, query)
}

// Environment returns the environment called name.
func (c *Client) Environment(ctx context.Context, name string) (catalog.Environment, error) {
	return Get[catalog.Environment](ctx, c, Environments, name)
}

// ListEnvironments returns every environment matching query ("q").
func (c *Client) ListEnvironments(ctx context.Context, query url.Values) ([]catalog.Environment, error) {
	return List[catalog.Environment](ctx, c, Environments, query)
}

// Tool returns the internal tool called name.
func (c *Client) Tool(ctx context.Context, name string) (catalog.Tool, error) {
	return Get[catalog.Tool](ctx, c, Tools, name)
}

// ListTools returns every internal tool matching query ("owner", "q").
func (c *Client) ListTools(ctx context.Context, query url.Values) ([]catalog.Tool, error) {
	return List[catalog.Tool](ctx, c, Tools, query)
}

// User returns the user called name.
func (c *Client) User(ctx context.Context, name string) (identity.User, error) {
	return Get[identity.User](ctx, c, Users, name)
}

// ListUsers returns every user matching query ("q").
func (c *Client) ListUsers(ctx context.Context, query url.Values) ([]identity.User, error) {
	return List[identity.User](ctx, c, Users, query)
}

// maxPages bounds how many pages one list reads, against a server that
// never stops answering with a cursor.
const maxPages = 100_000

// pages reads the pages of a list, passing each to page until it returns
// false or the last page is read. before, when not nil, adjusts the query
// of each request.
func pages[T any](ctx context.Context, c *Client, path string, query url.Values, page func(Page[T]) bool, before func(url.Values)) error {
	q := url.Values{}
	for k, v := range query {
		q[k] = append([]string(nil), v...)
	}
	prev := ""
	for range maxPages {
		if before != nil {
			before(q)
		}
		var p Page[T]
		if err := c.Do(ctx, http.MethodGet, path, q, nil, &p); err != nil {
			return err
		}
		if !page(p) || p.NextCursor == "" {
			return nil
		}
		if p.NextCursor == prev {
			return fmt.Errorf("GET %s: the server returned the same cursor twice", path)
		}
		prev = p.NextCursor
		q.Set("cursor", p.NextCursor)
	}
	return fmt.Errorf("GET %s: more than %d pages", path, maxPages)
}
