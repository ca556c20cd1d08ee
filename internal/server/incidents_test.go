package server_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"groundcrew.dev/groundcrew/internal/db/dbtest"
)

// TestIncidents_API runs an incident through the real server on each
// engine: declare, bad input naming the field, update, roles, a status
// update that shows on the public page, the postmortem with an action
// item, and the report as JSON and CSV.
func TestIncidents_API(t *testing.T) {
	engines := map[string]func(t *testing.T) string{"sqlite": func(*testing.T) string { return "" }}
	if dbtest.PostgresURL(t) != "" {
		engines["postgres"] = func(t *testing.T) string { return dbtest.PostgresDSN(t) }
	}
	for name, dsn := range engines {
		t.Run(name, func(t *testing.T) { testIncidentsAPI(t, startServer(t, dsn(t))) })
	}
}

func testIncidentsAPI(t *testing.T, base string) {
	admin := login(t, base, "admin", adminPassword, "write")
	admin.must(201, "POST", "/api/v1/users", map[string]any{"name": "bob", "role": "member", "password": "password-bob"}, nil)
	admin.must(201, "POST", "/api/v1/teams", map[string]any{"name": "payments", "members": []string{"bob"}}, nil)
	admin.must(201, "POST", "/api/v1/services", map[string]any{"name": "payments-api", "owner": "payments", "tier": 1}, nil)
	admin.must(201, "POST", "/api/v1/status-pages", map[string]any{"name": "public", "title": "Acme status",
		"components": []any{map[string]any{"name": "payments", "services": []string{"payments-api"}}}}, nil)
	bob := login(t, base, "bob", "password-bob", "write")

	problem := func(c *client, code int, field, method, path string, body any) {
		t.Helper()
		var p struct {
			Detail string
			Errors []struct{ Location string }
		}
		c.must(code, method, path, body, &p)
		if field != "" && (len(p.Errors) == 0 || p.Errors[0].Location != "body."+field) {
			t.Errorf("%s %s: %+v, want the error at body.%s", method, path, p, field)
		}
	}
	problem(bob, 422, "severity", "POST", "/api/v1/incidents", map[string]any{"title": "x", "severity": "SEV9"})
	problem(bob, 422, "services[0]", "POST", "/api/v1/incidents", map[string]any{"title": "x", "severity": "SEV2", "services": []string{"nope"}})
	problem(bob, 422, "title", "POST", "/api/v1/incidents", map[string]any{"title": " ", "severity": "SEV2"})

	var inc struct {
		Number            int64
		Key, Lead, Status string
		Teams             []string
	}
	h := bob.must(201, "POST", "/api/v1/incidents", map[string]any{"title": "Payments fail", "severity": "SEV2", "services": []string{"payments-api"}}, &inc)
	if inc.Number != 1 || inc.Key != "INC-1" || inc.Lead != "bob" || !slices.Equal(inc.Teams, []string{"payments"}) || h.Get("ETag") != `"1"` {
		t.Fatalf("declared %+v (ETag %s)", inc, h.Get("ETag"))
	}
	problem(bob, 422, "summary", "PATCH", "/api/v1/incidents/1", map[string]any{"status": "resolved"})
	problem(bob, 422, "role", "DELETE", "/api/v1/incidents/1/roles/lead", nil)
	bob.must(412, "PATCH", "/api/v1/incidents/1", map[string]any{"title": "x"}, nil, "If-Match", `"7"`)
	bob.must(404, "GET", "/api/v1/incidents/99", nil, nil)
	bob.must(200, "PATCH", "/api/v1/incidents/1", map[string]any{"status": "identified", "message": "a bad deploy"}, &inc, "If-Match", `"1"`)
	bob.must(200, "PUT", "/api/v1/incidents/1/roles/communications", map[string]any{"user": "admin"}, nil)
	bob.must(201, "POST", "/api/v1/incidents/1/timeline", map[string]any{"text": "rolling back"}, nil)
	// bob runs the incident, but only operators post to the public page.
	bob.must(403, "POST", "/api/v1/incidents/1/status-updates", map[string]any{"pages": []string{"public"}, "message": "Payments are failing."}, nil)
	admin.must(201, "POST", "/api/v1/incidents/1/status-updates", map[string]any{"pages": []string{"public"}, "message": "Payments are failing.", "components": []string{"payments"}}, nil)
	anon := &client{t: t, base: base}
	if _, _, page := anon.do("GET", "/status/public", nil); !strings.Contains(string(page), "Payments are failing.") {
		t.Errorf("the public page lacks the status update:\n%s", page)
	}
	bob.must(200, "PATCH", "/api/v1/incidents/1", map[string]any{"status": "resolved", "summary": "Rolled back."}, &inc)

	var tl struct {
		Items []struct{ Kind, Actor string }
	}
	anonymous := anon
	anonymous.must(401, "GET", "/api/v1/incidents/1/timeline", nil, nil)
	bob.must(200, "GET", "/api/v1/incidents/1/timeline", nil, &tl)
	var got []string
	for _, e := range tl.Items {
		got = append(got, e.Kind)
	}
	if want := "declared,status_changed,role_assigned,note,status_update_posted,summary_changed,status_changed"; strings.Join(got, ",") != want {
		t.Errorf("timeline %s, want %s", strings.Join(got, ","), want)
	}

	bob.must(404, "GET", "/api/v1/incidents/1/postmortem", nil, nil)
	var pm struct {
		Status, Summary string
		Timeline        []any
	}
	bob.must(200, "PUT", "/api/v1/incidents/1/postmortem", map[string]any{"root_causes": "No canary."}, &pm)
	if pm.Status != "draft" || pm.Summary != "Rolled back." || len(pm.Timeline) != len(tl.Items) {
		t.Errorf("postmortem %+v", pm)
	}
	problem(bob, 422, "status", "PUT", "/api/v1/incidents/1/postmortem", map[string]any{"status": "approved"})
	problem(bob, 422, "team", "POST", "/api/v1/incidents/1/postmortem/action-items", map[string]any{"title": "Canary", "team": "nope", "due": "2099-01-01"})
	var item struct{ ID, Status string }
	bob.must(201, "POST", "/api/v1/incidents/1/postmortem/action-items", map[string]any{"title": "Canary", "team": "payments", "due": "2099-01-01"}, &item)
	bob.must(200, "PATCH", "/api/v1/action-items/"+item.ID, map[string]any{"status": "done"}, &item)
	var items struct {
		Items []struct {
			Status string
			DoneBy string `json:"done_by"`
		}
	}
	bob.must(200, "GET", "/api/v1/action-items?team=payments", nil, &items)
	if len(items.Items) != 1 || items.Items[0].Status != "done" || items.Items[0].DoneBy != "bob" {
		t.Errorf("action items %+v", items)
	}

	var rep struct {
		Incidents, Resolved int
		Severities          []struct {
			Key       string
			Incidents int
		}
		MTTR struct{ Count int }
	}
	h = bob.must(200, "GET", "/api/v1/reports/incidents?team=payments", nil, &rep)
	if rep.Incidents != 1 || rep.Resolved != 1 || rep.MTTR.Count != 1 || rep.Severities[1].Key != "SEV2" || rep.Severities[1].Incidents != 1 ||
		!strings.HasPrefix(h.Get("Content-Type"), "application/json") {
		t.Errorf("report %+v (%s)", rep, h.Get("Content-Type"))
	}
	code, h, csv := bob.do("GET", "/api/v1/reports/incidents?format=csv", nil)
	lines := strings.Split(strings.TrimSpace(string(csv)), "\n")
	if code != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/csv") || len(lines) != 2 || !strings.HasPrefix(lines[1], "1,INC-1,Payments fail,SEV2,resolved,") {
		t.Errorf("csv: %d %s\n%s", code, h.Get("Content-Type"), csv)
	}
	problem(bob, 422, "to", "GET", "/api/v1/reports/incidents?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z", nil)
	bob.must(422, "GET", "/api/v1/reports/incidents?format=xml", nil, nil)

	// Pages of the list.
	for i := range 3 {
		bob.must(201, "POST", "/api/v1/incidents", map[string]any{"title": fmt.Sprint("more ", i), "severity": "SEV4"}, nil)
	}
	var pg struct {
		Items      []struct{ Number int64 }
		NextCursor string `json:"next_cursor"`
	}
	bob.must(200, "GET", "/api/v1/incidents?limit=3", nil, &pg)
	if len(pg.Items) != 3 || pg.Items[0].Number != 4 || pg.NextCursor == "" {
		t.Fatalf("first page %+v", pg)
	}
	cursor := pg.NextCursor
	pg.NextCursor = ""
	bob.must(200, "GET", "/api/v1/incidents?limit=3&cursor="+cursor, nil, &pg)
	if len(pg.Items) != 1 || pg.Items[0].Number != 1 || pg.NextCursor != "" {
		t.Errorf("second page %+v", pg)
	}
	bob.must(200, "GET", "/api/v1/incidents?status=open", nil, &pg)
	if len(pg.Items) != 3 {
		t.Errorf("open incidents %+v", pg)
	}
}

