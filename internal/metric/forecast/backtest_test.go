package forecast_test

import (
	"os"
	"strings"
	"testing"
	"time"

	"groundcrew.dev/groundcrew/internal/metric/forecast"
)

// loadFixture reads the synthetic recording described in testdata/gen_disk.go.
func loadFixture(t testing.TB) []forecast.Point {
	t.Helper()
	f, err := os.Open("testdata/disk_var_build01.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pts, err := forecast.ParseCSV(f)
	if err != nil {
		t.Fatal(err)
	}
	return pts
}

// TestBacktestDisk replays three weeks of a build host's /var (weekly
// clean-ups, nightly logrotate, then a runaway log) with "full (90 %) within
// 24 h" rules: no false alarm in the saw-tooth weeks, and the runaway is
// predicted hours ahead with a bounded error.
func TestBacktestDisk(t *testing.T) {
	pts := loadFixture(t)
	runaway := time.Date(2026, 3, 24, 9, 0, 0, 0, time.UTC)
	cases := []struct {
		name      string
		rule      forecast.Rule
		maxMedian time.Duration
	}{
		{"linear 12h window", forecast.Rule{Method: forecast.Linear, Options: forecast.Options{Window: 12 * time.Hour}}, 2 * time.Hour},
		{"linear 24h window", forecast.Rule{Method: forecast.Linear, Options: forecast.Options{Window: 24 * time.Hour}}, 6 * time.Hour},
		{"holt 12h window", forecast.Rule{Method: forecast.Holt, Options: forecast.Options{Window: 12 * time.Hour}}, 2 * time.Hour},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rule := tc.rule
			rule.Threshold, rule.Direction, rule.Horizon = 90, forecast.Rising, 24*time.Hour
			bt, err := forecast.RunBacktest(pts, forecast.BacktestOptions{Rule: rule, Every: 30 * time.Minute})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%d cut-offs: %d hits, %d false alarms, %d misses, %d quiet, %d refused; |error| median %s, mean %s, max %s; band coverage %.0f%%",
				len(bt.Cutoffs), bt.Hits, bt.FalseAlarms, bt.Misses, bt.Quiet, bt.Refused,
				bt.MedianAbsError.Round(time.Minute), bt.MeanAbsError.Round(time.Minute), bt.MaxAbsError.Round(time.Minute), 100*bt.BandCoverage)
			var first time.Time
			for _, c := range bt.Cutoffs {
				if c.Firing && c.At.Before(runaway) {
					t.Errorf("false alarm before the runaway at %s: %s", c.At, c.Verdict.Reason)
				}
				if c.Firing && first.IsZero() {
					first = c.At
					t.Logf("first firing at %s: %s (actual crossing %s)", c.At.Format(time.RFC3339), c.Verdict.Reason, c.Actual.Format(time.RFC3339))
				}
			}
			if bt.Hits == 0 || bt.MedianAbsError > tc.maxMedian {
				t.Errorf("hits %d, median |error| %s; want hits and at most %s", bt.Hits, bt.MedianAbsError, tc.maxMedian)
			}
		})
	}
}

// TestBacktestLogs replays /var/log on a web host that logrotate brings
// from ~82 % back to 30 % every midnight, until the rotation breaks (see
// testdata/gen_logs.go), with "90 % within 12 h" over a 6 h window, 3 days
// of history and a 30 min `for`. Once two rotations are seen, the saw-tooth guard keeps the
// steep daily fill from paging; without reset detection it pages every
// evening. The broken rotation pages within the hour.
func TestBacktestLogs(t *testing.T) {
	f, err := os.Open("testdata/logs_web01.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pts, err := forecast.ParseCSV(f)
	if err != nil {
		t.Fatal(err)
	}
	learned := time.Date(2026, 3, 3, 0, 5, 0, 0, time.UTC) // the second rotation
	broken := time.Date(2026, 3, 12, 0, 5, 0, 0, time.UTC) // the rotation that did not happen
	run := func(t *testing.T, m forecast.Method, resetFraction float64) (daysPaged int, first time.Time, bt forecast.Backtest) {
		t.Helper()
		rule := forecast.Rule{Method: m, Options: forecast.Options{Window: 6 * time.Hour, ResetFraction: resetFraction},
			Threshold: 90, Direction: forecast.Rising, Horizon: 12 * time.Hour}
		bt, err := forecast.RunBacktest(pts, forecast.BacktestOptions{Rule: rule, Every: 15 * time.Minute, History: 72 * time.Hour, For: 30 * time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		days := map[string]bool{}
		for _, c := range bt.Cutoffs {
			switch {
			case c.Firing && !c.At.Before(learned) && c.At.Before(broken):
				days[c.At.Format(time.DateOnly)] = true
			case c.Firing && !c.At.Before(broken) && first.IsZero():
				first = c.At
			}
		}
		t.Logf("%s, reset_fraction %g: %d alerts, %d hits, %d false alarms, %d misses; |error| median %s, max %s; band coverage %.0f%%; paged on %d days while rotating; first page %s after the missed rotation",
			m, resetFraction, bt.Alerts, bt.Hits, bt.FalseAlarms, bt.Misses, bt.MedianAbsError.Round(time.Minute), bt.MaxAbsError.Round(time.Minute),
			100*bt.BandCoverage, len(days), first.Sub(broken).Round(time.Minute))
		return len(days), first, bt
	}
	for _, m := range []forecast.Method{forecast.Linear, forecast.Holt} {
		t.Run(string(m), func(t *testing.T) {
			days, first, bt := run(t, m, 0)
			if days != 0 {
				t.Errorf("paged on %d days while the rotation worked", days)
			}
			if first.IsZero() || first.Sub(broken) > time.Hour || bt.Hits == 0 {
				t.Errorf("first page after the missed rotation at %s, hits %d; want within 1h", first, bt.Hits)
			}
			if days, _, _ := run(t, m, -1); days < 7 {
				t.Errorf("without reset detection paged on only %d of 9 days; the fixture proves nothing", days)
			}
		})
	}
}

func TestParseCSV(t *testing.T) {
	pts, err := forecast.ParseCSV(strings.NewReader("time,value\n# comment\n1767225600,1.5\n2026-01-01T00:00:00Z,2\n\n1767225500.5,0\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(pts) != 3 || pts[0].V != 0 || pts[1].V != 1.5 || pts[2].V != 2 {
		t.Errorf("got %+v", pts)
	}
	for _, bad := range []string{"x,1\ny,2\n", "1767225600,NaN\n", "1767225600\n", "1767225600,1,2\n", "1767225600,\"1\n"} {
		if _, err := forecast.ParseCSV(strings.NewReader(bad)); err == nil {
			t.Errorf("ParseCSV(%q): no error", bad)
		}
	}
}

func FuzzParseCSV(f *testing.F) {
	f.Add("time,value\n2026-01-01T00:00:00Z,1\n1767225600,2\n")
	f.Add("1e9,1e308\n")
	f.Add("# x\n\n,\n")
	f.Fuzz(func(t *testing.T, s string) {
		pts, err := forecast.ParseCSV(strings.NewReader(s))
		if err != nil {
			return
		}
		// Whatever parses must forecast without panicking.
		if r, err := forecast.Forecast(pts, forecast.Linear, forecast.Options{MinPoints: 3, MinSpan: time.Second}); err == nil {
			forecast.Crossing(r, 1, forecast.Rising, time.Hour)
			_ = forecast.SVG(pts, r, 1, 300, 100)
		}
	})
}
