package check_test

import (
	"context"
	"database/sql"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"groundcrew.dev/groundcrew/internal/check"
	"groundcrew.dev/groundcrew/internal/check/probe"
	"groundcrew.dev/groundcrew/internal/db"
	"groundcrew.dev/groundcrew/internal/db/dbtest"
)

// windowMuter mutes one service in one environment during [start, end),
// and remembers what it was asked.
type windowMuter struct {
	service, env string
	start, end   time.Time

	mu    sync.Mutex
	asked []time.Time
}

func (m *windowMuter) Muted(service, env string, at time.Time) (string, bool) {
	m.mu.Lock()
	m.asked = append(m.asked, at)
	m.mu.Unlock()
	if service == m.service && env == m.env && !at.Before(m.start) && at.Before(m.end) {
		return "maintenance api-deploy", true
	}
	return "", false
}

// recordingSink keeps the events the alert pipeline would receive.
type recordingSink struct {
	mu     sync.Mutex
	events map[string][]check.Event
}

func (s *recordingSink) CheckChanged(_ context.Context, _ *sql.Tx, e check.Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events[e.Check] = append(s.events[e.Check], e)
	return nil
}

func (s *recordingSink) get(name string) []check.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]check.Event(nil), s.events[name]...)
}

// TestRunner_MutedDuringMaintenance: a check whose service is in a
// maintenance window goes DOWN; the change is recorded, with its reason
// saying so, but is not alertable. A check of another service is not
// muted.
func TestRunner_MutedDuringMaintenance(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		f := setup(t, d)
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		closed := ln.Addr().String()
		ln.Close() // nothing listens here: connection refused
		for _, c := range []struct{ name, service string }{{"api-port", "api"}, {"db-port", "db"}} {
			in := check.Input{Name: c.name, Spec: check.Spec{Service: c.service, Environment: "prod", Interval: probe.Duration(50 * time.Millisecond),
				Timeout: probe.Duration(50 * time.Millisecond), Confirm: check.Confirm{Down: 1}, Spec: probe.Spec{Type: probe.TCP, TCP: &probe.TCPSpec{Address: closed}}}}
			if _, _, err := f.svc.Create(f.sys, in); err != nil {
				t.Fatal(err)
			}
		}
		m := &windowMuter{service: "api", env: "prod", start: time.Now().Add(-time.Hour), end: time.Now().Add(time.Hour)}
		sink := &recordingSink{events: map[string][]check.Event{}}
		r := check.NewRunner(d, check.RunnerOptions{FlushInterval: 20 * time.Millisecond, Muter: m, Sink: sink})
		if err := r.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		defer r.Stop(context.Background())
		// The sink hears of a change inside the flush's transaction: wait
		// for the commit too before reading what was stored.
		waitFor(t, "both checks down", 10*time.Second, func() bool {
			if len(sink.get("api-port")) == 0 || len(sink.get("db-port")) == 0 {
				return false
			}
			stored, err := f.svc.Events(f.sys, "api-port", 10)
			return err == nil && len(stored) > 0
		})

		api := sink.get("api-port")[0]
		if api.To != check.Down || api.Alertable || !strings.HasSuffix(api.Reason, " (muted: maintenance api-deploy)") || !strings.Contains(api.Reason, "refused") {
			t.Errorf("api event to the sink = %s→%s alertable=%v %q; want DOWN, not alertable, muted by api-deploy", api.From, api.To, api.Alertable, api.Reason)
		}
		stored, err := f.svc.Events(f.sys, "api-port", 10)
		if err != nil || len(stored) != 1 || stored[0].Alertable || stored[0].Reason != api.Reason || stored[0].To != check.Down {
			t.Errorf("stored api events = %+v, %v; want the one muted DOWN", stored, err)
		}
		if c, _ := f.svc.Get(f.sys, "api-port"); c.State.Status != check.Down {
			t.Errorf("api state = %s: muting must not hide the state", c.State.Status)
		}
		other := sink.get("db-port")[0]
		if other.To != check.Down || !other.Alertable || strings.Contains(other.Reason, "muted") {
			t.Errorf("db event = %s→%s alertable=%v %q; want an alertable DOWN", other.From, other.To, other.Alertable, other.Reason)
		}
		m.mu.Lock()
		defer m.mu.Unlock()
		found := false
		for _, at := range m.asked {
			found = found || at.Equal(api.At)
		}
		if !found {
			t.Errorf("muter asked at %v, never at the change's time %s", m.asked, api.At)
		}
	})
}
