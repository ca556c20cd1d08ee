package server_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"groundcrew.dev/groundcrew/internal/db/dbtest"
	"groundcrew.dev/groundcrew/internal/notify"
)

// received is what a loopback webhook receiver got.
type received struct {
	mu     sync.Mutex
	bodies []map[string]any
	errs   []string
}

func (r *received) all() []map[string]any {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]map[string]any(nil), r.bodies...)
}

// TestAlertPipeline sends an alert the way Prometheus does and follows it
// through routing and grouping to a real webhook receiver on loopback,
// signed, in Alertmanager's webhook format; then resolves it; on SQLite,
// and on PostgreSQL with two replicas (one of which dispatches).
func TestAlertPipeline(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		base := startServer(t, "")
		testAlertPipeline(t, base, base)
	})
	t.Run("postgres-two-replicas", func(t *testing.T) {
		if dbtest.PostgresURL(t) == "" {
			t.Skip("GROUNDCREW_TEST_POSTGRES not set")
		}
		dsn := dbtest.PostgresDSN(t)
		testAlertPipeline(t, startServerWith(t, dsn), startServerWith(t, dsn))
	})
}

func testAlertPipeline(t *testing.T, base, ingestBase string) {
	const secret = "pipeline-test-secret-0123"
	var got received
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got.mu.Lock()
		defer got.mu.Unlock()
		if err := notify.Verify(secret, r.Header.Get("X-Groundcrew-Signature"), body, time.Now(), time.Minute); err != nil {
			got.errs = append(got.errs, err.Error())
		}
		var m map[string]any
		if err := json.Unmarshal(body, &m); err != nil {
			got.errs = append(got.errs, "not JSON: "+string(body))
		}
		got.bodies = append(got.bodies, m)
	}))
	defer target.Close()

	admin := login(t, base, "admin", adminPassword, "write")
	admin.must(201, "POST", "/api/v1/receivers", map[string]any{"name": "hook", "channels": []any{
		map[string]any{"webhook": map[string]any{"url": target.URL + "/alerts", "secret": secret}}}}, nil)
	admin.must(201, "POST", "/api/v1/alert-routes", map[string]any{"name": "api", "spec": map[string]any{
		"matchers": []string{`service="api"`}, "group_by": []string{"alertname"}, "group_wait": "1s", "group_interval": "2s", "receivers": []string{"hook"}}}, nil)
	// route-test says where such an alert goes.
	var rt struct {
		Matches []struct {
			Route     string
			Receivers []string
		}
	}
	admin.must(200, "POST", "/api/v1/alert-routes/test", map[string]any{"labels": map[string]string{"alertname": "HighLatency", "service": "api"}}, &rt)
	if len(rt.Matches) != 1 || rt.Matches[0].Route != "api" || rt.Matches[0].Receivers[0] != "hook" {
		t.Fatalf("route test = %+v", rt)
	}
	var integ struct{ Key string }
	admin.must(201, "POST", "/api/v1/integrations", map[string]any{"name": "prom", "type": "alertmanager"}, &integ)

	post := func(endsAt time.Time) {
		t.Helper()
		body := fmt.Sprintf(`[{"labels":{"alertname":"HighLatency","service":"api","severity":"critical"},"annotations":{"summary":"p99 over 2s"},"startsAt":%q,"endsAt":%q,"generatorURL":"http://prometheus:9090/graph"}]`,
			time.Now().Add(-time.Minute).UTC().Format(time.RFC3339Nano), endsAt.UTC().Format(time.RFC3339Nano))
		if code, _, data := ingest(t, ingestBase, "/api/v2/alerts", integ.Key, false, body); code != 200 {
			t.Fatalf("POST /api/v2/alerts = %d %s", code, data)
		}
	}
	post(time.Now().Add(5 * time.Minute))
	waitFor(t, "the firing notification", 20*time.Second, func() bool { return len(got.all()) >= 1 })
	first := got.all()[0]
	if first["version"] != "4" || first["status"] != "firing" || first["receiver"] != "hook" {
		t.Fatalf("notification = %v", first)
	}
	alerts, _ := first["alerts"].([]any)
	if len(alerts) != 1 || alerts[0].(map[string]any)["labels"].(map[string]any)["alertname"] != "HighLatency" {
		t.Fatalf("alerts = %v", first["alerts"])
	}
	// The notification carries a signed acknowledge link: opening it asks
	// (mail scanners follow links), confirming acknowledges; a forged or
	// altered one is refused.
	links, _ := alerts[0].(map[string]any)["links"].(map[string]any)
	ack, _ := links["acknowledge"].(string)
	if !strings.Contains(ack, "/a/ack/") || !strings.Contains(ack, "sig=") {
		t.Fatalf("acknowledge link = %q (links %v)", ack, links)
	}
	get := func(u string) (int, string) {
		t.Helper()
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, page := get(ack); code != 200 || !strings.Contains(page, "Acknowledge this alert?") || !strings.Contains(page, "p99 over 2s") {
		t.Fatalf("GET acknowledge link = %d %s", code, page)
	}
	if code, _ := get(strings.Replace(ack, "sig=", "sig=x", 1)); code != 403 {
		t.Fatalf("forged link = %d, want 403", code)
	}
	u, _ := url.Parse(ack)
	resp, err := http.PostForm(u.Scheme+"://"+u.Host+u.Path, url.Values{"exp": {u.Query().Get("exp")}, "sig": {u.Query().Get("sig")}})
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), "Acknowledged") {
		t.Fatalf("POST acknowledge = %d %s", resp.StatusCode, page)
	}
	var firing struct {
		Items []struct {
			ID             string
			AcknowledgedAt *time.Time `json:"acknowledged_at"`
		}
	}
	admin.must(200, "GET", "/api/v1/alerts?status=firing", nil, &firing)
	if len(firing.Items) != 1 || firing.Items[0].AcknowledgedAt == nil {
		t.Fatalf("after the acknowledge link: %+v", firing.Items)
	}

	// Sent again by Prometheus: a refresh, not a second notification.
	post(time.Now().Add(5 * time.Minute))
	time.Sleep(2500 * time.Millisecond)
	if n := len(got.all()); n != 1 {
		t.Fatalf("%d notifications after a refresh, want 1", n)
	}
	// Resolved: one resolved notification.
	post(time.Now().Add(-time.Second))
	waitFor(t, "the resolved notification", 20*time.Second, func() bool { return len(got.all()) >= 2 })
	if last := got.all()[1]; last["status"] != "resolved" {
		t.Fatalf("second notification = %v", last)
	}
	got.mu.Lock()
	if len(got.errs) > 0 {
		t.Errorf("receiver saw: %s", strings.Join(got.errs, "; "))
	}
	got.mu.Unlock()
	// The alert's history says it was notified.
	var list struct{ Items []struct{ ID string } }
	admin.must(200, "GET", "/api/v1/alerts?status=resolved", nil, &list)
	if len(list.Items) != 1 {
		t.Fatalf("resolved alerts = %+v", list.Items)
	}
	var detail struct{ History []struct{ Kind string } }
	admin.must(200, "GET", "/api/v1/alerts/"+list.Items[0].ID, nil, &detail)
	var kinds []string
	for _, h := range detail.History {
		kinds = append(kinds, h.Kind)
	}
	if !strings.Contains(strings.Join(kinds, ","), "notified") {
		t.Fatalf("history = %v", kinds)
	}
}

