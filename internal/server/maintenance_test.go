package server_test

import (
	"net"
	"strings"
	"testing"
	"time"
)

// TestMaintenance_MutesChecks: through the real server, a check of a
// service in a maintenance window goes DOWN without being alertable; once
// the window is deleted, a check of the same service alerts again.
func TestMaintenance_MutesChecks(t *testing.T) {
	base := startServer(t, "")
	admin := login(t, base, "admin", adminPassword, "write")
	admin.must(201, "POST", "/api/v1/environments", map[string]any{"name": "prod", "criticality": "high"}, nil)
	admin.must(201, "POST", "/api/v1/teams", map[string]any{"name": "platform"}, nil)
	admin.must(201, "POST", "/api/v1/services", map[string]any{"name": "web", "owner": "platform", "tier": 1, "environments": []string{"prod"}}, nil)
	now := time.Now().UTC()
	admin.must(201, "POST", "/api/v1/maintenance-windows", map[string]any{"name": "deploy", "services": []string{"web"}, "environments": []string{"prod"},
		"start": now.Add(-time.Hour).Format(time.RFC3339), "end": now.Add(time.Hour).Format(time.RFC3339)}, nil)
	var active struct{ Items []struct{ Name string } }
	admin.must(200, "GET", "/api/v1/maintenance-windows?active=true", nil, &active)
	if len(active.Items) != 1 || active.Items[0].Name != "deploy" {
		t.Fatalf("active windows = %+v", active.Items)
	}

	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := ln.Addr().String()
	ln.Close()
	downEvent := func(name string) (alertable bool, reason string) {
		t.Helper()
		admin.must(201, "POST", "/api/v1/checks", map[string]any{"name": name, "service": "web", "environment": "prod", "type": "tcp",
			"interval": "100ms", "timeout": "100ms", "confirm": map[string]any{"down": 1}, "tcp": map[string]any{"address": closed}}, nil)
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			var evs struct {
				Items []struct {
					To        string
					Alertable bool
					Reason    string
				}
			}
			admin.must(200, "GET", "/api/v1/checks/"+name+"/events", nil, &evs)
			for _, e := range evs.Items {
				if e.To == "down" {
					return e.Alertable, e.Reason
				}
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Fatalf("check %s never went down", name)
		return false, ""
	}
	if alertable, reason := downEvent("during"); alertable || !strings.HasSuffix(reason, "(muted: maintenance deploy)") {
		t.Errorf("DOWN during the window: alertable=%v reason %q; want muted by deploy", alertable, reason)
	}
	admin.must(204, "DELETE", "/api/v1/maintenance-windows/deploy", nil, nil)
	if alertable, reason := downEvent("after"); !alertable || strings.Contains(reason, "muted") {
		t.Errorf("DOWN after the window was deleted: alertable=%v reason %q; want alertable", alertable, reason)
	}
}
