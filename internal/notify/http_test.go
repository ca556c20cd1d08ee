package notify

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"groundcrew.dev/groundcrew/internal/clock"
	"groundcrew.dev/groundcrew/internal/errs"
)

const secretPath = "/services/T000/B000/XXXXSECRETXXXX"

func TestSlack_Send(t *testing.T) {
	r := newRecorder(t)
	s, err := NewSlack(SlackConfig{URL: r.URL + secretPath, Channel: "#ops"}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(t.Context(), testNotification()); err != nil {
		t.Fatal(err)
	}
	reqs := r.requests()
	if len(reqs) != 1 {
		t.Fatalf("got %d requests, want 1", len(reqs))
	}
	req := reqs[0]
	if req.Method != http.MethodPost || req.Path != secretPath || req.Header.Get("Content-Type") != "application/json" {
		t.Errorf("request %s %s %q", req.Method, req.Path, req.Header.Get("Content-Type"))
	}
	var msg slackMessage
	if err := json.Unmarshal(req.Body, &msg); err != nil {
		t.Fatal(err)
	}
	if msg.Channel != "#ops" || len(msg.Attachments) != 1 {
		t.Fatalf("message %+v", msg)
	}
	a := msg.Attachments[0]
	if a.Title != "[FIRING:1] DiskFull" || a.Color != colorFiring || a.TitleLink != "https://gc.example.com" {
		t.Errorf("title %q color %q link %q", a.Title, a.Color, a.TitleLink)
	}
	for _, want := range []string{"*new alerts*: 1 firing, 1 resolved", "disk / is full &lt;script&gt;", "95% used &amp; growing", "<https://prom.example.com/g|source> <https://gc.example.com/a|acknowledge>"} {
		if !strings.Contains(a.Text, want) {
			t.Errorf("text lacks %q:\n%s", want, a.Text)
		}
	}
	wantFields := []slackField{{"alertname", "DiskFull", true}, {"service", "payments-api", true}, {"severity", "critical", true}}
	if d := cmp.Diff(wantFields, a.Fields); d != "" {
		t.Errorf("fields (-want +got):\n%s", d)
	}
	wantActions := []slackAction{
		{"button", "Acknowledge", "https://gc.example.com/a", "primary"},
		{"button", "Resolve", "https://gc.example.com/r", ""},
		{"button", "Silence", "https://gc.example.com/s", "danger"},
	}
	if d := cmp.Diff(wantActions, a.Actions); d != "" {
		t.Errorf("actions (-want +got):\n%s", d)
	}

	// Resolved: green; warning: orange.
	n := testNotification()
	n.Alerts = n.Alerts[1:]
	if err := s.Send(t.Context(), n); err != nil {
		t.Fatal(err)
	}
	n = testNotification()
	n.CommonLabels = map[string]string{"severity": "warning"}
	if err := s.Send(t.Context(), n); err != nil {
		t.Fatal(err)
	}
	reqs = r.requests()
	for i, want := range []string{colorResolved, colorWarning} {
		var m slackMessage
		if err := json.Unmarshal(reqs[i+1].Body, &m); err != nil {
			t.Fatal(err)
		}
		if m.Attachments[0].Color != want {
			t.Errorf("request %d: color %q, want %q", i+1, m.Attachments[0].Color, want)
		}
	}
}

func TestSlack_Truncates(t *testing.T) {
	r := newRecorder(t)
	s, err := NewSlack(SlackConfig{URL: r.URL, MaxAlerts: 2}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	n := testNotification()
	// Five resolved then one firing: the firing one must be kept.
	res := n.Alerts[1]
	n.Alerts = []Alert{res, res, res, res, res, n.Alerts[0]}
	if err := s.Send(t.Context(), n); err != nil {
		t.Fatal(err)
	}
	var m slackMessage
	if err := json.Unmarshal(r.requests()[0].Body, &m); err != nil {
		t.Fatal(err)
	}
	text := m.Attachments[0].Text
	if !strings.Contains(text, "(4 more not shown)") || strings.Count(text, "• [") != 2 || !strings.Contains(text, "[FIRING]") {
		t.Errorf("text:\n%s", text)
	}
	if len(n.Alerts) != 6 || n.TruncatedAlerts != 0 {
		t.Error("Send changed the caller's notification")
	}
}

func TestTeams_Send(t *testing.T) {
	r := newRecorder(t)
	r.respond(http.StatusAccepted, "")
	tm, err := NewTeams(TeamsConfig{URL: r.URL + "/workflows/abc/triggers/manual/paths/invoke?sig=SECRETSIG"}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := tm.Send(t.Context(), testNotification()); err != nil {
		t.Fatal(err)
	}
	var msg struct {
		Type        string
		Attachments []struct {
			ContentType string
			ContentURL  *string
			Content     struct {
				Type, Version string
				Body          []map[string]any
				Actions       []teamsAction
			}
		}
	}
	if err := json.Unmarshal(r.requests()[0].Body, &msg); err != nil {
		t.Fatal(err)
	}
	if msg.Type != "message" || len(msg.Attachments) != 1 {
		t.Fatalf("message %+v", msg)
	}
	att := msg.Attachments[0]
	card := att.Content
	if att.ContentType != "application/vnd.microsoft.card.adaptive" || card.Type != "AdaptiveCard" || card.Version != "1.4" {
		t.Errorf("attachment %q card %q %q", att.ContentType, card.Type, card.Version)
	}
	if len(card.Body) != 3 {
		t.Fatalf("body has %d elements, want title, text, facts", len(card.Body))
	}
	if card.Body[0]["text"] != "[FIRING:1] DiskFull" || card.Body[0]["color"] != "Attention" {
		t.Errorf("title block %v", card.Body[0])
	}
	if text, _ := card.Body[1]["text"].(string); !strings.Contains(text, "**disk / is full <script>**: 95% used & growing [source](https://prom.example.com/g)") {
		t.Errorf("text block:\n%s", text)
	}
	if card.Body[2]["type"] != "FactSet" || len(card.Body[2]["facts"].([]any)) != 3 {
		t.Errorf("facts %v", card.Body[2])
	}
	if len(card.Actions) != 3 || card.Actions[0] != (teamsAction{"Action.OpenUrl", "Acknowledge", "https://gc.example.com/a"}) {
		t.Errorf("actions %+v", card.Actions)
	}
}

// TestHTTPChannels_Errors runs every webhook channel against the answers
// a receiver gives and checks the classification and that the URL's
// secret never shows.
func TestHTTPChannels_Errors(t *testing.T) {
	fake := clock.NewFake(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	r := newRecorder(t)
	url := r.URL + secretPath + "?sig=SECRETSIG"
	opts := Options{Clock: fake}
	slack, _ := NewSlack(SlackConfig{URL: url}, opts)
	teams, _ := NewTeams(TeamsConfig{URL: url}, opts)
	hook, _ := NewWebhook(WebhookConfig{URL: url, Secret: "0123456789abcdef"}, opts)
	channels := map[string]Channel{"slack": slack, "teams": teams, "webhook": hook}
	tests := []struct {
		name       string
		status     int
		body       string
		kv         []string
		retryable  bool
		retryAfter time.Duration
		msg        string
	}{
		{"429 seconds", 429, "rate_limited", []string{"Retry-After", "7"}, true, 7 * time.Second, "HTTP 429: rate_limited"},
		{"503 date", 503, "", []string{"Retry-After", fake.Now().Add(90 * time.Second).Format(http.TimeFormat)}, true, 90 * time.Second, "HTTP 503"},
		{"500", 500, "oops\n\x00 internal", nil, true, 0, "HTTP 500: oops internal"},
		{"400", 400, "invalid_payload", nil, false, 0, "HTTP 400: invalid_payload"},
		{"404", 404, "no_service", nil, false, 0, "HTTP 404: no_service"},
		{"410", 410, "channel_is_archived", nil, false, 0, "HTTP 410"},
		{"huge body", 500, strings.Repeat("x", 100000), nil, true, 0, "HTTP 500: xxx"},
		{"302 elsewhere", 302, "", []string{"Location", "https://evil.example.com/steal"}, false, 0, "HTTP 302: redirect not followed (to https://evil.example.com)"},
	}
	for _, tc := range tests {
		for name, ch := range channels {
			t.Run(tc.name+"/"+name, func(t *testing.T) {
				r.respond(tc.status, tc.body, tc.kv...)
				err := ch.Send(t.Context(), testNotification())
				e := asError(t, err)
				if e.Channel != name || e.Status != tc.status || e.Retryable != tc.retryable || e.RetryAfter != tc.retryAfter {
					t.Errorf("got %+v", e)
				}
				if Retryable(err) != tc.retryable || RetryAfterOf(err) != tc.retryAfter {
					t.Error("Retryable/RetryAfterOf disagree with the error")
				}
				s := err.Error()
				if !strings.HasPrefix(s, name+": "+tc.msg) {
					t.Errorf("message %q, want prefix %q", s, name+": "+tc.msg)
				}
				if len(s) > 400 {
					t.Errorf("message is %d bytes long", len(s))
				}
				if strings.Contains(s, "SECRET") || strings.Contains(s, "XXXX") {
					t.Errorf("message leaks the URL: %q", s)
				}
			})
		}
	}
}

func TestHTTPChannels_NetworkErrors(t *testing.T) {
	r := newRecorder(t)
	url := r.URL + secretPath
	r.Close() // connection refused from now on
	hook, err := NewWebhook(WebhookConfig{URL: url}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	err = hook.Send(t.Context(), testNotification())
	e := asError(t, err)
	if !e.Retryable || strings.Contains(err.Error(), "SECRET") || !strings.Contains(err.Error(), "refused") {
		t.Errorf("connection refused: %v", err)
	}

	slow := newRecorder(t)
	done := make(chan struct{})
	t.Cleanup(func() { close(done) })
	slow.handler = func(w http.ResponseWriter, _ *http.Request) {
		select {
		case <-done:
		case <-time.After(5 * time.Second):
		}
	}
	hook, _ = NewWebhook(WebhookConfig{URL: slow.URL + secretPath}, Options{Timeout: 200 * time.Millisecond})
	start := time.Now()
	err = hook.Send(t.Context(), testNotification())
	if e := asError(t, err); !e.Retryable || strings.Contains(err.Error(), "SECRET") {
		t.Errorf("timeout: %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("timeout took %v", d)
	}

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := hook.Send(ctx, testNotification()); Retryable(err) {
		t.Errorf("cancelled: %v is retryable", err)
	}
}

func TestHTTPChannels_Redirects(t *testing.T) {
	r := newRecorder(t)
	r.handler = func(w http.ResponseWriter, req *http.Request) {
		switch req.URL.Path {
		case "/old":
			http.Redirect(w, req, "/new", http.StatusPermanentRedirect)
		case "/moved":
			http.Redirect(w, req, "/new", http.StatusFound) // would become a GET
		default:
			w.WriteHeader(http.StatusOK)
		}
	}
	hook, _ := NewWebhook(WebhookConfig{URL: r.URL + "/old"}, Options{})
	if err := hook.Send(t.Context(), testNotification()); err != nil {
		t.Fatalf("308 on the same host: %v", err)
	}
	reqs := r.requests()
	if len(reqs) != 2 || reqs[1].Path != "/new" || reqs[1].Method != http.MethodPost || len(reqs[1].Body) == 0 {
		t.Errorf("requests %+v", reqs)
	}
	hook, _ = NewWebhook(WebhookConfig{URL: r.URL + "/moved"}, Options{})
	err := hook.Send(t.Context(), testNotification())
	if e := asError(t, err); e.Retryable || e.Status != http.StatusFound {
		t.Errorf("302: %v", err)
	}
	if n := len(r.requests()); n != 3 {
		t.Errorf("302 was followed: %d requests", n)
	}
}

func TestConfigs_Validate(t *testing.T) {
	tests := []struct {
		name  string
		v     interface{ Validate() error }
		field string
	}{
		{"slack ok", &SlackConfig{URL: "https://hooks.slack.com/services/a"}, ""},
		{"slack no url", &SlackConfig{}, "url"},
		{"slack ftp", &SlackConfig{URL: "ftp://x/y"}, "url"},
		{"slack userinfo", &SlackConfig{URL: "https://u:p@x/y"}, "url"},
		{"slack bad title", &SlackConfig{URL: "https://x", Title: "{{ .Nope }}"}, "title"},
		{"slack unclosed", &SlackConfig{URL: "https://x", Text: "{{ range .Alerts }}"}, "text"},
		{"slack bad func", &SlackConfig{URL: "https://x", Text: "{{ nope . }}"}, "text"},
		{"slack max", &SlackConfig{URL: "https://x", MaxAlerts: -1}, "max_alerts"},
		{"teams ok", &TeamsConfig{URL: "https://x.logic.azure.com/w?sig=1", Title: "{{ .Receiver }}"}, ""},
		{"teams bad alert field", &TeamsConfig{URL: "https://x", Text: "{{ range .Alerts }}{{ .Severity }}{{ end }}"}, "text"},
		{"webhook ok", &WebhookConfig{URL: "http://127.0.0.1:9/x", Secret: "0123456789abcdef"}, ""},
		{"webhook short secret", &WebhookConfig{URL: "http://x", Secret: "short"}, "secret"},
		{"webhook bad token", &WebhookConfig{URL: "http://x", BearerToken: "a\nb"}, "bearer_token"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.v.Validate()
			if tc.field == "" {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if !errs.Is(err, errs.Invalid) || errs.FieldOf(err) != tc.field {
				t.Fatalf("got %v (field %q), want invalid %s", err, errs.FieldOf(err), tc.field)
			}
		})
	}
}
