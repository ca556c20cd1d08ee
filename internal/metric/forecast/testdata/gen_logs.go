//go:build ignore

// gen_logs writes logs_web01.csv: a SYNTHETIC but realistic recording of the
// usage (%) of /var/log on a busy web host, made for the backtest because no
// real recording may be shipped. Run: go run gen_logs.go > logs_web01.csv
//
// The story (UTC): access logs grow 1.5 %/h at night (00–08) and 2.5 %/h by
// day; logrotate runs at midnight (a few minutes late at random) and brings
// the disk back to about 30 %, so it peaks near 82 % every evening — a
// saw-tooth. On 12 March the rotation silently stops (a broken cron entry);
// the disk passes 90 % at about 05:20 and fills up. Samples every 2 minutes
// with ±15 s jitter, 0.2 % Gaussian noise, 1 % of samples dropped. Fixed seed.
package main

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

func main() {
	rng := rand.New(rand.NewPCG(20260301, 7))
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	end := time.Date(2026, 3, 12, 12, 0, 0, 0, time.UTC)
	broken := time.Date(2026, 3, 12, 0, 0, 0, 0, time.UTC)
	usage := 30.0
	rotateAt := start.Add(24*time.Hour + time.Duration(rng.IntN(5))*time.Minute)
	fmt.Println("time,value")
	for t := start; t.Before(end); t = t.Add(time.Minute) {
		rate := 2.5
		if t.Hour() < 8 {
			rate = 1.5
		}
		usage = math.Min(usage+rate/60, 100)
		if !t.Before(rotateAt) {
			if t.Before(broken) {
				usage = 30 + rng.NormFloat64()*0.5
			}
			rotateAt = rotateAt.Truncate(24 * time.Hour).Add(24*time.Hour + time.Duration(rng.IntN(5))*time.Minute)
		}
		if t.Minute()%2 != 0 || rng.Float64() < 0.01 {
			continue
		}
		at := t.Add(time.Duration((rng.Float64()*2 - 1) * 15 * float64(time.Second)))
		fmt.Printf("%s,%.2f\n", at.Format(time.RFC3339), math.Min(usage+rng.NormFloat64()*0.2, 100))
	}
}
