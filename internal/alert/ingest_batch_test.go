package alert_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"groundcrew.dev/groundcrew/internal/alert"
	"groundcrew.dev/groundcrew/internal/db"
	"groundcrew.dev/groundcrew/internal/db/dbtest"
)

// queued returns how many entries the dispatch queue holds (no dispatcher
// runs in these tests, so nothing consumes them).
func queued(t *testing.T, d *db.DB) int {
	t.Helper()
	var n int
	if err := d.Writer().QueryRow(`SELECT count(*) FROM alert_dispatch_queue`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestIngest_Batch follows a batch the way Prometheus sends it: new alerts
// are stored, queued and recorded; refreshes that change nothing anyone
// sees only move last_seen_at, refresh_count and ends_at (no queue entry,
// no history); changed annotations, a new generator URL, resolves and new
// alerts in a later batch are queued; a fingerprint twice in one batch is
// applied in order.
func TestIngest_Batch(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		f := setup(t, d, alert.Options{})
		it, _ := f.integration(t, alert.IntegrationInput{Name: "prom", Type: alert.TypeAlertmanager})
		ctx := context.Background()
		const n = 70 // more than one multi-row chunk
		labels := func(i int) map[string]string {
			return map[string]string{"alertname": "Load", "instance": string(rune('a'+i%26)) + string(rune('a'+i/26)), "severity": "warning"}
		}
		batch := func(endsAt time.Time) []alert.Incoming {
			out := make([]alert.Incoming, n)
			for i := range out {
				out[i] = am(labels(i), endsAt)
				out[i].GeneratorURL = "http://prometheus/graph"
			}
			return out
		}
		ingest := func(in []alert.Incoming) []alert.Received {
			t.Helper()
			got, err := f.svc.Ingest(ctx, it, in, "alerts")
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(in) {
				t.Fatalf("%d received for %d alerts", len(got), len(in))
			}
			return got
		}
		byFP := func() map[string]alert.Alert {
			t.Helper()
			out := map[string]alert.Alert{}
			for _, a := range f.list(t, alert.Filter{Limit: 1000}) {
				if a.Status == alert.Firing {
					out[a.Fingerprint] = a
				}
			}
			return out
		}

		first := ingest(batch(now.Add(4 * time.Minute)))
		if q := queued(t, d); q != n {
			t.Fatalf("%d queued after %d new alerts", q, n)
		}
		for i, r := range first {
			if r.Status != alert.Firing || r.Fingerprint != alert.Fingerprint(labels(i)) {
				t.Fatalf("received[%d] = %+v", i, r)
			}
		}
		if h := f.history(t, first[3].ID.String()); len(h) != 1 || h[0] != alert.EventFired {
			t.Fatalf("history of a new alert = %v", h)
		}

		// The same batch a minute later: refreshes that change nothing.
		f.clock.Advance(time.Minute)
		ends := f.clock.Now().Add(4 * time.Minute)
		second := ingest(batch(ends))
		if q := queued(t, d); q != n {
			t.Errorf("%d queued after refreshes that change nothing, want still %d", q, n)
		}
		open := byFP()
		if len(open) != n {
			t.Fatalf("%d firing alerts, want %d", len(open), n)
		}
		for i, r := range second {
			a := open[r.Fingerprint]
			if r.ID != first[i].ID || a.RefreshCount != 2 || !a.LastSeenAt.Equal(f.clock.Now()) || a.EndsAt == nil || !a.EndsAt.Equal(ends) {
				t.Fatalf("alert %d after a refresh: received %+v, stored %+v", i, r, a)
			}
		}
		if h := f.history(t, first[3].ID.String()); len(h) != 1 {
			t.Errorf("a refresh that changes nothing left history: %v", h)
		}

		// Changed annotations (0), a new generator URL (1), a resolve (2),
		// a new alert (n), the rest unchanged.
		f.clock.Advance(time.Minute)
		b := batch(f.clock.Now().Add(4 * time.Minute))
		b[0].Annotations = map[string]string{"summary": "disk fuller"}
		b[1].GeneratorURL = "http://prometheus-2/graph"
		b[2].EndsAt = f.clock.Now().Add(-time.Second)
		b = append(b, am(labels(n), f.clock.Now().Add(4*time.Minute)))
		third := ingest(b)
		if q := queued(t, d); q != n+4 {
			t.Errorf("%d queued, want %d (changed, new generator URL, resolved, new)", q, n+4)
		}
		if third[2].Status != alert.Resolved || third[2].ID != first[2].ID || third[n].ID == uuid.Nil {
			t.Errorf("received = %+v, %+v", third[2], third[n])
		}
		if h := f.history(t, first[0].ID.String()); len(h) != 2 || h[1] != alert.EventRefreshed {
			t.Errorf("history after an annotation change = %v", h)
		}
		if h := f.history(t, first[1].ID.String()); len(h) != 1 {
			t.Errorf("a new generator URL left history: %v", h)
		}
		if h := f.history(t, first[2].ID.String()); len(h) != 2 || h[1] != alert.EventResolved {
			t.Errorf("history after a resolve = %v", h)
		}
		open = byFP()
		if a := open[alert.Fingerprint(labels(0))]; a.Summary != "disk fuller" || a.RefreshCount != 3 {
			t.Errorf("changed alert = %+v", a)
		}
		if a := open[alert.Fingerprint(labels(1))]; a.GeneratorURL != "http://prometheus-2/graph" {
			t.Errorf("generator URL = %q", a.GeneratorURL)
		}

		// Firing again soon after: refired, flapping, naming the previous.
		f.clock.Advance(time.Minute)
		again := ingest([]alert.Incoming{am(labels(2), f.clock.Now().Add(4*time.Minute))})
		d2, err := f.svc.Get(f.sys, again[0].ID.String())
		if err != nil {
			t.Fatal(err)
		}
		if again[0].ID == first[2].ID || len(d2.History) != 1 || d2.History[0].Kind != alert.EventRefired ||
			d2.History[0].Detail["previous"] != first[2].ID.String() || d2.History[0].Detail["flapping"] != true {
			t.Errorf("refired: %+v, history %+v", again[0], d2.History)
		}

		// One fingerprint twice in a batch: fired, then resolved, in order.
		twice := []alert.Incoming{am(labels(n+1), f.clock.Now().Add(time.Minute)), am(labels(n+1), f.clock.Now().Add(-time.Second))}
		got := ingest(twice)
		if got[0].Status != alert.Firing || got[1].Status != alert.Resolved || got[0].ID != got[1].ID {
			t.Errorf("fired and resolved in one batch: %+v", got)
		}
		if _, ok := byFP()[alert.Fingerprint(labels(n+1))]; ok {
			t.Errorf("alert fired and resolved in one batch is still firing")
		}

		// Expired before the sweep: the refresh resolves the old one and
		// fires a new one, in a batch with other alerts.
		f.clock.Advance(10 * time.Minute)
		b = batch(f.clock.Now().Add(4 * time.Minute))
		last := ingest(b)
		if last[5].ID == first[5].ID {
			t.Errorf("an alert whose endsAt passed was refreshed, not fired anew")
		}
		if h := f.history(t, first[5].ID.String()); h[len(h)-1] != alert.EventExpired {
			t.Errorf("history of the expired alert = %v", h)
		}
		if h := f.history(t, last[5].ID.String()); len(h) != 1 || h[0] != alert.EventRefired {
			t.Errorf("history of its successor = %v", h)
		}
		if got := len(byFP()); got != n+1 { // the batch, and alert n (expired, not yet swept)
			t.Errorf("%d firing, want %d", got, n+1)
		}

		// Many resolved in one batch, with two endsAt values and an
		// explicit resolve (ended now): each keeps its own end.
		now2 := f.clock.Now()
		endsOf := []time.Time{now2.Add(-time.Minute), now2.Add(-2 * time.Minute)}
		res := batch(now2)
		for i := range res {
			res[i].EndsAt = endsOf[i%2]
		}
		res[7].EndsAt, res[7].Resolve = time.Time{}, true
		ingest(res)
		if got := len(byFP()); got != 1 { // alert n, expired, not yet swept
			t.Errorf("%d firing after resolving the batch, want 1", got)
		}
		for _, a := range f.list(t, alert.Filter{Limit: 1000}) {
			for i := range res {
				if a.ID != last[i].ID {
					continue
				}
				want := endsOf[i%2]
				if i == 7 {
					want = now2
				}
				if a.Status != alert.Resolved || a.EndsAt == nil || !a.EndsAt.Equal(want) {
					t.Errorf("alert %d: %s, ended %v; want resolved at %v", i, a.Status, a.EndsAt, want)
				}
			}
		}
	})
}