// TestAlertPipeline_KilledBeforeNotification kills the server (SIGKILL)
// after an alert was accepted and before its group was notified; after a
// restart the notification goes out, exactly once.
func TestAlertPipeline_KilledBeforeNotification(t *testing.T) {
	if testing.Short() {
		t.Skip("starts server processes")
	}
	var got received
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var m map[string]any
		json.Unmarshal(body, &m)
		got.mu.Lock()
		got.bodies = append(got.bodies, m)
		got.mu.Unlock()
	}))
	defer target.Close()

	dir := t.TempDir()
	cmd, base := startChild(t, dir)
	admin := login(t, base, "admin", adminPassword, "write")
	admin.must(201, "POST", "/api/v1/receivers", map[string]any{"name": "hook", "channels": []any{
		map[string]any{"webhook": map[string]any{"url": target.URL}}}}, nil)
	admin.must(201, "POST", "/api/v1/alert-routes", map[string]any{"name": "all", "spec": map[string]any{
		"group_wait": "3s", "receivers": []string{"hook"}}}, nil)
	var integ struct{ Key string }
	admin.must(201, "POST", "/api/v1/integrations", map[string]any{"name": "prom", "type": "alertmanager"}, &integ)
	body := fmt.Sprintf(`[{"labels":{"alertname":"DiskFull","instance":"db-1"},"startsAt":%q}]`, time.Now().UTC().Format(time.RFC3339Nano))
	if code, _, data := ingest(t, base, "/api/v2/alerts", integ.Key, false, body); code != 200 {
		t.Fatalf("POST /api/v2/alerts = %d %s", code, data)
	}
	// Accepted (stored); group_wait has not passed: kill.
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	if n := len(got.all()); n != 0 {
		t.Fatalf("%d notifications before the kill; the test needs the kill to come first", n)
	}
	startChild(t, dir)
	waitFor(t, "the notification after the restart", 30*time.Second, func() bool { return len(got.all()) >= 1 })
	time.Sleep(4 * time.Second) // a second one would have come by now
	if n := len(got.all()); n != 1 {
		t.Fatalf("%d notifications after the restart, want exactly 1", n)
	}
	if a := got.all()[0]; a["status"] != "firing" {
		t.Fatalf("notification = %v", a)
	}
}
