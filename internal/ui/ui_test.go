package ui

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"groundcrew.dev/groundcrew/internal/catalog"
	"groundcrew.dev/groundcrew/internal/check"
	"groundcrew.dev/groundcrew/internal/clock"
	"groundcrew.dev/groundcrew/internal/db"
	"groundcrew.dev/groundcrew/internal/db/dbtest"
	"groundcrew.dev/groundcrew/internal/identity"
)

const adminPassword = "password-123456"

// harness is a UI over a fresh SQLite database with a small catalog:
// environments prod and staging, teams platform (admin is a member) and
// payments, services postgres-main and payments-api, and tool ci. Its
// clock is fake; checks may run every second or more.
type harness struct {
	t     *testing.T
	srv   *httptest.Server
	ids   *identity.Service
	cat   *catalog.Catalog
	chk   *check.Service
	db    *db.DB
	clock *clock.Fake
	sys   context.Context // acts as the system
}

func newHarness(t *testing.T, cfg Config) *harness {
	t.Helper()
	d := dbtest.Open(t, dbtest.SQLiteDSN(t))
	clk := clock.NewFake(time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC))
	h := &harness{t: t, clock: clk, db: d, sys: identity.WithActor(context.Background(), identity.System())}
	h.ids = identity.NewService(d, clk, nil, identity.Options{})
	h.cat = catalog.New(d, clk, h.ids, nil)
	h.chk = check.NewService(d, clk, h.cat, check.Options{Limits: check.Limits{MinInterval: time.Second}})
	cfg.DB, cfg.Identity, cfg.Catalog, cfg.Checks, cfg.Clock, cfg.Version = d, h.ids, h.cat, h.chk, clk, "test"
	h.srv = httptest.NewServer(New(cfg))
	t.Cleanup(h.srv.Close)
	return h
}

// seed bootstraps the admin and the small catalog.
func (h *harness) seed() *harness {
	h.t.Helper()
	if _, err := h.ids.Bootstrap(context.Background(), adminPassword); err != nil {
		h.t.Fatal(err)
	}
	for _, e := range []string{"prod", "staging"} {
		h.must(h.cat.CreateEnvironment(h.sys, catalog.EnvironmentInput{Name: e, EnvironmentSpec: catalog.EnvironmentSpec{Criticality: catalog.CriticalityHigh}}))
	}
	h.must(h.ids.CreateTeam(h.sys, identity.TeamInput{Name: "platform", DisplayName: "Platform", Members: []string{identity.AdminName}}))
	h.must(h.ids.CreateTeam(h.sys, identity.TeamInput{Name: "payments", DisplayName: "Payments"}))
	h.must(h.cat.CreateService(h.sys, catalog.ServiceInput{Name: "postgres-main", ServiceSpec: catalog.ServiceSpec{
		Owner: "platform", Tier: 1, Environments: []string{"prod"}, Runbook: "https://runbooks.example.com/pg"}}))
	h.must(h.cat.CreateService(h.sys, catalog.ServiceInput{Name: "payments-api", ServiceSpec: catalog.ServiceSpec{
		DisplayName: "Payments API", Owner: "payments", Tier: 1, Environments: []string{"prod", "staging"},
		DependsOn: []string{"postgres-main"}, Tags: []string{"pci"}}}))
	h.must(h.cat.CreateTool(h.sys, catalog.ToolInput{Name: "ci", ToolSpec: catalog.ToolSpec{Type: "ci", Owner: "platform",
		URL: "https://ci.example.com", Environments: []string{"prod"}, Roles: []catalog.ToolRole{{Name: "deployer", Description: "Run deploys"}}}}))
	return h
}

func (h *harness) must(_ any, err error) {
	h.t.Helper()
	if err != nil {
		h.t.Fatal(err)
	}
}

// client is a browser: it keeps cookies and does not follow redirects, so
// tests see them.
type client struct {
	t    *testing.T
	base string
	http *http.Client
}

func (h *harness) client() *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: h.t, base: h.srv.URL, http: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// page is a response with its body read.
type page struct {
	*http.Response
	Body string
}

func (c *client) do(req *http.Request) page {
	c.t.Helper()
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return page{resp, string(b)}
}

func (c *client) get(path string) page {
	c.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, c.base+path, nil)
	return c.do(req)
}

func (c *client) post(path string, form url.Values) page {
	c.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, c.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.do(req)
}

// login logs the client in and fails the test unless it worked.
func (c *client) login(user, password string) {
	c.t.Helper()
	p := c.post("/login", url.Values{"user": {user}, "password": {password}})
	if p.StatusCode != http.StatusSeeOther {
		c.t.Fatalf("login %s: status %d, want 303\n%s", user, p.StatusCode, p.Body)
	}
}

func (h *harness) loggedIn(user, password string) *client {
	h.t.Helper()
	c := h.client()
	c.login(user, password)
	return c
}

// addUser creates a user with a role and a password.
func (h *harness) addUser(name string, role identity.Role) {
	h.t.Helper()
	h.must(h.ids.CreateUser(h.sys, identity.UserInput{Name: name, Role: role, Password: adminPassword}))
}

func wantStatus(t *testing.T, p page, want int) {
	t.Helper()
	if p.StatusCode != want {
		t.Fatalf("%s %s: status %d, want %d\n%s", p.Request.Method, p.Request.URL, p.StatusCode, want, p.Body)
	}
}

func wantContains(t *testing.T, p page, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if !strings.Contains(p.Body, s) {
			t.Errorf("%s %s: body lacks %q", p.Request.Method, p.Request.URL, s)
		}
	}
}

func wantLacks(t *testing.T, p page, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if strings.Contains(p.Body, s) {
			t.Errorf("%s %s: body should not contain %q", p.Request.Method, p.Request.URL, s)
		}
	}
}
