package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"groundcrew.dev/groundcrew/internal/apply"
	"groundcrew.dev/groundcrew/internal/config"
	"groundcrew.dev/groundcrew/internal/notify"
	"groundcrew.dev/groundcrew/internal/server"
)

// syncBuffer is a bytes.Buffer safe for the server's concurrent logging.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// hookServer is a loopback webhook receiver answering from a script of
// statuses (the last one repeats), recording each request.
type hookServer struct {
	*httptest.Server
	mu       sync.Mutex
	statuses []int
	reqs     []*http.Request
	bodies   [][]byte
	times    []time.Time
}

func newHookServer(t *testing.T, statuses ...int) *hookServer {
	h := &hookServer{statuses: statuses}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		h.mu.Lock()
		status := h.statuses[min(len(h.reqs), len(h.statuses)-1)]
		h.reqs, h.bodies, h.times = append(h.reqs, r), append(h.bodies, b), append(h.times, time.Now())
		h.mu.Unlock()
		if status == http.StatusServiceUnavailable {
			w.Header().Set("Retry-After", "1")
		}
		w.WriteHeader(status)
		io.WriteString(w, "answer")
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *hookServer) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.reqs)
}

const (
	rcvHookSecret = "e2e-hmac-secret-0123456789"
	rcvToken      = "e2e-bearer-token-0123"
	rcvSlackPath  = "/services/T000/B000/E2ESLACKSECRET"
)

var rcvSecrets = []string{rcvHookSecret, rcvToken, "E2ESLACKSECRET"}

func assertNoReceiverSecrets(t *testing.T, what string, data []byte) {
	t.Helper()
	for _, s := range rcvSecrets {
		if bytes.Contains(data, []byte(s)) {
			t.Errorf("%s contains the secret %q: %s", what, s, data)
		}
	}
}

