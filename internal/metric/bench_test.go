package metric_test

import (
	"context"
	"database/sql"
	"fmt"
	"testing"
	"time"

	"groundcrew.dev/groundcrew/internal/alert"
	"groundcrew.dev/groundcrew/internal/catalog"
	"groundcrew.dev/groundcrew/internal/clock"
	"groundcrew.dev/groundcrew/internal/db/dbtest"
	"groundcrew.dev/groundcrew/internal/identity"
	"groundcrew.dev/groundcrew/internal/metric"
)

// BenchmarkEvaluate measures one evaluator round over benchSeries series
// of three days a minute apart (4,320 samples each) with a linear rule, on
// SQLite: loading the history dominates.
func BenchmarkEvaluate(b *testing.B) {
	const benchSeries = 50
	d := dbtest.Open(b, dbtest.SQLiteDSN(b))
	clk := clock.NewFake(t0)
	ids := identity.NewService(d, clk, nil, identity.Options{})
	svc := metric.NewService(d, clk, metric.Options{})
	alerts := alert.NewService(d, clk, catalog.New(d, clk, ids, nil), ids, alert.Options{})
	sys := identity.WithActor(context.Background(), identity.System())
	start := t0.Add(-72 * time.Hour)
	pushStart := time.Now()
	for s := range benchSeries {
		var batch []metric.Sample
		for at := start; !at.After(t0); at = at.Add(time.Minute) {
			batch = append(batch, metric.Sample{T: at, V: 0.3 + 0.002*at.Sub(start).Hours() + 0.01*float64(at.Minute()%7)})
		}
		for len(batch) > 0 {
			k := min(len(batch), metric.MaxSamplesPerPush)
			if _, err := svc.Push(sys, push("fs_used_ratio", map[string]string{"host": fmt.Sprintf("db%d", s)}, batch[:k]...)); err != nil {
				b.Fatal(err)
			}
			batch = batch[k:]
		}
	}
	pushRate := float64(benchSeries*4321) / time.Since(pushStart).Seconds()
	spec := fillRule()
	spec.History = "3d"
	if err := d.InTx(context.Background(), func(tx *sql.Tx) error {
		_, _, err := svc.PutRuleTx(sys, tx, metric.RuleInput{Name: "bench", Spec: spec}, "")
		return err
	}); err != nil {
		b.Fatal(err)
	}
	ev := metric.NewEvaluator(svc, alerts, metric.EvaluatorOptions{Clock: clk})
	b.ResetTimer()
	for b.Loop() {
		if err := ev.Evaluate(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(pushRate, "pushed-samples/s")
}
