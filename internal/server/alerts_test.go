package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"groundcrew.dev/groundcrew/internal/db/dbtest"
)

type alertView struct {
	ID           string
	Status       string
	Severity     string
	Summary      string
	Labels       map[string]string
	Annotations  map[string]string
	Source       string
	Integration  string
	Service      string
	DedupKey     string `json:"dedup_key"`
	RefreshCount int    `json:"refresh_count"`
	History      []struct{ Kind, Actor, Integration string }
}

func (c *client) alerts(query string) []alertView {
	c.t.Helper()
	var p struct{ Items []alertView }
	c.must(200, "GET", "/api/v1/alerts"+query, nil, &p)
	return p.Items
}

// ingest posts body to path with an integration key sent as a bearer
// token, or as the basic-auth password when basic is true.
func ingest(t *testing.T, base, path, key string, basic bool, body string) (int, http.Header, []byte) {
	t.Helper()
	c := &client{t: t, base: base}
	h := []string{"Authorization", "Bearer " + key, "User-Agent", "Prometheus/3.5.0"}
	if key == "" {
		h = h[2:]
	}
	if basic {
		req, _ := http.NewRequest("POST", "http://x", nil)
		req.SetBasicAuth("prometheus", key)
		h[1] = req.Header.Get("Authorization")
	}
	return c.do("POST", path, []byte(body), h...)
}

func TestAlerts_Ingestion(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { testIngestion(t, "") })
	if dbtest.PostgresURL(t) != "" {
		t.Run("postgres", func(t *testing.T) { testIngestion(t, dbtest.PostgresDSN(t)) })
	}
}

