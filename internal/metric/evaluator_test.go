package metric_test

import (
	"context"
	"database/sql"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"groundcrew.dev/groundcrew/internal/alert"
	"groundcrew.dev/groundcrew/internal/apply"
	"groundcrew.dev/groundcrew/internal/db"
	"groundcrew.dev/groundcrew/internal/db/dbtest"
	"groundcrew.dev/groundcrew/internal/errs"
	"groundcrew.dev/groundcrew/internal/metric"
)

func ptr[T any](v T) *T { return &v }

// fillRule forecasts disk usage filling up: 90 % within 24 h, for 15 min.
func fillRule() metric.RuleSpec {
	return metric.RuleSpec{
		Series: metric.SeriesSelector{Name: "fs_used_ratio", Matchers: []string{`host=~"db.*"`}},
		Method: "linear", Window: "12h", Horizon: "24h", Threshold: 0.9, Direction: "rising", For: "15m",
		MinHistory: "6h", Guard: &metric.Guard{Above: ptr(0.6)}, Severity: "warning",
		Labels: map[string]string{"team": "db"}, Annotations: map[string]string{"summary": "disk filling up"},
	}
}

// feed pushes the samples of fn every step from `from` up to the clock's
// now, and returns the time after the last one.
func (f *fixture) feed(t *testing.T, labels map[string]string, fn func(time.Time) float64, from time.Time, step time.Duration) time.Time {
	t.Helper()
	var batch []metric.Sample
	at := from
	for n := 0; !at.After(f.clock.Now()) && n < 20000; n++ {
		batch = append(batch, metric.Sample{T: at, V: fn(at)})
		at = at.Add(step)
	}
	for len(batch) > 0 {
		k := min(len(batch), metric.MaxSamplesPerPush)
		if _, err := f.svc.Push(f.sys, push("fs_used_ratio", labels, batch[:k]...)); err != nil {
			t.Fatal(err)
		}
		batch = batch[k:]
	}
	return at
}

func (f *fixture) putRule(t *testing.T, name string, spec metric.RuleSpec) {
	t.Helper()
	inTx(t, f.db, func(tx *sql.Tx) error {
		_, _, err := f.svc.PutRuleTx(f.sys, tx, metric.RuleInput{Name: name, Spec: spec}, "")
		return err
	})
}

func (f *fixture) alertsOf(t *testing.T, rule string) []alert.Alert {
	t.Helper()
	out, _, err := f.alerts.List(f.sys, alert.Filter{Label: "forecast=" + rule})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func (f *fixture) evaluator() *metric.Evaluator {
	return metric.NewEvaluator(f.svc, f.alerts, metric.EvaluatorOptions{Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})), Clock: f.clock, BaseURL: func() string { return "https://gc.example" }})
}

