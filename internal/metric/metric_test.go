package metric_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"groundcrew.dev/groundcrew/internal/alert"
	"groundcrew.dev/groundcrew/internal/catalog"
	"groundcrew.dev/groundcrew/internal/clock"
	"groundcrew.dev/groundcrew/internal/db"
	"groundcrew.dev/groundcrew/internal/db/dbtest"
	"groundcrew.dev/groundcrew/internal/errs"
	"groundcrew.dev/groundcrew/internal/identity"
	"groundcrew.dev/groundcrew/internal/metric"
)

var t0 = time.Date(2026, 6, 3, 0, 0, 0, 0, time.UTC)

type fixture struct {
	db     *db.DB
	clock  *clock.Fake
	ids    *identity.Service
	svc    *metric.Service
	alerts *alert.Service
	sys    context.Context
}

func setup(t *testing.T, d *db.DB) *fixture {
	t.Helper()
	clk := clock.NewFake(t0)
	ids := identity.NewService(d, clk, nil, identity.Options{})
	cat := catalog.New(d, clk, ids, nil)
	f := &fixture{db: d, clock: clk, ids: ids, svc: metric.NewService(d, clk, metric.Options{}),
		alerts: alert.NewService(d, clk, cat, ids, alert.Options{}), sys: identity.WithActor(context.Background(), identity.System())}
	for _, u := range []identity.UserInput{{Name: "bob", Role: identity.RoleMember}, {Name: "vera", Role: identity.RoleViewer}, {Name: "olga", Role: identity.RoleOperator}} {
		if _, err := ids.CreateUser(f.sys, u); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

func (f *fixture) as(t *testing.T, name string) context.Context {
	t.Helper()
	u, err := f.ids.GetUser(f.sys, name)
	if err != nil {
		t.Fatal(err)
	}
	return identity.WithActor(context.Background(), &identity.Actor{UserID: u.ID, Name: u.Name, Role: u.Role, Scope: identity.ScopeWrite, Via: "session"})
}

func push(name string, labels map[string]string, samples ...metric.Sample) metric.Push {
	return metric.Push{Series: []metric.SeriesInput{{Name: name, Labels: labels, Samples: samples}}}
}

func TestPush_Validate(t *testing.T) {
	ok := metric.Sample{T: t0.Add(-time.Minute), V: 0.5}
	many := make([]metric.Sample, metric.MaxSamplesPerPush+1)
	for i := range many {
		many[i] = metric.Sample{T: t0.Add(-time.Duration(i) * time.Second), V: 1}
	}
	tests := []struct {
		name  string
		p     metric.Push
		field string
	}{
		{"empty", metric.Push{}, "series"},
		{"bad name", push("1abc", nil, ok), "series[0].name"},
		{"dash in name", push("a-b", nil, ok), "series[0].name"},
		{"bad label name", push("up", map[string]string{"a b": "x"}, ok), "series[0].labels"},
		{"empty label value", push("up", map[string]string{"host": ""}, ok), "series[0].labels.host"},
		{"no samples", push("up", nil), "series[0].samples"},
		{"NaN", push("up", nil, ok, metric.Sample{T: t0, V: math.NaN()}), "series[0].samples[1].v"},
		{"Inf", push("up", nil, metric.Sample{T: t0, V: math.Inf(1)}), "series[0].samples[0].v"},
		{"too old", push("up", nil, metric.Sample{T: t0.Add(-36 * 24 * time.Hour), V: 1}), "series[0].samples[0].t"},
		{"future", push("up", nil, metric.Sample{T: t0.Add(6 * time.Minute), V: 1}), "series[0].samples[0].t"},
		{"no time", push("up", nil, metric.Sample{V: 1}), "series[0].samples[0].t"},
		{"too many", push("up", nil, many...), "series"},
		{"third series", metric.Push{Series: []metric.SeriesInput{{Name: "a", Samples: []metric.Sample{ok}}, {Name: "b", Samples: []metric.Sample{ok}},
			{Name: "c", Samples: []metric.Sample{ok, ok, ok, ok, ok, {T: t0, V: math.NaN()}}}}}, "series[2].samples[5].v"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.p.Validate(t0)
			if !errs.Is(err, errs.Invalid) || errs.FieldOf(err) != tt.field {
				t.Fatalf("Validate = %v (field %q), want invalid %s", err, errs.FieldOf(err), tt.field)
			}
		})
	}
	if err := push("node:fs_used_ratio", map[string]string{"host": "db1", "_x": "y"}, ok, metric.Sample{T: t0.Add(5 * time.Minute), V: -3}).Validate(t0); err != nil {
		t.Fatalf("valid push: %v", err)
	}
}

func TestKey(t *testing.T) {
	got := metric.Key("up", map[string]string{"z": "1", "a": `q"`})
	if want := `up{a="q\"",z="1"}`; got != want {
		t.Fatalf("Key = %s, want %s", got, want)
	}
}

func TestService_PushListSamples(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		f := setup(t, d)
		for _, who := range []string{"bob", "vera"} {
			if _, err := f.svc.Push(f.as(t, who), push("up", nil, metric.Sample{T: t0, V: 1})); !errs.Is(err, errs.Forbidden) {
				t.Fatalf("push as %s = %v, want forbidden", who, err)
			}
		}
		olga := f.as(t, "olga")
		p := metric.Push{Series: []metric.SeriesInput{
			{Name: "fs_used", Labels: map[string]string{"host": "db1", "mount": "/"}, Samples: []metric.Sample{{T: t0.Add(-2 * time.Minute), V: 0.5}, {T: t0.Add(-time.Minute), V: 0.6}}},
			{Name: "fs_used", Labels: map[string]string{"host": "db2", "mount": "/"}, Samples: []metric.Sample{{T: t0.Add(-time.Minute), V: 0.1}}},
			// The same series again, and a repeated time: the last value wins.
			{Name: "fs_used", Labels: map[string]string{"mount": "/", "host": "db1"}, Samples: []metric.Sample{{T: t0.Add(-time.Minute), V: 0.65}, {T: t0, V: 0.7}}},
		}}
		res, err := f.svc.Push(olga, p)
		if err != nil {
			t.Fatal(err)
		}
		if res.Series != 2 || res.Samples != 4 {
			t.Fatalf("push = %+v, want 2 series, 4 samples", res)
		}
		// A second push replaces a stored value.
		if _, err := f.svc.Push(olga, push("fs_used", map[string]string{"host": "db1", "mount": "/"}, metric.Sample{T: t0, V: 0.75})); err != nil {
			t.Fatal(err)
		}
		vera := f.as(t, "vera")
		all, next, err := f.svc.ListSeries(vera, metric.SeriesFilter{Name: "fs_used"})
		if err != nil || len(all) != 2 || next != "" {
			t.Fatalf("list = %v, %q, %v", all, next, err)
		}
		one, _, err := f.svc.ListSeries(vera, metric.SeriesFilter{Labels: map[string]string{"host": "db1"}})
		if err != nil || len(one) != 1 || one[0].Labels["host"] != "db1" {
			t.Fatalf("list host=db1 = %v, %v", one, err)
		}
		page1, next, err := f.svc.ListSeries(vera, metric.SeriesFilter{Limit: 1})
		if err != nil || len(page1) != 1 || next == "" {
			t.Fatalf("page 1 = %v, %q, %v", page1, next, err)
		}
		page2, next2, err := f.svc.ListSeries(vera, metric.SeriesFilter{Limit: 1, After: next})
		if err != nil || len(page2) != 1 || next2 != "" || page2[0].ID == page1[0].ID {
			t.Fatalf("page 2 = %v, %q, %v", page2, next2, err)
		}
		got, err := f.svc.Samples(vera, one[0].ID, time.Time{}, time.Time{}, 0)
		if err != nil {
			t.Fatal(err)
		}
		want := []float64{0.5, 0.65, 0.75}
		if len(got) != len(want) {
			t.Fatalf("samples = %v, want values %v", got, want)
		}
		for i := range want {
			if got[i].V != want[i] {
				t.Fatalf("samples = %v, want values %v", got, want)
			}
		}
		if _, err := f.svc.Samples(vera, db.NewID(), time.Time{}, time.Time{}, 0); !errs.Is(err, errs.NotFound) {
			t.Fatalf("samples of an unknown series = %v", err)
		}
		// A bad push stores nothing.
		bad := push("fs_used", map[string]string{"host": "db3"}, metric.Sample{T: t0, V: 1}, metric.Sample{T: t0.Add(time.Hour), V: 1})
		if _, err := f.svc.Push(olga, bad); !errs.Is(err, errs.Invalid) {
			t.Fatalf("bad push = %v", err)
		}
		if all, _, _ := f.svc.ListSeries(vera, metric.SeriesFilter{}); len(all) != 2 {
			t.Fatalf("after a bad push: %d series", len(all))
		}
	})
}