// waitDelivery polls a delivery until it is no longer pending.
func waitDelivery(t *testing.T, c *client, id string) notify.Delivery {
	t.Helper()
	var d notify.Delivery
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		c.must(200, "GET", "/api/v1/deliveries/"+id, nil, &d)
		if d.Status != notify.DeliveryPending {
			return d
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("delivery %s still pending after 30 s: %+v", id, d)
	return d
}

func TestReceivers_EndToEnd(t *testing.T) {
	dir := t.TempDir()
	logs := &syncBuffer{}
	srv := server.New(config.Config{Listen: "127.0.0.1:0", DataDir: dir, Database: "sqlite://" + filepath.Join(dir, "groundcrew.db"),
		LogFormat: "text", LogLevel: "debug", BaseURL: "http://127.0.0.1:0"}, server.Options{
		Getenv: func(k string) string {
			if k == "GROUNDCREW_ADMIN_PASSWORD" {
				return adminPassword
			}
			return ""
		},
		Out: logs, LeaseTTL: testLeaseTTL, CheckLimits: testCheckLimits,
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Start(ctx); err != nil {
		t.Fatalf("start server: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	admin := login(t, srv.URL(), "admin", adminPassword, "write")

	hook := newHookServer(t, http.StatusServiceUnavailable, http.StatusOK)
	slack := newHookServer(t, http.StatusOK)
	bad := newHookServer(t, http.StatusBadRequest)
	body := map[string]any{"name": "ops", "description": "the Ops team", "channels": []any{
		map[string]any{"webhook": map[string]any{"url": hook.URL + "/alerts", "secret": rcvHookSecret, "bearer_token": rcvToken}},
		map[string]any{"slack": map[string]any{"url": slack.URL + rcvSlackPath}},
	}}
	_, _, data := admin.do("POST", "/api/v1/receivers", body)
	assertNoReceiverSecrets(t, "the create response", data)
	var created notify.Receiver
	if err := json.Unmarshal(data, &created); err != nil || created.Revision != 1 {
		t.Fatalf("create: %s", data)
	}
	if created.Channels[0].Webhook.Secret != notify.Redacted || created.Channels[1].Slack.URL != notify.Redacted {
		t.Errorf("secrets not redacted: %+v", created.Channels)
	}
	for _, path := range []string{"/api/v1/receivers", "/api/v1/receivers/ops", "/api/v1/documents/receivers"} {
		_, _, data := admin.do("GET", path, nil)
		assertNoReceiverSecrets(t, "GET "+path, data)
	}

	// 503 with Retry-After: 1, then 200: delivered after two attempts.
	var test struct{ Deliveries []string }
	admin.must(202, "POST", "/api/v1/receivers/ops/test", nil, &test)
	if len(test.Deliveries) != 2 {
		t.Fatalf("test enqueued %v", test.Deliveries)
	}
	d := waitDelivery(t, admin, test.Deliveries[0])
	if d.Status != notify.DeliveryDelivered || d.Attempts != 2 || len(d.AttemptLog) != 2 || d.AttemptLog[0].StatusCode != 503 || !d.AttemptLog[1].OK {
		t.Errorf("webhook delivery = %+v", d)
	}
	if hook.count() != 2 {
		t.Errorf("webhook received %d requests, want 2", hook.count())
	} else if gap := hook.times[1].Sub(hook.times[0]); gap < 900*time.Millisecond {
		t.Errorf("retry came %v after the 503, before its Retry-After: 1", gap)
	}
	hook.mu.Lock()
	r, b := hook.reqs[1], hook.bodies[1]
	hook.mu.Unlock()
	if err := notify.Verify(rcvHookSecret, r.Header.Get(notify.SignatureHeader), b, time.Now(), time.Minute); err != nil {
		t.Errorf("signature: %v", err)
	}
	if got := r.Header.Get("Authorization"); got != "Bearer "+rcvToken {
		t.Errorf("Authorization = %q", got)
	}
	if d := waitDelivery(t, admin, test.Deliveries[1]); d.Status != notify.DeliveryDelivered || slack.count() != 1 {
		t.Errorf("slack delivery = %+v, %d requests", d, slack.count())
	}

	// Export and apply back: unchanged, and the secrets still work.
	var exported struct{ Items []apply.Document }
	admin.must(200, "GET", "/api/v1/documents/receivers", nil, &exported)
	var res apply.Result
	admin.must(200, "POST", "/api/v1/apply", map[string]any{"documents": exported.Items}, &res)
	if len(res.Changes) != 1 || res.Changes[0].Action != "unchanged" {
		t.Errorf("applying the export = %+v, want unchanged", res)
	}
	// A changed description with the redacted secrets keeps them.
	var docs []map[string]any
	raw, _ := json.Marshal(exported.Items)
	json.Unmarshal(raw, &docs)
	docs[0]["spec"].(map[string]any)["description"] = "changed"
	admin.must(200, "POST", "/api/v1/apply", map[string]any{"documents": docs}, &res)
	if res.Changes[0].Action != "configured" {
		t.Errorf("apply of a changed description = %+v", res)
	}
	hook.mu.Lock()
	hook.statuses = []int{http.StatusOK}
	hook.mu.Unlock()
	admin.must(202, "POST", "/api/v1/receivers/ops/test", nil, &test)
	if d := waitDelivery(t, admin, test.Deliveries[0]); d.Status != notify.DeliveryDelivered {
		t.Errorf("after the round trip: %+v", d)
	}
	hook.mu.Lock()
	r, b = hook.reqs[len(hook.reqs)-1], hook.bodies[len(hook.bodies)-1]
	hook.mu.Unlock()
	if err := notify.Verify(rcvHookSecret, r.Header.Get(notify.SignatureHeader), b, time.Now(), time.Minute); err != nil {
		t.Errorf("signature after the round trip: %v", err)
	}

	// 400: failed after one attempt, the status in last_error, logged.
	admin.must(201, "POST", "/api/v1/receivers", map[string]any{"name": "bad", "channels": []any{
		map[string]any{"webhook": map[string]any{"url": bad.URL, "secret": rcvHookSecret}}}}, nil)
	admin.must(202, "POST", "/api/v1/receivers/bad/test", nil, &test)
	d = waitDelivery(t, admin, test.Deliveries[0])
	if d.Status != notify.DeliveryFailed || d.Attempts != 1 || !strings.Contains(d.LastError, "400") || bad.count() != 1 {
		t.Errorf("failed delivery = %+v", d)
	}
	if !strings.Contains(logs.String(), "notification delivery failed") {
		t.Errorf("the failure was not logged")
	}
	// …and raised as an alert, so that operators learn people were not told.
	var failed struct {
		Items []struct {
			Labels  map[string]string
			Summary string
		}
	}
	admin.must(200, "GET", "/api/v1/alerts?status=firing", nil, &failed)
	if len(failed.Items) != 1 || failed.Items[0].Labels["alertname"] != "NotificationFailed" || failed.Items[0].Labels["receiver"] != "bad" ||
		!strings.Contains(failed.Items[0].Summary, "400") {
		t.Errorf("alerts after a failed delivery = %+v", failed.Items)
	}
	var list struct{ Items []notify.Delivery }
	admin.must(200, "GET", "/api/v1/deliveries?status=failed", nil, &list)
	if len(list.Items) != 1 || list.Items[0].ID.String() != test.Deliveries[0] {
		t.Errorf("failed deliveries = %+v", list.Items)
	}
	admin.must(200, "GET", "/api/v1/deliveries?receiver=ops", nil, &list)
	if len(list.Items) != 4 {
		t.Errorf("ops has %d deliveries, want 4 (two tests, two channels)", len(list.Items))
	}

	// Bad YAML names the field.
	yamlDocs, err := apply.Parse("bad.yaml", []byte(`apiVersion: groundcrew.dev/v1
kind: Receiver
metadata: {name: mail}
spec:
  channels:
    - email:
        from: alerts@example.com
        to: [ops@example.com]
        smtp: {host: smtp.example.com, port: 70000}
`))
	if err != nil {
		t.Fatal(err)
	}
	code, _, data := admin.do("POST", "/api/v1/apply", map[string]any{"documents": yamlDocs})
	if code != 400 && code != 422 || !strings.Contains(string(data), "spec.channels[0].email.smtp.port") {
		t.Errorf("bad smtp port = %d %s", code, data)
	}

	// Nothing shows a secret: audit log, logs.
	_, _, data = admin.do("GET", "/api/v1/audit?limit=500", nil)
	if !strings.Contains(string(data), `"receiver"`) {
		t.Errorf("audit log has no receiver record: %.300s", data)
	}
	assertNoReceiverSecrets(t, "the audit log", data)
	assertNoReceiverSecrets(t, "the server log", []byte(logs.String()))
}