func TestEvaluator_LinearFillFiresAfterForAndResolves(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		f := setup(t, d)
		f.putRule(t, "db-disk-full", fillRule())
		start := t0.Add(-30 * time.Hour)
		fill := func(at time.Time) float64 { return 0.4 + 0.01*at.Sub(start).Hours() } // 0.70 now, 0.9 at t0+20h
		labels := map[string]string{"host": "db1", "mount": "/"}
		next := f.feed(t, labels, fill, start, 5*time.Minute)
		// A series the matchers exclude never fires.
		f.feed(t, map[string]string{"host": "web1", "mount": "/"}, fill, start, 5*time.Minute)
		ev := f.evaluator()
		ctx := context.Background()
		for i := range 3 { // t0, +5m, +10m: pending
			if err := ev.Evaluate(ctx); err != nil {
				t.Fatal(err)
			}
			if got := f.alertsOf(t, "db-disk-full"); len(got) != 0 {
				t.Fatalf("round %d, before `for` passed: %d alerts", i, len(got))
			}
			f.clock.Advance(5 * time.Minute)
			next = f.feed(t, labels, fill, next, 5*time.Minute)
		}
		if err := ev.Evaluate(ctx); err != nil { // +15m: fires
			t.Fatal(err)
		}
		got := f.alertsOf(t, "db-disk-full")
		if len(got) != 1 || got[0].Status != alert.Firing {
			t.Fatalf("after `for`: %+v", got)
		}
		a := got[0]
		for k, want := range map[string]string{"alertname": "db-disk-full", "forecast": "db-disk-full", "host": "db1", "mount": "/",
			"severity": "warning", "team": "db", "metric": "fs_used_ratio"} {
			if a.Labels[k] != want {
				t.Errorf("label %s = %q, want %q (labels %v)", k, a.Labels[k], want, a.Labels)
			}
		}
		predicted, err := time.Parse(time.RFC3339, a.Annotations["predicted_at"])
		if err != nil {
			t.Fatalf("predicted_at %q: %v", a.Annotations["predicted_at"], err)
		}
		if want := t0.Add(20 * time.Hour); predicted.Sub(want).Abs() > 5*time.Minute {
			t.Errorf("predicted crossing %s, want %s ± 5 min", predicted, want)
		}
		earliest, _ := time.Parse(time.RFC3339, a.Annotations["earliest"])
		if earliest.IsZero() || earliest.After(predicted) {
			t.Errorf("earliest %q, predicted %s", a.Annotations["earliest"], predicted)
		}
		if a.Annotations["method"] != "linear" || a.Annotations["summary"] != "disk filling up" || a.Summary != "disk filling up" ||
			!strings.HasPrefix(a.Annotations["chart"], "https://gc.example/api/v1/forecast-rules/db-disk-full/chart.svg?series=") ||
			!strings.Contains(a.Annotations["reason"], "crosses 0.9") {
			t.Errorf("annotations = %v", a.Annotations)
		}
		st, err := f.svc.RuleStatus(f.as(t, "vera"), "db-disk-full")
		if err != nil || len(st) != 1 || !st[0].Firing || !st[0].Condition || st[0].PendingSince == nil ||
			!st[0].PendingSince.Equal(t0) || st[0].PredictedAt == nil || st[0].Series.Labels["host"] != "db1" {
			t.Fatalf("status = %+v, %v", st, err)
		}
		// Still firing: no second alert, no change.
		f.clock.Advance(5 * time.Minute)
		next = f.feed(t, labels, fill, next, 5*time.Minute)
		if err := ev.Evaluate(ctx); err != nil {
			t.Fatal(err)
		}
		if got := f.alertsOf(t, "db-disk-full"); len(got) != 1 || got[0].Status != alert.Firing || got[0].RefreshCount != a.RefreshCount {
			t.Fatalf("still firing: %+v", got)
		}
		// An hour on, the alert is refreshed with the current forecast.
		f.clock.Advance(metric.RefreshEvery)
		next = f.feed(t, labels, fill, next, 5*time.Minute)
		if err := ev.Evaluate(ctx); err != nil {
			t.Fatal(err)
		}
		if got := f.alertsOf(t, "db-disk-full"); len(got) != 1 || got[0].RefreshCount != a.RefreshCount+1 || got[0].Annotations["reason"] == a.Annotations["reason"] {
			t.Fatalf("refreshed: %+v", got)
		}
		// Clean-up: usage drops to 30 % and stays flat; the forecast is
		// refused (just after a reset) and the alert resolves.
		cleaned := next
		f.clock.Advance(10 * time.Minute)
		f.feed(t, labels, func(at time.Time) float64 {
			if at.Before(cleaned) {
				return fill(at)
			}
			return 0.3
		}, next, 5*time.Minute)
		if err := ev.Evaluate(ctx); err != nil {
			t.Fatal(err)
		}
		if got := f.alertsOf(t, "db-disk-full"); len(got) != 1 || got[0].Status != alert.Resolved {
			t.Fatalf("after the clean-up: %+v", got)
		}
		// The chart draws history and forecast.
		svg, err := f.svc.Chart(f.as(t, "vera"), "db-disk-full", seriesID(t, f, "db1"), 0, 0)
		if err != nil || !strings.HasPrefix(svg, "<svg") {
			t.Fatalf("chart = %.80s, %v", svg, err)
		}
		if st, err := f.svc.RuleStatus(f.as(t, "vera"), "db-disk-full"); err != nil || len(st) != 1 || st[0].Firing || st[0].Condition ||
			!st[0].Insufficient || !strings.Contains(st[0].Reason, "since the reset") {
			t.Fatalf("status after the clean-up = %+v, %v", st, err)
		}
		if _, err := f.svc.Chart(f.as(t, "vera"), "db-disk-full", seriesID(t, f, "web1"), 0, 0); !errs.Is(err, errs.Invalid) {
			t.Fatalf("chart of a series the rule does not match = %v", err)
		}
	})
}

func seriesID(t *testing.T, f *fixture, host string) [16]byte {
	t.Helper()
	s, _, err := f.svc.ListSeries(f.sys, metric.SeriesFilter{Labels: map[string]string{"host": host}})
	if err != nil || len(s) != 1 {
		t.Fatalf("series of %s: %v, %v", host, s, err)
	}
	return s[0].ID
}