func TestService_Prune(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		f := setup(t, d)
		var old, recent []metric.Sample
		for i := range 100 {
			old = append(old, metric.Sample{T: t0.Add(-time.Duration(i) * time.Minute), V: float64(i)})
		}
		if _, err := f.svc.Push(f.sys, push("gone", nil, old...)); err != nil {
			t.Fatal(err)
		}
		for i := range 10 {
			recent = append(recent, metric.Sample{T: t0.Add(30*24*time.Hour - time.Duration(i)*time.Minute), V: 1})
		}
		f.clock.Advance(30 * 24 * time.Hour)
		if _, err := f.svc.Push(f.sys, push("kept", nil, recent...)); err != nil {
			t.Fatal(err)
		}
		f.clock.Advance(6 * 24 * time.Hour) // the first series' samples are now over 35 days old
		n, err := f.svc.Prune(context.Background(), 10)
		if err != nil || n != 100 {
			t.Fatalf("prune = %d, %v; want 100", n, err)
		}
		all, _, err := f.svc.ListSeries(f.sys, metric.SeriesFilter{})
		if err != nil || len(all) != 1 || all[0].Name != "kept" {
			t.Fatalf("series after prune = %v, %v", all, err)
		}
	})
}

// FuzzPush feeds arbitrary JSON through decoding, validation and the
// series key: nothing panics, and a push that validates has finite values
// and valid names.
func FuzzPush(f *testing.F) {
	f.Add(`{"series":[{"name":"up","labels":{"host":"a"},"samples":[{"t":"2026-06-03T00:00:00Z","v":1}]}]}`)
	f.Add(`{"series":[{"name":"a:b_c","samples":[{"t":"2026-06-02T23:59:00Z","v":-1e300}]}]}`)
	f.Add(`{"series":[{"name":"","labels":{"":""},"samples":[]}]}`)
	f.Fuzz(func(t *testing.T, body string) {
		var p metric.Push
		if json.Unmarshal([]byte(body), &p) != nil {
			return
		}
		if err := p.Validate(t0); err != nil {
			if !errs.Is(err, errs.Invalid) || !strings.HasPrefix(errs.FieldOf(err), "series") {
				t.Fatalf("Validate = %v (field %q)", err, errs.FieldOf(err))
			}
			return
		}
		for _, s := range p.Series {
			if !metric.ValidName(s.Name) {
				t.Fatalf("accepted name %q", s.Name)
			}
			for _, smp := range s.Samples {
				if math.IsNaN(smp.V) || math.IsInf(smp.V, 0) {
					t.Fatalf("accepted %v", smp.V)
				}
			}
			_ = metric.Key(s.Name, s.Labels)
		}
	})
}

// inTx runs fn in a transaction, failing the test on error.
func inTx(t *testing.T, d *db.DB, fn func(tx *sql.Tx) error) {
	t.Helper()
	if err := d.InTx(context.Background(), fn); err != nil {
		t.Fatal(err)
	}
}
