package statuspage

import (
	"context"
	"encoding/xml"
	"errors"
	"net/http/httptest"
	"regexp"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"groundcrew.dev/groundcrew/internal/check"
	"groundcrew.dev/groundcrew/internal/clock"
)

func TestComponentStatus(t *testing.T) {
	const (
		up, deg, down, blk, unk, paused = check.Up, check.Degraded, check.Down, check.Blocked, check.Unknown, check.Paused
	)
	for _, tc := range []struct {
		name   string
		checks []check.Status
		want   Status
	}{
		{"no checks", nil, NoData},
		{"only unknown and paused", []check.Status{unk, paused}, NoData},
		{"all up", []check.Status{up, up}, Operational},
		{"unknown ignored", []check.Status{up, unk}, Operational},
		{"one degraded", []check.Status{up, deg}, Degraded},
		{"one down of two", []check.Status{up, down}, PartialOutage},
		{"down beats degraded", []check.Status{deg, down, up}, PartialOutage},
		{"all down", []check.Status{down, down}, MajorOutage},
		{"blocked counts as down", []check.Status{blk}, MajorOutage},
		{"blocked and up", []check.Status{blk, up}, PartialOutage},
		{"paused ignored, rest down", []check.Status{paused, down}, MajorOutage},
	} {
		if got := ComponentStatus(tc.checks); got != tc.want {
			t.Errorf("%s: ComponentStatus(%v) = %s, want %s", tc.name, tc.checks, got, tc.want)
		}
	}
}

func TestOverall(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []Status
		want Status
	}{
		{"no components", nil, NoData},
		{"no data anywhere", []Status{NoData, NoData}, NoData},
		{"all operational", []Status{Operational, Operational}, Operational},
		{"no data ignored", []Status{Operational, NoData}, Operational},
		{"maintenance", []Status{Operational, UnderMaintenance}, UnderMaintenance},
		{"degraded beats maintenance", []Status{Degraded, UnderMaintenance}, Degraded},
		{"partial", []Status{Operational, PartialOutage}, PartialOutage},
		{"one major among working is partial", []Status{Operational, MajorOutage}, PartialOutage},
		{"all major", []Status{MajorOutage, MajorOutage, NoData}, MajorOutage},
	} {
		if got := Overall(tc.in); got != tc.want {
			t.Errorf("%s: Overall(%v) = %s, want %s", tc.name, tc.in, got, tc.want)
		}
	}
}