func TestEvaluator_SawToothNeverFires(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		f := setup(t, d)
		spec := fillRule()
		spec.Threshold, spec.Window, spec.MinHistory, spec.For, spec.Guard, spec.History = 0.95, "6h", "3h", "", nil, "4d"
		f.putRule(t, "logs-full", spec)
		// The control: without reset detection the same rule pages on
		// the daily fill.
		spec.Options = &metric.TuneSpec{ResetFraction: -1}
		f.putRule(t, "logs-full-naive", spec)
		// Filled 40 → 80 % every day, cleaned up at midnight.
		saw := func(at time.Time) float64 {
			h := at.Sub(at.Truncate(24 * time.Hour)).Hours()
			return 0.4 + 0.4*h/24
		}
		labels := map[string]string{"host": "db9"}
		next := f.feed(t, labels, saw, t0.Add(-4*24*time.Hour), 5*time.Minute)
		ev := f.evaluator()
		for i := range 24 { // every hour of a whole day
			if err := ev.Evaluate(context.Background()); err != nil {
				t.Fatal(err)
			}
			if got := f.alertsOf(t, "logs-full"); len(got) != 0 {
				t.Fatalf("hour %d: saw-tooth fired: %+v", i, got[0].Annotations)
			}
			f.clock.Advance(time.Hour)
			next = f.feed(t, labels, saw, next, 5*time.Minute)
		}
		if got := f.alertsOf(t, "logs-full-naive"); len(got) == 0 {
			t.Fatal("the control rule without reset detection never fired")
		}
	})
}

func TestEvaluator_TooLittleHistoryNeverFires(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		f := setup(t, d)
		spec := fillRule()
		spec.For, spec.Guard = "", nil
		f.putRule(t, "steep", spec)
		// Half an hour of a steep fill: 2 % a minute, past the guard.
		start := t0.Add(-30 * time.Minute)
		f.feed(t, map[string]string{"host": "db2"}, func(at time.Time) float64 { return 0.2 + 0.02*at.Sub(start).Minutes() }, start, time.Minute)
		ev := f.evaluator()
		for range 3 {
			if err := ev.Evaluate(context.Background()); err != nil {
				t.Fatal(err)
			}
			f.clock.Advance(time.Minute)
		}
		if got := f.alertsOf(t, "steep"); len(got) != 0 {
			t.Fatalf("fired on too little history: %+v", got)
		}
	})
}

func TestEvaluator_RestartKeepsPendingAndDeleteResolves(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		f := setup(t, d)
		spec := fillRule()
		spec.For = "30m"
		f.putRule(t, "db-disk-full", spec)
		start := t0.Add(-30 * time.Hour)
		fill := func(at time.Time) float64 { return 0.4 + 0.01*at.Sub(start).Hours() }
		labels := map[string]string{"host": "db1"}
		next := f.feed(t, labels, fill, start, 5*time.Minute)
		if err := f.evaluator().Evaluate(context.Background()); err != nil { // pending since t0
			t.Fatal(err)
		}
		// The process restarts 30 minutes later: a new evaluator over the
		// same database fires at once, as the condition held since t0.
		f.clock.Advance(30 * time.Minute)
		f.feed(t, labels, fill, next, 5*time.Minute)
		ev := f.evaluator()
		if err := ev.Evaluate(context.Background()); err != nil {
			t.Fatal(err)
		}
		if got := f.alertsOf(t, "db-disk-full"); len(got) != 1 || got[0].Status != alert.Firing {
			t.Fatalf("after the restart: %+v", got)
		}
		// Deleting the rule resolves its alert on the next round.
		inTx(t, d, func(tx *sql.Tx) error { return f.svc.DeleteRuleTx(f.sys, tx, "db-disk-full") })
		if err := ev.Evaluate(context.Background()); err != nil {
			t.Fatal(err)
		}
		if got := f.alertsOf(t, "db-disk-full"); len(got) != 1 || got[0].Status != alert.Resolved {
			t.Fatalf("after deleting the rule: %+v", got)
		}
	})
}