func testIngestion(t *testing.T, dsn string) {
	base := startServer(t, dsn)
	admin := login(t, base, "admin", adminPassword, "write")
	keys := map[string]string{}
	for name, typ := range map[string]string{"prom": "alertmanager", "pd": "pagerduty", "wh": "webhook"} {
		var out struct{ Key string }
		admin.must(201, "POST", "/api/v1/integrations", map[string]any{"name": name, "type": typ}, &out)
		if !strings.HasPrefix(out.Key, "gcik_") {
			t.Fatalf("key = %q", out.Key)
		}
		keys[name] = out.Key
	}

	// Exactly what Prometheus's notifier posts (zero times included).
	now := time.Now().UTC()
	promBody := fmt.Sprintf(`[{"labels":{"alertname":"HighRequestLatency","instance":"api-1:9090","job":"api","severity":"page"},`+
		`"annotations":{"summary":"High request latency on api-1","description":"p99 over 1s for 10 minutes"},`+
		`"startsAt":%q,"endsAt":%q,"generatorURL":"http://prometheus:9090/graph?g0.expr=job%%3Aapi_latency%%3Ap99+%%3E+1&g0.tab=1"},`+
		`{"labels":{"alertname":"Watchdog","severity":"none"},"annotations":{},"startsAt":%q,"endsAt":"0001-01-01T00:00:00Z","generatorURL":""}]`,
		now.Add(-10*time.Minute).Format(time.RFC3339Nano), now.Add(4*time.Minute).Format(time.RFC3339Nano), now.Format(time.RFC3339Nano))
	if code, _, data := ingest(t, base, "/api/v2/alerts", keys["prom"], false, promBody); code != 200 || len(data) != 0 {
		t.Fatalf("POST /api/v2/alerts = %d %s", code, data)
	}
	if code, _, data := ingest(t, base, "/api/v2/alerts", keys["prom"], true, promBody); code != 200 {
		t.Fatalf("POST /api/v2/alerts with basic auth = %d %s", code, data)
	}
	got := admin.alerts("?status=firing&label=alertname=HighRequestLatency")
	if len(got) != 1 || got[0].RefreshCount != 2 || got[0].Integration != "prom" || got[0].Severity != "page" ||
		got[0].Summary != "High request latency on api-1" || got[0].Source != "alertmanager" {
		t.Fatalf("alerts = %+v", got)
	}

	// A bad alert rejects the batch: 400 naming it, nothing written.
	bad := `[{"labels":{"alertname":"New"}},{"labels":{}}]`
	code, _, data := ingest(t, base, "/api/v2/alerts", keys["prom"], false, bad)
	if code != 400 || !strings.Contains(string(data), "alerts[1].labels: must not be empty") {
		t.Errorf("bad batch = %d %s", code, data)
	}
	for _, tc := range []struct {
		key, body string
		want      int
	}{
		{"", promBody, 401},
		{"gcik_unknown", promBody, 401},
		{keys["pd"], promBody, 403},
		{keys["prom"], `{"labels":{}}`, 400},
		{keys["prom"], `[{"labels":{"bad-name":"x"}}]`, 400},
		{keys["prom"], `[{"labels":{"a":"b"},"startsAt":"2099-01-01T00:00:00Z"}]`, 400},
		{keys["prom"], `[{"labels":{"a":"b"}}]` + strings.Repeat(" ", 5<<20), 413},
	} {
		if code, _, data := ingest(t, base, "/api/v2/alerts", tc.key, false, tc.body); code != tc.want {
			t.Errorf("key %.8s body %.40s = %d, want %d: %s", tc.key, tc.body, code, tc.want, data)
		}
	}
	if n := len(admin.alerts("")); n != 2 {
		t.Fatalf("%d alerts after the bad requests, want 2", n)
	}

	// PagerDuty's own example event, with our key as routing_key.
	pdBody := `{
  "payload": {
    "summary": "Example alert on host1.example.com",
    "timestamp": "2015-07-17T08:42:58.315+0000",
    "source": "monitoringtool:cloudvendor:central-region-dc-01:852559987:cluster/api-stats-prod-003",
    "severity": "info",
    "component": "postgres",
    "group": "prod-datapipe",
    "class": "deploy",
    "custom_details": {
      "ping time": "1500ms",
      "load avg": 0.75
    }
  },
  "routing_key": "` + keys["pd"] + `",
  "dedup_key": "samplekeyhere",
  "images": [{
    "src": "https://www.pagerduty.com/wp-content/uploads/2016/05/pagerduty-logo-green.png",
    "href": "https://example.com/",
    "alt": "Example text"
  }],
  "links": [{
    "href": "https://example.com/",
    "text": "Link text"
  }],
  "event_action": "trigger",
  "client": "Sample Monitoring Service",
  "client_url": "https://monitoring.example.com"
}`
	code, _, data = ingest(t, base, "/v2/enqueue", "", false, pdBody)
	var pd struct {
		Status, Message string
		DedupKey        string `json:"dedup_key"`
		Errors          []string
	}
	_ = json.Unmarshal(data, &pd)
	if code != 202 || pd.Status != "success" || pd.Message != "Event processed" || pd.DedupKey != "samplekeyhere" {
		t.Fatalf("PagerDuty trigger = %d %s", code, data)
	}
	var detail alertView
	admin.must(200, "GET", "/api/v1/alerts/samplekeyhere", nil, &detail)
	if detail.Severity != "info" || detail.Annotations["custom_details"] != `{"ping time":"1500ms","load avg":0.75}` ||
		detail.Labels["component"] != "postgres" || len(detail.History) != 1 || detail.History[0].Integration != "pd" {
		t.Errorf("PagerDuty alert = %+v", detail)
	}
	code, _, data = ingest(t, base, "/v2/enqueue", "", false, `{"routing_key":"`+keys["pd"]+`","event_action":"resolve","dedup_key":"samplekeyhere"}`)
	if code != 202 {
		t.Errorf("PagerDuty resolve = %d %s", code, data)
	}
	code, _, data = ingest(t, base, "/v2/enqueue", "", false, `{"routing_key":"`+keys["pd"]+`","event_action":"trigger","payload":{"summary":"x","source":"y","severity":"fatal"}}`)
	pd.Errors = nil
	_ = json.Unmarshal(data, &pd)
	if code != 400 || pd.Status != "invalid event" || len(pd.Errors) != 1 || !strings.Contains(pd.Errors[0], "payload.severity") {
		t.Errorf("PagerDuty invalid event = %d %s", code, data)
	}
	if code, _, data := ingest(t, base, "/v2/enqueue", "", false, `{"routing_key":"gcik_nope","event_action":"trigger"}`); code != 401 {
		t.Errorf("PagerDuty unknown routing key = %d %s", code, data)
	}

	// An Alertmanager webhook receiver's post (version 4).
	amWebhook := `{"version":"4","groupKey":"{}:{alertname=\"DiskFull\"}","truncatedAlerts":0,"status":"firing","receiver":"groundcrew",
		"groupLabels":{"alertname":"DiskFull"},"commonLabels":{"alertname":"DiskFull"},"commonAnnotations":{},"externalURL":"http://am:9093",
		"alerts":[{"status":"firing","labels":{"alertname":"DiskFull","instance":"db1"},"annotations":{"summary":"/ is 95% full"},
		"startsAt":"` + now.Format(time.RFC3339) + `","endsAt":"0001-01-01T00:00:00Z","generatorURL":"http://prom/graph","fingerprint":"1a2b3c4d5e6f7a8b"}]}`
	if code, _, data := ingest(t, base, "/api/v1/integrations/alertmanager-webhook", keys["prom"], false, amWebhook); code != 200 {
		t.Errorf("Alertmanager webhook = %d %s", code, data)
	}
	// The generic webhook.
	code, _, data = ingest(t, base, "/api/v1/integrations/webhook", keys["wh"], false, `{"summary":"backup failed","severity":"critical","dedup_key":"backup-nightly","details":"exit 1"}`)
	if code != 202 || !strings.Contains(string(data), `"alert_status":"firing"`) {
		t.Errorf("webhook = %d %s", code, data)
	}
	if n := len(admin.alerts("?status=firing")); n != 4 {
		t.Errorf("%d alerts firing, want 4 (latency, watchdog, disk, backup)", n)
	}

	// Revoked keys are refused.
	admin.must(204, "DELETE", "/api/v1/integrations/wh", nil, nil)
	if code, _, _ := ingest(t, base, "/api/v1/integrations/webhook", keys["wh"], false, `{"summary":"x","dedup_key":"y"}`); code != 401 {
		t.Errorf("revoked key = %d, want 401", code)
	}

	// Rate limit: the default burst is 500 requests, then 429 with Retry-After.
	var last int
	var hdr http.Header
	for i := 0; i < 5000 && last != 429; i++ {
		last, hdr, _ = ingest(t, base, "/api/v2/alerts", keys["prom"], false, `x`)
	}
	if last != 429 || hdr.Get("Retry-After") == "" {
		t.Errorf("after up to 5000 requests: %d, Retry-After %q; want 429 with Retry-After", last, hdr.Get("Retry-After"))
	}
}