func TestEffectiveStatus(t *testing.T) {
	at := func(h int) time.Time { return time.Date(2026, 3, 1, h, 0, 0, 0, time.UTC) }
	end := at(12)
	closed := at(11)
	m := Notice{Kind: Maintenance, Status: Scheduled, StartsAt: at(10), EndsAt: &end}
	for _, tc := range []struct {
		name string
		n    Notice
		now  time.Time
		want NoticeStatus
	}{
		{"before the window", m, at(9), Scheduled},
		{"at its start", m, at(10), InProgress},
		{"started early by hand", func() Notice { n := m; n.Status = InProgress; return n }(), at(9), InProgress},
		{"at its end", m, at(12), Completed},
		{"completed early by hand", func() Notice { n := m; n.Status, n.ClosedAt = Completed, &closed; return n }(), at(11), Completed},
		{"incidents show what was posted", Notice{Kind: Incident, Status: Monitoring, StartsAt: at(1)}, at(23), Monitoring},
	} {
		if got := EffectiveStatus(tc.n, tc.now); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
}

func TestFormatPercent(t *testing.T) {
	for _, tc := range []struct {
		in   float64
		want string
	}{{100, "100%"}, {99.95, "99.95%"}, {99.9, "99.9%"}, {99.999, "99.999%"}, {99.99999, "99.9999%"}, {50, "50%"}, {0, "0%"}, {12.345, "12.35%"}} {
		if got := formatPercent(tc.in); got != tc.want {
			t.Errorf("formatPercent(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestParseWindow(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"", 30 * 24 * time.Hour, true}, {"24h", 24 * time.Hour, true}, {"7d", 7 * 24 * time.Hour, true}, {"90d", 90 * 24 * time.Hour, true},
		{"2160h", 90 * 24 * time.Hour, true}, {"91d", 0, false}, {"0d", 0, false}, {"07d", 0, false}, {"-1d", 0, false}, {"1w", 0, false},
		{"d", 0, false}, {"1.5d", 0, false}, {"+1d", 0, false}, {"1000h", 1000 * time.Hour, true}, {"10000h", 0, false},
	} {
		got, err := ParseWindow(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseWindow(%q) = %s, %v; want %s, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func FuzzParseWindow(f *testing.F) {
	for _, s := range []string{"", "1h", "30d", "90d", "91d", "0h", "1x", "٣d", "9999999999999999999d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseWindow(s)
		if err == nil && (d <= 0 || d > MaxBadgeWindow) {
			t.Fatalf("ParseWindow(%q) = %s", s, d)
		}
	})
}

// FuzzBadge checks that any label a URL may carry yields well-formed SVG
// that says it.
func FuzzBadge(f *testing.F) {
	for _, s := range []string{"status", "<script>", "a&b", `"'`, "]]>", "é✓", "\u202e"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		label, err := cleanLabel(s, "status")
		if err != nil {
			return
		}
		if !utf8.ValidString(label) {
			t.Fatalf("cleanLabel(%q) accepted invalid UTF-8", s)
		}
		var svg struct {
			Title string `xml:"title"`
		}
		b := Badge(label, "up", colorGood)
		if err := xml.Unmarshal(b, &svg); err != nil {
			t.Fatalf("Badge(%q) is not XML: %v\n%s", label, err, b)
		}
		if svg.Title != label+": up" {
			t.Fatalf("Badge(%q) title %q", label, svg.Title)
		}
	})
}

func TestBadge_IDsDifferPerBadge(t *testing.T) {
	id := regexp.MustCompile(`<clipPath id="([^"]+)"`)
	a := id.FindSubmatch(Badge("status", "up", colorGood))
	b := id.FindSubmatch(Badge("status", "down", colorBad))
	if a == nil || b == nil || string(a[1]) == string(b[1]) {
		t.Errorf("clip path ids %q and %q: badges inlined in one page would share one", a, b)
	}
}

func TestNoneMatch(t *testing.T) {
	for _, tc := range []struct {
		header string
		want   bool
	}{{"", false}, {`"a"`, true}, {`W/"a"`, true}, {`"b", "a"`, true}, {`"b"`, false}, {"*", true}, {`"a`, false}} {
		if got := noneMatch(tc.header, `"a"`); got != tc.want {
			t.Errorf("noneMatch(%q) = %v", tc.header, got)
		}
	}
}

func TestAcceptsGzip(t *testing.T) {
	for _, tc := range []struct {
		header string
		want   bool
	}{{"", false}, {"gzip", true}, {"br, gzip;q=0.8", true}, {"GZIP", true}, {"gzip;q=0", false}, {"identity", false}, {"x-gzip", false}} {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Accept-Encoding", tc.header)
		if got := acceptsGzip(r); got != tc.want {
			t.Errorf("acceptsGzip(%q) = %v", tc.header, got)
		}
	}
}

func TestCache_OneComputationAtATime(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	c := newCache[int](10*time.Second, clk)
	var calls atomic.Int32
	release := make(chan struct{})
	fill := func() (int, error) {
		<-release
		return int(calls.Add(1)), nil
	}
	var wg sync.WaitGroup
	results := make([]int, 20)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], _ = c.get(context.Background(), "p", fill)
		}()
	}
	time.Sleep(20 * time.Millisecond) // let them pile up behind the first
	close(release)
	wg.Wait()
	for i, r := range results {
		if r != 1 {
			t.Fatalf("request %d got value %d: computed %d times", i, r, calls.Load())
		}
	}
	get := func() int {
		v, err := c.get(context.Background(), "p", fill)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	clk.Advance(9 * time.Second)
	if v := get(); v != 1 {
		t.Errorf("within the TTL: %d", v)
	}
	clk.Advance(time.Second)
	if v := get(); v != 2 {
		t.Errorf("after the TTL: %d", v)
	}
	c.forget("p")
	if v := get(); v != 3 {
		t.Errorf("after forget: %d", v)
	}
	c.forget("")
	if c.len() != 0 {
		t.Errorf("forget all left %d", c.len())
	}
	// Errors are not kept.
	boom := errors.New("boom")
	if _, err := c.get(context.Background(), "q", func() (int, error) { return 0, boom }); err != boom {
		t.Errorf("error = %v", err)
	}
	if c.len() != 0 {
		t.Errorf("a failed computation was kept")
	}
	// A waiter gives up with its context.
	block := make(chan struct{})
	go c.get(context.Background(), "slow", func() (int, error) { <-block; return 1, nil })
	time.Sleep(10 * time.Millisecond)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.get(ctx, "slow", fill); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled waiter: %v", err)
	}
	close(block)
}

func TestHistory_DayLevels(t *testing.T) {
	last := time.Date(2026, 5, 10, 15, 0, 0, 0, time.UTC)
	days, uptime := history(map[string][]checkDay{
		"2026-05-10": {{runs: 10}},
		"2026-05-09": {{runs: 10, degraded: 1}},
		"2026-05-08": {{runs: 100, down: 2}, {runs: 1}}, // (98 + 100) / 2 = 99
		"2026-05-07": {{runs: 100, down: 3}},
		"2026-05-06": {{runs: 0}},
		"2026-05-01": {{runs: 5}}, // before the window
	}, last, 5)
	want := []struct {
		date  string
		level DayLevel
	}{{"2026-05-06", DayNone}, {"2026-05-07", DayMajor}, {"2026-05-08", DayMinor}, {"2026-05-09", DayMinor}, {"2026-05-10", DayUp}}
	for i, w := range want {
		if days[i].Date != w.date || days[i].Level != w.level {
			t.Errorf("day %d = %s %s, want %s %s", i, days[i].Date, days[i].Level, w.date, w.level)
		}
	}
	if uptime == nil || *uptime != (97+99+100+100)/4.0 {
		t.Errorf("uptime = %v", uptime)
	}
}
