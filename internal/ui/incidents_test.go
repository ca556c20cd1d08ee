package ui

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"groundcrew.dev/groundcrew/internal/catalog"
	"groundcrew.dev/groundcrew/internal/check"
	"groundcrew.dev/groundcrew/internal/clock"
	"groundcrew.dev/groundcrew/internal/db/dbtest"
	"groundcrew.dev/groundcrew/internal/identity"
	"groundcrew.dev/groundcrew/internal/incident"
)

// newIncidentHarness is the seeded UI harness with incidents, a viewer
// vera and a member ana of payments, behind cross-origin protection.
func newIncidentHarness(t *testing.T) (*harness, *incident.Service) {
	t.Helper()
	d := dbtest.Open(t, dbtest.SQLiteDSN(t))
	clk := clock.NewFake(time.Date(2026, 3, 30, 10, 0, 0, 0, time.UTC))
	h := &harness{t: t, clock: clk, db: d, sys: identity.WithActor(context.Background(), identity.System())}
	h.ids = identity.NewService(d, clk, nil, identity.Options{})
	h.cat = catalog.New(d, clk, h.ids, nil)
	h.chk = check.NewService(d, clk, h.cat, check.Options{})
	svc := incident.NewService(d, clk, h.ids, h.cat, incident.Options{})
	cfg := Config{DB: d, Identity: h.ids, Catalog: h.cat, Checks: h.chk, Incidents: svc, Clock: clk, Version: "test", Logger: slog.New(slog.NewTextHandler(os.Stderr, nil))}
	h.srv = httptest.NewServer(http.NewCrossOriginProtection().Handler(New(cfg)))
	t.Cleanup(h.srv.Close)
	h.seed()
	h.addUser("vera", identity.RoleViewer)
	h.addUser("ana", identity.RoleMember)
	h.must(h.ids.UpdateTeam(h.sys, "payments", identity.TeamInput{Name: "payments", DisplayName: "Payments", Members: []string{"ana"}}, 0))
	return h, svc
}

func TestIncidentPages(t *testing.T) {
	h, _ := newIncidentHarness(t)
	ana := h.loggedIn("ana", adminPassword)

	p := ana.get("/incidents")
	wantStatus(t, p, http.StatusOK)
	wantContains(t, p, "No open incidents", `action="/incidents"`, "Declare an incident", "SEV1 — Critical", `href="/incidents" aria-current="page"`)

	// Bad input comes back with the field marked and the form kept.
	p = ana.sameOrigin("/incidents", url.Values{"title": {"Checkout fails"}, "severity": {"SEV2"}, "services": {"payments-api, nope"}})
	wantStatus(t, p, http.StatusUnprocessableEntity)
	wantContains(t, p, `service &#34;nope&#34; does not exist`, `value="payments-api, nope"`, `value="Checkout fails"`)
	// A cross-site post is refused.
	req, _ := http.NewRequest(http.MethodPost, ana.base+"/incidents", strings.NewReader("title=x&severity=SEV2"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	p = ana.do(req)
	if p.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site declare: %d, want 403", p.StatusCode)
	}

	p = ana.sameOrigin("/incidents", url.Values{"title": {"Checkout fails"}, "severity": {"SEV2"}, "services": {"payments-api"}, "message": {"5xx since 09:55"}})
	wantStatus(t, p, http.StatusSeeOther)
	if loc := p.Header.Get("Location"); loc != "/incidents/1" {
		t.Fatalf("declared, redirected to %q", loc)
	}
	p = ana.get("/incidents/1")
	wantStatus(t, p, http.StatusOK)
	wantContains(t, p, "INC-1: Checkout fails", "Declared INC-1 (SEV2)", "5xx since 09:55", "team <a href=\"/teams/payments\">payments</a>", "lead: ana")

	// Resolving without a summary is refused next to the field.
	p = ana.sameOrigin("/incidents/1/update", url.Values{"status": {"resolved"}, "severity": {"SEV2"}})
	wantStatus(t, p, http.StatusUnprocessableEntity)
	wantContains(t, p, "required to resolve", `id="f-summary"`)
	p = ana.sameOrigin("/incidents/1/update", url.Values{"status": {"identified"}, "severity": {"SEV1"}, "message": {"bad deploy"}})
	wantStatus(t, p, http.StatusSeeOther)
	p = ana.sameOrigin("/incidents/1/notes", url.Values{"text": {"rolling back"}})
	wantStatus(t, p, http.StatusSeeOther)
	p = ana.sameOrigin("/incidents/1/roles", url.Values{"role": {"scribe"}, "user": {"ghost"}})
	wantStatus(t, p, http.StatusUnprocessableEntity)
	wantContains(t, p, `user &#34;ghost&#34; does not exist`)
	p = ana.sameOrigin("/incidents/1/roles", url.Values{"role": {"communications"}, "user": {"vera"}})
	wantStatus(t, p, http.StatusSeeOther)
	p = ana.get("/incidents/1")
	wantContains(t, p, "Status changed from investigating to identified: bad deploy", "Severity changed from SEV2 to SEV1", "rolling back",
		"vera is now communications", `<span class="badge sev-critical">SEV1</span>`)

	// A viewer reads but gets no forms, and cannot post.
	vera := h.loggedIn("vera", adminPassword)
	p = vera.get("/incidents/1")
	wantStatus(t, p, http.StatusOK)
	wantLacks(t, p, `action="/incidents/1/update"`, "Add note")
	p = vera.sameOrigin("/incidents/1/notes", url.Values{"text": {"hi"}})
	wantStatus(t, p, http.StatusForbidden)
	wantLacks(t, vera.get("/incidents"), "Declare an incident")
	// Filters are in the URL.
	wantContains(t, vera.get("/incidents?severity=SEV1&team=payments"), "Checkout fails")
	wantContains(t, vera.get("/incidents?status=resolved"), "No incidents")
	wantStatus(t, vera.get("/incidents/INC-99"), http.StatusNotFound)
}

// TestIncidentReportPage: the report counts incidents per severity,
// service and team, draws incidents per service, links the CSV, and
// prefills the declare form from a page or an alert.
func TestIncidentReportPage(t *testing.T) {
	h, _ := newIncidentHarness(t)
	ana := h.loggedIn("ana", adminPassword)
	wantStatus(t, ana.sameOrigin("/incidents", url.Values{"title": {"Checkout fails"}, "severity": {"SEV2"}, "services": {"payments-api"}}), http.StatusSeeOther)
	p := ana.get("/incidents/report?days=7")
	wantStatus(t, p, http.StatusOK)
	wantContains(t, p, "1 incident declared", `<svg class="chart bars"`, "Incidents per service", `<th scope="row">SEV2</th><td>1</td><td>0</td>`,
		`<th scope="row">payments-api</th>`, "/api/v1/reports/incidents?format=csv")
	wantStatus(t, ana.get("/incidents/report?days=400"), http.StatusUnprocessableEntity)
	wantContains(t, ana.get("/incidents"), `href="/incidents/report"`)

	p = ana.get("/incidents?title=Checkout+returns+502&services=payments-api&alert=0190c5b0-0000-7000-8000-000000000001")
	wantContains(t, p, `value="Checkout returns 502"`, `value="payments-api"`, `name="alert_id" value="0190c5b0-0000-7000-8000-000000000001"`)
}
