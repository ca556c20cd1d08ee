package alert_test

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"groundcrew.dev/groundcrew/internal/alert"
	"groundcrew.dev/groundcrew/internal/db"
	"groundcrew.dev/groundcrew/internal/db/dbtest"
)

// stored is an alert row as written, read past the service (whose reads
// write pending leases first).
type stored struct {
	status  string
	endsAt  time.Time
	seen    time.Time
	count   int64
	summary string
}

func readStored(t *testing.T, d *db.DB, id uuid.UUID) stored {
	t.Helper()
	var s stored
	var ends sql.NullTime
	if err := d.Writer().QueryRow(`SELECT status, ends_at, last_seen_at, refresh_count, summary FROM alerts WHERE id = $1`, id).
		Scan(&s.status, &ends, &s.seen, &s.count, &s.summary); err != nil {
		t.Fatal(err)
	}
	s.endsAt = ends.Time.UTC()
	s.seen = s.seen.UTC()
	return s
}

// TestLeases: with the lease writer running, a refresh that changes
// nothing but its lease is answered without a write and written by the
// next flush, several folded into one; a refresh that changes what people
// see, shortens the lease or finds the stored one running short is written
// by its own request; a flush never undoes a newer write nor reopens a
// resolved alert; stopping the writer writes what is pending.
func TestLeases(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		// Flushes only when the test asks (or at Stop).
		f := setup(t, d, alert.Options{LeaseFlush: time.Minute, SweepInterval: time.Hour}) // a sweep writes pending leases first
		it, _ := f.integration(t, alert.IntegrationInput{Name: "prom", Type: alert.TypeAlertmanager})
		ctx := context.Background()
		sw := f.svc.StartSweeper(ctx)
		stopped := false
		defer func() {
			if !stopped {
				_ = sw.Stop(ctx)
			}
		}()
		ingest := func(in ...alert.Incoming) []alert.Received {
			t.Helper()
			got, err := f.svc.Ingest(ctx, it, in, "alerts")
			if err != nil {
				t.Fatal(err)
			}
			return got
		}
		flush := func() {
			t.Helper()
			if err := f.svc.FlushLeases(ctx); err != nil {
				t.Fatal(err)
			}
		}
		disk := map[string]string{"alertname": "DiskFull", "instance": "db-1"}
		id := ingest(am(disk, now.Add(4*time.Minute)))[0].ID

		// Three refreshes, each a lease of 4 minutes from a later now: held.
		for k := 1; k <= 3; k++ {
			f.clock.Advance(15 * time.Second)
			r := ingest(am(disk, f.clock.Now().Add(4*time.Minute)))
			if r[0].ID != id || r[0].Status != alert.Firing {
				t.Fatalf("refresh %d received as %+v", k, r[0])
			}
		}
		if s := readStored(t, d, id); s.count != 1 || !s.endsAt.Equal(now.Add(4*time.Minute)) || !s.seen.Equal(now) {
			t.Fatalf("refreshes written before the flush: %+v", s)
		}
		flush()
		last := now.Add(45 * time.Second)
		if s := readStored(t, d, id); s.count != 4 || !s.endsAt.Equal(last.Add(4*time.Minute)) || !s.seen.Equal(last) {
			t.Fatalf("after the flush: %+v, want 4 receipts, seen %s, ends %s", s, last, last.Add(4*time.Minute))
		}
		if h := f.history(t, id.String()); len(h) != 1 || queued(t, d) != 1 {
			t.Fatalf("history %v, %d queued: refreshes that change nothing record nothing", h, queued(t, d))
		}

		// A new summary is written at once (and a pending lease is folded
		// under it, not over it).
		f.clock.Advance(15 * time.Second)
		ingest(am(disk, f.clock.Now().Add(4*time.Minute))) // held
		f.clock.Advance(15 * time.Second)
		changed := am(disk, f.clock.Now().Add(4*time.Minute))
		changed.Annotations = map[string]string{"summary": "disk 99% full"}
		ingest(changed)
		want := f.clock.Now()
		if s := readStored(t, d, id); s.summary != "disk 99% full" || !s.seen.Equal(want) || s.count != 5 {
			t.Fatalf("a changed summary was not written at once: %+v", s)
		}
		flush()
		if s := readStored(t, d, id); !s.seen.Equal(want) || !s.endsAt.Equal(want.Add(4*time.Minute)) || s.count != 6 {
			t.Fatalf("the flush undid a newer write: %+v", s)
		}

		// A shorter lease is written at once.
		ingest(endsAt(changed, want.Add(2*time.Minute)))
		if s := readStored(t, d, id); !s.endsAt.Equal(want.Add(2 * time.Minute)) {
			t.Fatalf("a shorter lease was held: %+v", s)
		}
		// A stored lease less than half the new one ahead is extended at
		// once: 2 minutes left, 5 asked.
		ingest(endsAt(changed, want.Add(5*time.Minute)))
		if s := readStored(t, d, id); !s.endsAt.Equal(want.Add(5 * time.Minute)) {
			t.Fatalf("a lease running short was held: %+v", s)
		}

		// A held refresh of an alert resolved meanwhile leaves it alone.
		ingest(endsAt(changed, want.Add(6*time.Minute))) // held
		resolved := changed
		resolved.Resolve = true
		ingest(resolved)
		before := readStored(t, d, id)
		flush()
		if s := readStored(t, d, id); s.status != "resolved" || !s.endsAt.Equal(before.endsAt) || s.count != before.count {
			t.Fatalf("a flush changed a resolved alert: %+v, was %+v", s, before)
		}

		// An acknowledgement meanwhile does not undo a held extension.
		mem := map[string]string{"alertname": "Memory", "instance": "db-1"}
		f.clock.Advance(time.Second)
		mid := ingest(am(mem, f.clock.Now().Add(4*time.Minute)))[0].ID
		f.clock.Advance(time.Second)
		heldEnd := f.clock.Now().Add(4 * time.Minute)
		ingest(am(mem, heldEnd)) // held
		ack := am(mem, time.Time{})
		ack.Acknowledge = true
		f.clock.Advance(time.Second)
		ingest(ack)
		flush()
		if s := readStored(t, d, mid); !s.endsAt.Equal(heldEnd) || s.count != 2 {
			t.Fatalf("after an acknowledgement and the flush: %+v, want ends %s, 2 receipts", s, heldEnd)
		}

		// Stopping the writer writes what is pending; later refreshes are
		// written by their requests.
		cpu := map[string]string{"alertname": "CPU", "instance": "db-1"}
		f.clock.Advance(time.Second)
		cid := ingest(am(cpu, f.clock.Now().Add(4*time.Minute)))[0].ID
		f.clock.Advance(time.Second)
		ingest(am(cpu, f.clock.Now().Add(4*time.Minute)))
		if s := readStored(t, d, cid); s.count != 1 {
			t.Fatalf("refresh written before Stop: %+v", s)
		}
		if err := sw.Stop(ctx); err != nil {
			t.Fatal(err)
		}
		stopped = true
		if s := readStored(t, d, cid); s.count != 2 || !s.seen.Equal(f.clock.Now()) {
			t.Fatalf("Stop did not write the pending lease: %+v", s)
		}
		f.clock.Advance(time.Second)
		ingest(am(cpu, f.clock.Now().Add(4*time.Minute)))
		if s := readStored(t, d, cid); s.count != 3 {
			t.Fatalf("refresh held with no lease writer running: %+v", s)
		}
	})
}

