//go:build ignore

// gen_disk writes disk_var_build01.csv: a SYNTHETIC but realistic recording of
// the usage (%) of /var on a CI build host, made for the backtest because no
// real recording may be shipped. Run: go run gen_disk.go > disk_var_build01.csv
//
// The story, in Europe/Berlin time: builds write 0.35 %/h in working hours
// (Mon–Fri 08–19), 0.05 %/h at night, 0.02 %/h at weekends; logrotate frees
// 0.8 % every night at 03:00; a weekly clean-up on Sunday at 04:00 deletes old
// artifacts back to about 52 % (plus 1 % creep a week). On Tue 24 March at
// 10:00 a runaway debug log starts writing 1.2 %/h, and the disk fills (to
// 100 %, where it stays) before anyone notices. Samples every 5 min with ±20 s
// jitter, 0.15 % Gaussian noise, an agent outage (no samples) on 12 March
// 13:00–16:30, and 0.5 % of samples dropped at random. Fixed seed.
package main

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

func main() {
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		panic(err)
	}
	rng := rand.New(rand.NewPCG(20260302, 4))
	start := time.Date(2026, 3, 2, 0, 0, 0, 0, loc) // a Monday
	end := time.Date(2026, 3, 25, 18, 0, 0, 0, loc)
	runaway := time.Date(2026, 3, 24, 10, 0, 0, 0, loc)
	outFrom := time.Date(2026, 3, 12, 13, 0, 0, 0, loc)
	outTo := time.Date(2026, 3, 12, 16, 30, 0, 0, loc)
	const step = time.Minute
	usage, weeks := 52.0, 0
	fmt.Println("time,value")
	for t := start; t.Before(end); t = t.Add(step) {
		l := t.In(loc)
		rate := 0.05
		switch {
		case l.Weekday() == time.Saturday || l.Weekday() == time.Sunday:
			rate = 0.02
		case l.Hour() >= 8 && l.Hour() < 19:
			rate = 0.35
		}
		if !t.Before(runaway) {
			rate += 1.2
		}
		usage += rate * step.Hours()
		if l.Hour() == 3 && l.Minute() == 0 {
			usage -= 0.8
		}
		if l.Weekday() == time.Sunday && l.Hour() == 4 && l.Minute() == 0 {
			weeks++
			usage = 52 + float64(weeks) + rng.NormFloat64()*0.3
		}
		usage = math.Min(usage, 100)
		if l.Minute()%5 != 0 || (!t.Before(outFrom) && t.Before(outTo)) || rng.Float64() < 0.005 {
			continue
		}
		at := t.Add(time.Duration((rng.Float64()*2 - 1) * 20 * float64(time.Second)))
		v := math.Min(usage+rng.NormFloat64()*0.15, 100)
		fmt.Printf("%s,%.2f\n", at.UTC().Format(time.RFC3339), v)
	}
}