// TestIncidents_TwoReplicas declares incidents in parallel through two
// servers sharing one PostgreSQL database: the numbers are 1..n, each once.
func TestIncidents_TwoReplicas(t *testing.T) {
	if dbtest.PostgresURL(t) == "" {
		t.Skip(dbtest.PostgresEnv + " not set")
	}
	dsn := dbtest.PostgresDSN(t)
	a := startServer(t, dsn)
	b := startServer(t, dsn)
	clients := []*client{login(t, a, "admin", adminPassword, "write"), login(t, b, "admin", adminPassword, "write")}
	const n = 30
	var mu sync.Mutex
	var numbers []int64
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			c := clients[i%2]
			code, _, data := c.doNoFatal("POST", "/api/v1/incidents", map[string]any{"title": fmt.Sprint("parallel ", i), "severity": "SEV3"})
			var inc struct{ Number int64 }
			if code != 201 || json.Unmarshal(data, &inc) != nil {
				t.Errorf("declare %d: %d %s", i, code, data)
				return
			}
			mu.Lock()
			numbers = append(numbers, inc.Number)
			mu.Unlock()
		})
	}
	wg.Wait()
	slices.Sort(numbers)
	for i, num := range numbers {
		if num != int64(i+1) {
			t.Fatalf("numbers %v: want 1..%d, each once", numbers, n)
		}
	}
}