func endsAt(in alert.Incoming, t time.Time) alert.Incoming {
	in.EndsAt = t
	return in
}

// TestIngest_SameNewAlertsAtOnce sends one batch of new alerts from eight
// senders at once, as a pair of Prometheus servers (or several) do: each
// request reads the alerts as not open and inserts them without looking
// again, all but one break the unique index of open fingerprints and apply
// their batch again as refreshes. Every request succeeds and every alert
// is open once.
func TestIngest_SameNewAlertsAtOnce(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		f := setup(t, d, alert.Options{LeaseFlush: time.Minute, SweepInterval: time.Hour})
		it, _ := f.integration(t, alert.IntegrationInput{Name: "prom", Type: alert.TypeAlertmanager})
		ctx := context.Background()
		sw := f.svc.StartSweeper(ctx) // the lease writer: reads before the transaction
		defer sw.Stop(ctx)
		const n, senders = 40, 8
		batch := make([]alert.Incoming, n)
		for i := range batch {
			batch[i] = am(map[string]string{"alertname": "Storm", "instance": fmt.Sprintf("host-%02d", i)}, now.Add(4*time.Minute))
		}
		ids := make([][]alert.Received, senders)
		var wg sync.WaitGroup
		for k := range senders {
			wg.Go(func() {
				got, err := f.svc.Ingest(ctx, it, batch, "alerts")
				if err != nil {
					t.Errorf("sender %d: %v", k, err)
				}
				ids[k] = got
			})
		}
		wg.Wait()
		open := 0
		for _, a := range f.list(t, alert.Filter{Limit: 1000}) {
			if a.Status == alert.Firing {
				open++
			}
		}
		if open != n {
			t.Errorf("%d open alerts after %d senders sent the same %d", open, senders, n)
		}
		for k := 1; k < senders; k++ {
			for i := range ids[k] {
				if ids[k][i].ID != ids[0][i].ID {
					t.Fatalf("sender %d got alert %d as %s, sender 0 as %s", k, i, ids[k][i].ID, ids[0][i].ID)
				}
			}
		}
	})
}

// TestLeases_ManyTransactions flushes more leases than one transaction of
// the lease writer takes (2,048): every one is written.
func TestLeases_ManyTransactions(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		f := setup(t, d, alert.Options{LeaseFlush: time.Minute, SweepInterval: time.Hour})
		it, _ := f.integration(t, alert.IntegrationInput{Name: "prom", Type: alert.TypeAlertmanager})
		ctx := context.Background()
		sw := f.svc.StartSweeper(ctx)
		defer sw.Stop(ctx)
		const n, batch = 2500, 250
		send := func(endsAt time.Time) {
			t.Helper()
			for k := 0; k < n; k += batch {
				in := make([]alert.Incoming, batch)
				for j := range in {
					in[j] = am(map[string]string{"alertname": "Many", "instance": fmt.Sprintf("h-%04d", k+j)}, endsAt)
				}
				if _, err := f.svc.Ingest(ctx, it, in, "alerts"); err != nil {
					t.Fatal(err)
				}
			}
		}
		send(now.Add(4 * time.Minute))
		f.clock.Advance(15 * time.Second)
		send(f.clock.Now().Add(4 * time.Minute)) // held, every one
		var pending int
		if err := d.Reader().QueryRowContext(ctx, `SELECT count(*) FROM alerts WHERE refresh_count = 1`).Scan(&pending); err != nil || pending != n {
			t.Fatalf("%d alerts with one receipt before the flush (%v), want %d", pending, err, n)
		}
		if err := f.svc.FlushLeases(ctx); err != nil {
			t.Fatal(err)
		}
		var written int
		if err := d.Reader().QueryRowContext(ctx, `SELECT count(*) FROM alerts WHERE refresh_count = 2 AND ends_at = $1`,
			f.clock.Now().Add(4*time.Minute)).Scan(&written); err != nil || written != n {
			t.Fatalf("%d of %d leases written by the flush (%v)", written, n, err)
		}
	})
}
