package notify

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"groundcrew.dev/groundcrew/internal/clock"
)

func TestWebhook_Send(t *testing.T) {
	fake := clock.NewFake(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	r := newRecorder(t)
	const secret = "s3cret-s3cret-s3cret"
	hook, err := NewWebhook(WebhookConfig{URL: r.URL + "/hook", Secret: secret, BearerToken: "tok"}, Options{Clock: fake})
	if err != nil {
		t.Fatal(err)
	}
	n := testNotification()
	if err := hook.Send(t.Context(), n); err != nil {
		t.Fatal(err)
	}
	req := r.requests()[0]
	if got := req.Header.Get("Authorization"); got != "Bearer tok" {
		t.Errorf("Authorization %q", got)
	}
	sig := req.Header.Get(SignatureHeader)
	if !strings.HasPrefix(sig, "t="+strconv.FormatInt(fake.Now().Unix(), 10)+",v1=") {
		t.Errorf("signature header %q", sig)
	}
	if err := Verify(secret, sig, req.Body, fake.Now().Add(time.Minute), 0); err != nil {
		t.Errorf("Verify: %v", err)
	}
	if err := Verify("another-secret-1234", sig, req.Body, fake.Now(), 0); !errors.Is(err, ErrSignatureMismatch) {
		t.Errorf("Verify with the wrong secret: %v", err)
	}

	// The body is Alertmanager's version 4 payload, as a receiver written
	// for Alertmanager decodes it.
	var got map[string]any
	if err := json.Unmarshal(req.Body, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"version": "4", "groupKey": n.GroupKey, "truncatedAlerts": 0.0, "status": "firing", "receiver": "team-payments",
		"groupLabels":       map[string]any{"alertname": "DiskFull"},
		"commonLabels":      map[string]any{"alertname": "DiskFull", "severity": "critical", "service": "payments-api"},
		"commonAnnotations": map[string]any{"summary": "disk / is full", "description": "95% used", "runbook_url": "https://example.com/rb"},
		"externalURL":       "https://gc.example.com",
		"alerts": []any{
			map[string]any{
				"status": "firing", "labels": map[string]any{"alertname": "DiskFull", "severity": "critical", "service": "payments-api"},
				"annotations": map[string]any{"summary": "disk / is full <script>", "description": "95% used & growing"},
				"startsAt":    "2026-01-02T03:04:05Z", "endsAt": "0001-01-01T00:00:00Z",
				"generatorURL": "https://prom.example.com/g", "fingerprint": "abc",
				"links": map[string]any{"acknowledge": "https://gc.example.com/a", "resolve": "https://gc.example.com/r", "silence": "https://gc.example.com/s"},
			},
			map[string]any{
				"status": "resolved", "labels": map[string]any{"alertname": "DiskFull", "severity": "critical", "service": "payments-api"},
				"annotations": map[string]any{"summary": "disk / is full", "description": "95% used", "runbook_url": "https://example.com/rb"},
				"startsAt":    "2026-01-02T03:04:05Z", "endsAt": "2026-01-02T04:04:05Z",
				"generatorURL": "", "fingerprint": "def",
			},
		},
		"groundcrew": map[string]any{
			"reason": "new_alerts",
			"links":  map[string]any{"acknowledge": "https://gc.example.com/a", "resolve": "https://gc.example.com/r", "silence": "https://gc.example.com/s"},
		},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("body (-want +got):\n%s", d)
	}
}

func TestWebhook_TruncatesAndUnsigned(t *testing.T) {
	r := newRecorder(t)
	hook, err := NewWebhook(WebhookConfig{URL: r.URL, MaxAlerts: 1}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	n := testNotification()
	n.GroupLabels, n.CommonAnnotations = nil, nil
	if err := hook.Send(t.Context(), n); err != nil {
		t.Fatal(err)
	}
	req := r.requests()[0]
	if h := req.Header.Get(SignatureHeader); h != "" {
		t.Errorf("unsigned webhook sent %s: %q", SignatureHeader, h)
	}
	var m WebhookMessage
	if err := json.Unmarshal(req.Body, &m); err != nil {
		t.Fatal(err)
	}
	if m.TruncatedAlerts != 1 || len(m.Alerts) != 1 || m.Alerts[0].Status != Firing {
		t.Errorf("truncated %d, alerts %+v", m.TruncatedAlerts, m.Alerts)
	}
	if !strings.Contains(string(req.Body), `"groupLabels":{}`) || !strings.Contains(string(req.Body), `"commonAnnotations":{}`) {
		t.Errorf("empty maps must be {} as Alertmanager sends them: %s", req.Body)
	}
}

func TestVerify(t *testing.T) {
	const secret = "0123456789abcdef"
	body := []byte(`{"version":"4"}`)
	at := time.Unix(1_700_000_000, 0)
	good := Sign(secret, body, at)
	other := Sign("fedcba9876543210", body, at)
	_, otherSig, _ := strings.Cut(other, ",")
	tests := []struct {
		name   string
		header string
		body   []byte
		now    time.Time
		tol    time.Duration
		want   error
	}{
		{"valid", good, body, at, 0, nil},
		{"valid at the edge of the tolerance", good, body, at.Add(5 * time.Minute), 0, nil},
		{"replayed after the tolerance", good, body, at.Add(5*time.Minute + time.Second), 0, ErrSignatureExpired},
		{"from the future", good, body, at.Add(-6 * time.Minute), 0, ErrSignatureExpired},
		{"custom tolerance", good, body, at.Add(time.Hour), 2 * time.Hour, nil},
		{"tampered body", good, []byte(`{"version":"5"}`), at, 0, ErrSignatureMismatch},
		{"other secret", other, body, at, 0, ErrSignatureMismatch},
		{"rotation: second v1 matches", other + "," + strings.Split(good, ",")[1], body, at, 0, nil},
		{"timestamp changed", "t=1700000001," + strings.Split(good, ",")[1], body, at, 0, ErrSignatureMismatch},
		{"unknown scheme ignored", good + ",v0=abc", body, at, 0, nil},
		{"spaces", strings.ReplaceAll(good, ",", " , "), body, at, 0, nil},
		{"empty", "", body, at, 0, ErrSignatureMissing},
		{"no t", otherSig, body, at, 0, ErrSignatureMalformed},
		{"no v1", "t=1700000000", body, at, 0, ErrSignatureMalformed},
		{"two t", "t=1," + good, body, at, 0, ErrSignatureMalformed},
		{"negative t", "t=-1,v1=" + strings.Repeat("0", 64), body, at, 0, ErrSignatureMalformed},
		{"t overflows", "t=99999999999999999999,v1=" + strings.Repeat("0", 64), body, at, 0, ErrSignatureMalformed},
		{"short v1", "t=1700000000,v1=abcd", body, at, 0, ErrSignatureMalformed},
		{"not hex", "t=1700000000,v1=" + strings.Repeat("z", 64), body, at, 0, ErrSignatureMalformed},
		{"no equals", "t=1700000000,v1", body, at, 0, ErrSignatureMalformed},
		{"huge", good + strings.Repeat(",x=y", 2000), body, at, 0, ErrSignatureMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Verify(secret, tc.header, tc.body, tc.now, tc.tol)
			if !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
				t.Errorf("Verify = %v, want %v", err, tc.want)
			}
		})
	}
}

func FuzzVerify(f *testing.F) {
	const secret = "0123456789abcdef"
	at := time.Unix(1_700_000_000, 0)
	f.Add(Sign(secret, []byte("body"), at), []byte("body"))
	f.Add("t=1,v1=", []byte(""))
	f.Add("t=,v1=00,t=2", []byte("x"))
	f.Add(",,,==,t==1", []byte("x"))
	f.Fuzz(func(t *testing.T, header string, body []byte) {
		err := Verify(secret, header, body, at, 0)
		if err == nil {
			// Accepted: the header must carry the body's true signature.
			ts, sigs, perr := parseSignature(header)
			if perr != nil || len(sigs) == 0 {
				t.Fatalf("accepted a header that does not parse: %q", header)
			}
			if !strings.Contains(strings.ToLower(header), signature(secret, ts, body)) {
				t.Fatalf("accepted %q without the body's signature", header)
			}
		}
		// Whatever the body, a fresh signature verifies.
		if err := Verify(secret, Sign(secret, body, at), body, at, 0); err != nil {
			t.Fatalf("own signature rejected: %v", err)
		}
	})
}
