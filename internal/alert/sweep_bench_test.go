package alert_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"groundcrew.dev/groundcrew/internal/alert"
	"groundcrew.dev/groundcrew/internal/db/dbtest"
)

// BenchmarkSweep measures an expiry storm: 5,000 firing alerts whose
// endsAt passed at once (their Prometheus gone), resolved by one Sweep.
// Reports expired alerts per second of Sweep. SQLite, and PostgreSQL
// when GROUNDCREW_TEST_POSTGRES is set.
//
//	go test -run XXX -bench Sweep -benchtime 5x ./internal/alert/
func BenchmarkSweep(b *testing.B) {
	for engine, dsn := range dbtest.Engines(b) {
		b.Run(string(engine), func(b *testing.B) {
			d := dbtest.Open(b, dsn(b))
			f := setup(b, d, alert.Options{})
			ctx := context.Background()
			_, key, err := f.svc.CreateIntegration(f.sys, alert.IntegrationInput{Name: "prom", Type: alert.TypeAlertmanager})
			if err != nil {
				b.Fatal(err)
			}
			it, err := f.svc.Authenticate(ctx, key)
			if err != nil {
				b.Fatal(err)
			}
			const n, batch = 5000, 100
			total := 0
			var took time.Duration
			for i := 0; b.Loop(); i++ {
				b.StopTimer()
				ends := f.clock.Now().Add(time.Minute)
				for k := 0; k < n; k += batch {
					in := make([]alert.Incoming, batch)
					for j := range in {
						in[j] = am(map[string]string{"alertname": "Gone", "instance": fmt.Sprintf("host-%d-%05d", i, k+j)}, ends)
					}
					if _, err := f.svc.Ingest(ctx, it, in, "alerts"); err != nil {
						b.Fatal(err)
					}
				}
				f.clock.Advance(2 * time.Minute)
				b.StartTimer()
				t0 := time.Now()
				for left := n; left > 0; {
					k, err := f.svc.Sweep(ctx)
					if err != nil {
						b.Fatal(err)
					}
					if k == 0 {
						b.Fatalf("%d alerts left unswept", left)
					}
					left -= k
				}
				took += time.Since(t0)
				total += n
			}
			b.ReportMetric(float64(total)/took.Seconds(), "alerts/s")
		})
	}
}
