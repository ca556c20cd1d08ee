package server_test

import (
	"testing"
	"time"
)

// TestStatusPage_ShowsMaintenanceWindows: a maintenance window of a page's
// service in a critical environment is announced on the public page; one
// limited to a non-critical environment is not.
func TestStatusPage_ShowsMaintenanceWindows(t *testing.T) {
	base := startServer(t, "")
	admin := login(t, base, "admin", adminPassword, "write")
	admin.must(201, "POST", "/api/v1/environments", map[string]any{"name": "prod", "criticality": "critical"}, nil)
	admin.must(201, "POST", "/api/v1/environments", map[string]any{"name": "staging", "criticality": "medium"}, nil)
	admin.must(201, "POST", "/api/v1/teams", map[string]any{"name": "shop"}, nil)
	admin.must(201, "POST", "/api/v1/services", map[string]any{"name": "web", "owner": "shop", "tier": 1, "environments": []string{"prod", "staging"}}, nil)
	admin.must(201, "POST", "/api/v1/status-pages", map[string]any{"name": "shop", "title": "Shop",
		"components": []any{map[string]any{"name": "web", "display_name": "Web shop", "services": []string{"web"}}}}, nil)
	start := time.Now().UTC().Add(time.Hour).Truncate(time.Minute)
	admin.must(201, "POST", "/api/v1/maintenance-windows", map[string]any{"name": "db-upgrade", "description": "Database upgrade",
		"services": []string{"web"}, "environments": []string{"prod"}, "start": start, "end": start.Add(2 * time.Hour)}, nil)
	admin.must(201, "POST", "/api/v1/maintenance-windows", map[string]any{"name": "staging-only", "description": "Staging rebuild",
		"services": []string{"web"}, "environments": []string{"staging"}, "start": start, "end": start.Add(time.Hour)}, nil)

	var view struct {
		Upcoming []struct {
			Title      string
			Kind       string
			Components []string
			StartsAt   time.Time `json:"starts_at"`
		}
	}
	(&client{t: t, base: base}).must(200, "GET", "/status/shop/status.json", nil, &view)
	if len(view.Upcoming) != 1 {
		t.Fatalf("upcoming = %+v, want only the production window", view.Upcoming)
	}
	u := view.Upcoming[0]
	if u.Title != "Database upgrade" || u.Kind != "maintenance" || len(u.Components) != 1 || u.Components[0] != "Web shop" || !u.StartsAt.Equal(start) {
		t.Fatalf("upcoming maintenance = %+v", u)
	}
}
