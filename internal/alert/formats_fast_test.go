package alert

import (
	"encoding/json"
	"maps"
	"testing"
)

// v1Alertmanager is what encoding/json makes of an Alertmanager body: the
// reference the one-pass decoder must agree with.
func v1Alertmanager(body []byte) ([]Incoming, error) {
	var all []postableAlert
	if err := json.Unmarshal(body, &all); err != nil {
		return nil, err
	}
	out := make([]Incoming, 0, len(all))
	for _, a := range all {
		out = append(out, Incoming{Labels: a.Labels, Annotations: a.Annotations, StartsAt: a.StartsAt.UTC(),
			EndsAt: a.EndsAt.UTC(), GeneratorURL: a.GeneratorURL})
	}
	return out, nil
}

// sameAlerts compares what both decoders made, nil and empty maps apart.
func sameAlerts(t *testing.T, body []byte, fast, ref []Incoming) {
	t.Helper()
	if len(fast) != len(ref) {
		t.Fatalf("%s: one pass decoded %d alerts, encoding/json %d", body, len(fast), len(ref))
	}
	for i := range fast {
		f, r := fast[i], ref[i]
		if !maps.Equal(f.Labels, r.Labels) || !maps.Equal(f.Annotations, r.Annotations) || !f.StartsAt.Equal(r.StartsAt) ||
			!f.EndsAt.Equal(r.EndsAt) || f.GeneratorURL != r.GeneratorURL || (f.Labels == nil) != (r.Labels == nil) {
			t.Fatalf("%s: alert %d: one pass %+v, encoding/json %+v", body, i, f, r)
		}
	}
}

func TestDecodeAlertmanagerFast(t *testing.T) {
	for _, tc := range []struct {
		body string
		ok   bool // taken by the one-pass decoder
	}{
		{`[]`, true},
		{` [ {"labels":{"a":"b"}} ] `, true},
		{`[{"labels":{"alertname":"A","job":"node"},"annotations":{"summary":"s"},"startsAt":"2026-06-03T09:50:00.123+02:00","endsAt":"0001-01-01T00:00:00Z","generatorURL":"http://x/?a=1&b=2"}]`, true},
		{`[{"Labels":{"a":"b"},"ENDSAT":"2026-06-03T09:50:00Z","generatorurl":"g"}]`, true},              // names match without case
		{`[{"labels":{"a":"b"},"annotations":null,"startsAt":null,"generatorURL":null}]`, true},          // nulls are "not given"
		{`[{"labels":{"a":"b"},"extra":{"x":[1,2,{"y":null}]},"status":"firing"}]`, true},                // unknown members skipped
		{`[{"labels":{"a":"b\u00e9\n\"q\""},"annotations":{"summary":"caf\u00e9 \ud83d\ude00"}}]`, true}, // escapes in values
		{`[{"labels":{"a":"1","a":"2"}}]`, true},                                            // the last wins
		{`[{"labels":{"a":"1"},"Labels":{"b":"2"}}]`, false},                                // encoding/json merges the maps
		{`[{"labels":{"a":"1"},"startsAt":"2026-06-03T09:50:00Z","startsAt":null}]`, false}, // and keeps the time over null
		{`[{"labels":{"a":"1"},"generatorURL":"g","generatorurl":null}]`, false},
		{`[{"labels":{"a\u0062":"1"}}]`, false}, // an escaped name: encoding/json
		{`[{"labels":{"a":1}}]`, false},
		{`[{"labels":{"a":"b"},"startsAt":"yesterday"}]`, false},
		{`[{"labels":{"a":"b"}}] x`, false},
		{`[{"labels":{"a":"b"}},]`, false},
		{`{"labels":{"a":"b"}}`, false},
		{`null`, false},
		{"[{\"labels\":{\"a\":\"\xff\"}}]", false}, // invalid UTF-8: encoding/json replaces it
	} {
		fast, ok := decodeAlertmanagerFast([]byte(tc.body))
		if ok != tc.ok {
			t.Errorf("%s: taken %v, want %v", tc.body, ok, tc.ok)
			continue
		}
		if !ok {
			continue
		}
		ref, err := v1Alertmanager([]byte(tc.body))
		if err != nil {
			t.Fatalf("%s: one pass took what encoding/json refuses: %v", tc.body, err)
		}
		sameAlerts(t, []byte(tc.body), fast, ref)
	}
}

// FuzzDecodeAlertmanagerFast: whatever the one-pass decoder takes,
// encoding/json takes too and decodes alike.
func FuzzDecodeAlertmanagerFast(f *testing.F) {
	f.Add([]byte(`[{"labels":{"alertname":"A"},"annotations":{"summary":"s"},"startsAt":"2026-06-03T09:50:00Z","endsAt":"0001-01-01T00:00:00Z","generatorURL":"x"}]`))
	f.Add([]byte(`[{"Labels":{"a":"b","a":"c"},"x":[1,{"y":null}],"annotations":null}]`))
	f.Add([]byte(`[{"labels":{"a":"\u00e9\ud83d\ude00"},"startsAt":"2026-06-03T09:50:00.5+02:00"}]`))
	f.Add([]byte(`[{"labels":{"a":"1"},"labels":{"b":"2"},"endsAt":"2026-06-03T09:50:00Z","endsAt":null}]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		fast, ok := decodeAlertmanagerFast(body)
		if !ok {
			return
		}
		ref, err := v1Alertmanager(body)
		if err != nil {
			t.Fatalf("%q: one pass took what encoding/json refuses: %v", body, err)
		}
		sameAlerts(t, body, fast, ref)
	})
}
