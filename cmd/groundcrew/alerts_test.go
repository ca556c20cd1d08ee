package main

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestIntegrationsAndAlerts(t *testing.T) {
	t.Parallel()
	h := newHarness(t, serverOptions{})
	h.login()

	out, errOut, err := h.run("", "integrations", "create", "prom", "--type", "alertmanager")
	if err != nil {
		t.Fatal(err)
	}
	key := strings.TrimSpace(out)
	if !strings.HasPrefix(key, "gcik_") || strings.Contains(key, "\n") {
		t.Fatalf("integrations create printed %q, want the key alone", out)
	}
	if !strings.Contains(errOut, "not shown again") || !strings.Contains(errOut, h.url+"/api/v2/alerts") {
		t.Errorf("integrations create said %q", errOut)
	}
	if list := h.ok("integrations", "list"); !strings.Contains(list, "prom ") || !strings.Contains(list, key[:11]+"…") || !strings.Contains(list, "active") {
		t.Errorf("integrations list:\n%s", list)
	}

	// Prometheus posts an alert with the key.
	body := `[{"labels":{"alertname":"DiskFull","instance":"db1","severity":"critical"},"annotations":{"summary":"/ is 95% full"},"generatorURL":"http://prom/graph"}]`
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "POST", h.url+"/api/v2/alerts", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("POST /api/v2/alerts = %d", resp.StatusCode)
	}

	list := h.ok("alerts", "list", "--status", "firing")
	rows := lines(list)
	if len(rows) != 2 || !strings.Contains(rows[1], "/ is 95% full") || !strings.Contains(rows[1], "alertmanager/prom") {
		t.Fatalf("alerts list:\n%s", list)
	}
	id := strings.Fields(rows[1])[0]
	show := h.ok("alerts", "show", id)
	for _, want := range []string{"Status:       firing", "alertname=DiskFull", "History:", "fired", "integration/prom"} {
		if !strings.Contains(show, want) {
			t.Errorf("alerts show lacks %q:\n%s", want, show)
		}
	}
	if list := h.ok("alerts", "list", "--status", "resolved"); strings.Contains(list, id) {
		t.Errorf("resolved list shows the firing alert:\n%s", list)
	}
	if out := h.ok("integrations", "revoke", "prom"); out != "integration/prom revoked\n" {
		t.Errorf("integrations revoke printed %q", out)
	}
	if list := h.ok("integrations", "list"); !strings.Contains(list, "revoked") {
		t.Errorf("integrations list after revoke:\n%s", list)
	}
	for _, args := range [][]string{
		{"integrations", "create", "x", "--type", "nagios"},
		{"integrations", "create", "x"},
		{"integrations", "revoke", "prom"},
		{"alerts", "list", "--status", "open"},
		{"alerts", "show", "nope"},
	} {
		h.fail(args...)
	}
}