// TestAlerts_CheckDown: a check going DOWN fires an alert through the same
// store, labelled with the check, service and environment.
func TestAlerts_CheckDown(t *testing.T) {
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
	}))
	defer target.Close()
	base := startServerWith(t, "")
	admin := login(t, base, "admin", adminPassword, "write")
	admin.must(201, "POST", "/api/v1/environments", map[string]any{"name": "prod", "criticality": "high"}, nil)
	admin.must(201, "POST", "/api/v1/teams", map[string]any{"name": "platform"}, nil)
	admin.must(201, "POST", "/api/v1/services", map[string]any{"name": "web", "owner": "platform", "tier": 1, "environments": []string{"prod"}}, nil)
	admin.must(201, "POST", "/api/v1/checks", map[string]any{"name": "web-health", "service": "web", "environment": "prod",
		"type": "http", "interval": "100ms", "timeout": "90ms", "http": map[string]any{"url": target.URL}}, nil)
	deadline := time.Now().Add(15 * time.Second)
	for {
		got := admin.alerts("?status=firing&service=web")
		if len(got) == 1 {
			a := got[0]
			if a.Labels["alertname"] != "CheckDown" || a.Labels["check"] != "web-health" || a.Labels["environment"] != "prod" ||
				a.Severity != "critical" || a.Source != "check" || a.Annotations["reason"] == "" {
				t.Fatalf("check alert = %+v", a)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no alert 15 s after the check started failing: %+v", got)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
