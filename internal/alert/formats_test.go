package alert_test

import (
	"strings"
	"testing"
	"time"

	"groundcrew.dev/groundcrew/internal/alert"
	"groundcrew.dev/groundcrew/internal/errs"
)

func TestParseAlertmanager(t *testing.T) {
	got, err := alert.ParseAlertmanager([]byte(`[{"labels":{"alertname":"A","job":"x"},"annotations":{"summary":"s"},
		"startsAt":"2026-06-03T09:50:00.123Z","endsAt":"0001-01-01T00:00:00Z","generatorURL":"http://prom/graph"}]`))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Labels["job"] != "x" || !got[0].EndsAt.IsZero() || got[0].StartsAt.Nanosecond() != 123e6 || got[0].GeneratorURL != "http://prom/graph" {
		t.Fatalf("parsed %+v", got)
	}
	for _, tc := range []struct{ body, field, msg string }{
		{`{}`, "", "must be an array"},
		{`[{"labels":{"a":"b"}},{"labels":{}}]`, "alerts[1].labels", "must not be empty"},
		{`[{"labels":{"a":1}}]`, "alerts[0].labels", "must be a string"},
		{`[{"labels":{"a":"b"},"startsAt":"yesterday"}]`, "alerts[0]", "not an RFC 3339 time"},
		{`[{"labels":{"a":"b"}}] []`, "", "data after the value"},
		{`[`, "", "malformed JSON"},
	} {
		_, err := alert.ParseAlertmanager([]byte(tc.body))
		if !errs.Is(err, errs.Invalid) || errs.FieldOf(err) != tc.field || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: %v (field %q), want %s: …%s", tc.body, err, errs.FieldOf(err), tc.field, tc.msg)
		}
	}
}

func TestParsePagerDuty(t *testing.T) {
	for _, tc := range []struct{ body, field string }{
		{`{"event_action":"trigger"}`, "routing_key"},
		{`{"routing_key":"k","event_action":"page"}`, "event_action"},
		{`{"routing_key":"k","event_action":"resolve"}`, "dedup_key"},
		{`{"routing_key":"k","event_action":"trigger"}`, "payload"},
		{`{"routing_key":"k","event_action":"trigger","payload":{"source":"s","severity":"info"}}`, "payload.summary"},
		{`{"routing_key":"k","event_action":"trigger","payload":{"summary":"x","severity":"info"}}`, "payload.source"},
		{`{"routing_key":"k","event_action":"trigger","payload":{"summary":"x","source":"s","severity":"info","timestamp":"noon"}}`, "payload.timestamp"},
	} {
		if _, err := alert.ParsePagerDuty([]byte(tc.body)); !errs.Is(err, errs.Invalid) || errs.FieldOf(err) != tc.field {
			t.Errorf("%s: %v, want field %s", tc.body, err, tc.field)
		}
	}
	ev, err := alert.ParsePagerDuty([]byte(`{"routing_key":"k","event_action":"trigger","payload":{"summary":"x","source":"s","severity":"info","timestamp":"2015-07-17T08:42:58.315+0000"}}`))
	if err != nil || !ev.Alert.StartsAt.Equal(time.Date(2015, 7, 17, 8, 42, 58, 315e6, time.UTC)) || len(ev.Alert.DedupKey) != 32 {
		t.Fatalf("parsed %+v, %v", ev, err)
	}
}

func TestFingerprint(t *testing.T) {
	a := alert.Fingerprint(map[string]string{"a": "1", "b": "2"})
	if a != alert.Fingerprint(map[string]string{"b": "2", "a": "1"}) {
		t.Error("fingerprint depends on map order")
	}
	if a == alert.Fingerprint(map[string]string{"a": "12"}) || a == alert.Fingerprint(map[string]string{"a": "1", "b": "2", "c": ""}) {
		t.Error("different label sets share a fingerprint")
	}
}

// checkParsed asserts what every parser guarantees: errors are Invalid,
// and what parses validates without panicking to nil or Invalid.
func checkParsed(t *testing.T, alerts []alert.Incoming, err error) {
	if err != nil {
		if !errs.Is(err, errs.Invalid) {
			t.Fatalf("parse error without code Invalid: %v", err)
		}
		return
	}
	now := time.Date(2026, 6, 3, 10, 0, 0, 0, time.UTC)
	for _, in := range alerts {
		if err := in.Validate(now, time.Hour); err != nil && !errs.Is(err, errs.Invalid) {
			t.Fatalf("validate: %v", err)
		}
		if alert.Fingerprint(in.Labels) != alert.Fingerprint(in.Labels) {
			t.Fatal("fingerprint is not stable")
		}
	}
}

func FuzzParseAlertmanager(f *testing.F) {
	f.Add([]byte(`[{"labels":{"alertname":"A"},"annotations":{"summary":"s"},"startsAt":"2026-06-03T09:50:00Z","endsAt":"0001-01-01T00:00:00Z","generatorURL":"x"}]`))
	f.Add([]byte(`[{"labels":{}}]`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, body []byte) {
		got, err := alert.ParseAlertmanager(body)
		checkParsed(t, got, err)
	})
}

func FuzzParseAlertmanagerWebhook(f *testing.F) {
	f.Add([]byte(`{"version":"4","status":"firing","alerts":[{"status":"resolved","labels":{"a":"b"},"endsAt":"2026-06-03T09:50:00Z"}]}`))
	f.Add([]byte(`{"version":"3"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		got, err := alert.ParseAlertmanagerWebhook(body)
		checkParsed(t, got, err)
	})
}

func FuzzParsePagerDuty(f *testing.F) {
	f.Add([]byte(`{"routing_key":"k","event_action":"trigger","dedup_key":"d","payload":{"summary":"x","source":"s","severity":"info","timestamp":"2015-07-17T08:42:58.315+0000","custom_details":{"a":1}},"links":[{"href":"h"}]}`))
	f.Add([]byte(`{"routing_key":"k","event_action":"acknowledge","dedup_key":"d"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, err := alert.ParsePagerDuty(body)
		var list []alert.Incoming
		if err == nil {
			if ev.RoutingKey == "" || ev.Alert.DedupKey == "" {
				t.Fatalf("parsed without routing or dedup key: %+v", ev)
			}
			list = []alert.Incoming{ev.Alert}
		}
		checkParsed(t, list, err)
	})
}

func FuzzParseWebhook(f *testing.F) {
	f.Add([]byte(`{"summary":"backup failed","details":{"exit":1},"severity":"critical","dedup_key":"b","labels":{"job":"backup"},"status":"firing"}`))
	f.Add([]byte(`{"status":"resolved","dedup_key":"b"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		in, err := alert.ParseWebhook(body)
		var list []alert.Incoming
		if err == nil {
			list = []alert.Incoming{in}
		}
		checkParsed(t, list, err)
	})
}