func TestRuleSpec_Compile(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(s *metric.RuleSpec)
		field string
	}{
		{"ok", func(s *metric.RuleSpec) {}, ""},
		{"holt winters", func(s *metric.RuleSpec) { s.Method, s.Season, s.Window = "holt_winters", "daily", "" }, ""},
		{"days", func(s *metric.RuleSpec) { s.Horizon = "14d" }, ""},
		{"bad series", func(s *metric.RuleSpec) { s.Series.Name = "a-b" }, "series.name"},
		{"bad matcher", func(s *metric.RuleSpec) { s.Series.Matchers = []string{"x", `host=~"("`} }, "series.matchers[0]"},
		{"bad method", func(s *metric.RuleSpec) { s.Method = "arima" }, "method"},
		{"no season", func(s *metric.RuleSpec) { s.Method = "holt_winters" }, "season"},
		{"season on linear", func(s *metric.RuleSpec) { s.Season = "daily" }, "season"},
		{"no horizon", func(s *metric.RuleSpec) { s.Horizon = "" }, "horizon"},
		{"bad window", func(s *metric.RuleSpec) { s.Window = "soon" }, "window"},
		{"bad for", func(s *metric.RuleSpec) { s.For = "-1m" }, "for"},
		{"window past history", func(s *metric.RuleSpec) { s.History = "6h" }, "window"},
		{"min history past window", func(s *metric.RuleSpec) { s.MinHistory = "12h" }, "min_history"},
		{"bad direction", func(s *metric.RuleSpec) { s.Direction = "up" }, "direction"},
		{"guard below on rising", func(s *metric.RuleSpec) { s.Guard = &metric.Guard{Below: ptr(0.1)} }, "guard.below"},
		{"empty guard", func(s *metric.RuleSpec) { s.Guard = &metric.Guard{} }, "guard"},
		{"bad z", func(s *metric.RuleSpec) { s.Options = &metric.TuneSpec{Z: 11} }, "options.z"},
		{"bad label", func(s *metric.RuleSpec) { s.Labels = map[string]string{"a-b": "x"} }, "labels"},
		{"bad service", func(s *metric.RuleSpec) { s.Service = "Not A Name" }, "service"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := fillRule()
			tt.edit(&s)
			in := metric.RuleInput{Name: "r", Spec: s}
			_, err := in.Validate()
			switch {
			case tt.field == "" && err != nil:
				t.Fatalf("Validate = %v", err)
			case tt.field != "" && (!errs.Is(err, errs.Invalid) || errs.FieldOf(err) != "spec."+tt.field):
				t.Fatalf("Validate = %v (field %q), want spec.%s", err, errs.FieldOf(err), tt.field)
			}
		})
	}
}

func TestPutRule_AuthorizationAndRevisions(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		f := setup(t, d)
		for _, who := range []string{"bob", "vera"} {
			err := d.InTx(context.Background(), func(tx *sql.Tx) error {
				_, _, err := f.svc.PutRuleTx(f.as(t, who), tx, metric.RuleInput{Name: "r", Spec: fillRule()}, "")
				return err
			})
			if !errs.Is(err, errs.Forbidden) {
				t.Fatalf("put as %s = %v", who, err)
			}
		}
		olga := f.as(t, "olga")
		put := func(spec metric.RuleSpec) (r metric.Rule, changed bool) {
			inTx(t, d, func(tx *sql.Tx) (err error) {
				r, changed, err = f.svc.PutRuleTx(olga, tx, metric.RuleInput{Name: "r", Spec: spec}, "set")
				return err
			})
			return r, changed
		}
		if r, changed := put(fillRule()); !changed || r.Revision != 1 {
			t.Fatalf("create: %v %v", r.Revision, changed)
		}
		if r, changed := put(fillRule()); changed || r.Revision != 1 {
			t.Fatalf("same again: %v %v", r.Revision, changed)
		}
		spec := fillRule()
		spec.Threshold = 0.95
		if r, changed := put(spec); !changed || r.Revision != 2 || r.Origin != "set" {
			t.Fatalf("update: %+v %v", r, changed)
		}
		rules, err := f.svc.ListRules(f.as(t, "vera"))
		if err != nil || len(rules) != 1 || rules[0].Spec.Threshold != 0.95 {
			t.Fatalf("list = %+v, %v", rules, err)
		}
	})
}

// TestDocsExample keeps the ForecastRule example in docs/forecasting.md
// valid.
func TestDocsExample(t *testing.T) {
	md, err := os.ReadFile("../../docs/forecasting.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(md), "## ForecastRule\n")
	if !ok {
		t.Fatal("no ForecastRule section")
	}
	_, rest, _ = strings.Cut(rest, "```yaml\n")
	block, _, ok := strings.Cut(rest, "```")
	if !ok {
		t.Fatal("no YAML example")
	}
	docs, err := apply.Parse("forecasting.md", []byte(block))
	if err != nil || len(docs) != 1 || docs[0].Kind != "ForecastRule" {
		t.Fatalf("parse = %v, %v", docs, err)
	}
	var spec metric.RuleSpec
	if err := apply.DecodeSpec(docs[0], &spec); err != nil {
		t.Fatal(err)
	}
	in := metric.RuleInput{Name: docs[0].Metadata.Name, Spec: spec}
	if _, err := in.Validate(); err != nil {
		t.Fatal(err)
	}
}
