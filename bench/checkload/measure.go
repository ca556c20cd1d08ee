package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"groundcrew.dev/groundcrew/bench/harness"

	"groundcrew.dev/groundcrew/internal/check/sched"
)

// resultsDB reads the server's check_results from outside the server (a
// read-only SQLite connection, or the PostgreSQL admin connection), so that
// counting costs the server nothing.
type resultsDB struct {
	db     *sql.DB
	prefix string // schema prefix of table names on PostgreSQL
	own    bool   // close db afterwards
}

func openResultsDB(path string, schema *pgSchema) (*resultsDB, error) {
	if schema != nil {
		return &resultsDB{db: schema.admin, prefix: schema.name + "."}, nil
	}
	d, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		return nil, err
	}
	d.SetMaxOpenConns(1)
	return &resultsDB{db: d, own: true}, nil
}

func (r *resultsDB) close() {
	if r.own {
		r.db.Close()
	}
}

// distinctChecks counts the checks with at least one stored result.
func (r *resultsDB) distinctChecks(ctx context.Context) (int, error) {
	var n int
	err := r.db.QueryRowContext(ctx, "SELECT count(DISTINCT check_id) FROM "+r.prefix+"check_results").Scan(&n)
	return n, err
}

// maxID is the highest result id: results stored so far.
func (r *resultsDB) maxID(ctx context.Context) (int64, error) {
	var n int64
	err := r.db.QueryRowContext(ctx, "SELECT coalesce(max(id), 0) FROM "+r.prefix+"check_results").Scan(&n)
	return n, err
}

// checkIDs returns the id of every check by name.
func (r *resultsDB) checkIDs(ctx context.Context) (map[string]string, error) {
	rows, err := r.db.QueryContext(ctx, "SELECT name, id FROM "+r.prefix+"checks")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var name, id string
		if err := rows.Scan(&name, &id); err != nil {
			return nil, err
		}
		out[name] = strings.ToLower(id)
	}
	return out, rows.Err()
}

// lastSlot returns the latest slot at or before at of an item with offset
// off and interval iv (Unix ns), as internal/check/sched lays them out.
func lastSlot(off, iv, at int64) int64 {
	d := at - off
	k := d / iv
	if d%iv < 0 {
		k--
	}
	return off + k*iv
}

// runStats is what the target saw of the runs whose slot fell in a window.
type runStats struct {
	runs             int             // probes whose slot is in the window
	lateness         []time.Duration // arrival minus slot, sorted
	perCheckMin      int             // fewest runs of one check
	perCheckMax      int
	checksShort      int // checks with fewer runs than slots in the window
	checksExtra      int // checks with more
	expectedPerCheck int
}

// windowRuns attributes each hit to its slot and keeps those whose slot is
// in [from, to). offsets[i] is check i's offset, -1 if unknown.
func windowRuns(hits []hit, offsets []int64, iv time.Duration, from, to int64) runStats {
	ivn := int64(iv)
	per := make([]int, len(offsets))
	var st runStats
	for _, h := range hits {
		off := offsets[h.idx]
		if off < 0 {
			continue
		}
		slot := lastSlot(off, ivn, h.at)
		if slot < from || slot >= to {
			continue
		}
		st.runs++
		per[h.idx]++
		st.lateness = append(st.lateness, time.Duration(h.at-slot))
	}
	slices.Sort(st.lateness)
	st.expectedPerCheck = int((to - from) / ivn)
	st.perCheckMin = -1
	for i, n := range per {
		if offsets[i] < 0 {
			continue
		}
		// A window of k whole intervals holds exactly k slots of every
		// check; a partial interval may hold one more.
		want := st.expectedPerCheck
		if (to-from)%ivn != 0 && slotsIn(offsets[i], ivn, from, to) > want {
			want++
		}
		if n < want {
			st.checksShort++
		}
		if n > want {
			st.checksExtra++
		}
		if st.perCheckMin < 0 || n < st.perCheckMin {
			st.perCheckMin = n
		}
		st.perCheckMax = max(st.perCheckMax, n)
	}
	return st
}

// slotsIn counts the slots of an item in [from, to).
func slotsIn(off, iv, from, to int64) int {
	n := 0
	for s := lastSlot(off, iv, from-1) + iv; s < to && n < 1<<20; s += iv {
		n++
	}
	return n
}

// offsets returns each check's offset within the interval, by index.
func offsets(n int, ids map[string]string, iv time.Duration) []int64 {
	out := make([]int64, n)
	for i := range out {
		id, ok := ids[checkName(i)]
		if !ok {
			out[i] = -1
			continue
		}
		out[i] = int64(sched.Offset(id, iv))
	}
	return out
}

// percentile is the nearest-rank percentile of sorted samples.
func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*q+0.9999999) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// metrics is what one /metrics scrape said, and what it cost.
type metrics struct {
	ok            bool
	runs, skipped float64
	lateP50       time.Duration
	lateP99       time.Duration
	took          time.Duration
	bytes         int
}

func scrapeMetrics(ctx context.Context, c *client) metrics {
	var buf bytes.Buffer
	code, took, err := c.get(ctx, "/metrics", &buf)
	if err != nil || code != http.StatusOK {
		logf("scrape /metrics: %d %v", code, err)
		return metrics{}
	}
	m := parseMetrics(buf.Bytes())
	m.took, m.bytes = took, buf.Len()
	return m
}

// parseMetrics picks the scheduler's figures out of the text format.
func parseMetrics(b []byte) metrics {
	m := metrics{ok: true}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "groundcrew_check_") {
			continue
		}
		name, val, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
		if err != nil {
			continue
		}
		secs := time.Duration(v * float64(time.Second))
		switch name {
		case "groundcrew_check_runs_total":
			m.runs = v
		case "groundcrew_check_skipped_total":
			m.skipped = v
		case `groundcrew_check_lateness_seconds{quantile="0.5"}`:
			m.lateP50 = secs
		case `groundcrew_check_lateness_seconds{quantile="0.99"}`:
			m.lateP99 = secs
		}
	}
	return m
}

// latency is the outcome of timing one page again and again.
type latency struct {
	name      string
	samples   []time.Duration // sorted
	errors    int
	firstErr  string
	bytes     int // of the last answer
	items     int // items in the last API answer, -1 for a page
	truncated bool
}

// timeRequests sends n sequential GETs of path (after a few unmeasured
// ones), stopping early after maxTime.
func timeRequests(ctx context.Context, c *client, name, path string, n int, maxTime time.Duration) latency {
	l := latency{name: name, items: -1}
	var buf bytes.Buffer
	for range 3 { // warm caches and connections
		c.get(ctx, path, &buf)
	}
	deadline := time.Now().Add(maxTime)
	for i := 0; i < n && ctx.Err() == nil; i++ {
		if time.Now().After(deadline) {
			l.truncated = true
			break
		}
		code, took, err := c.get(ctx, path, &buf)
		if err != nil || code != http.StatusOK {
			l.errors++
			if l.firstErr == "" {
				l.firstErr = fmt.Sprintf("%d %v %s", code, err, truncate(buf.String(), 200))
			}
			continue
		}
		l.samples = append(l.samples, took)
		l.bytes = buf.Len()
	}
	if strings.HasPrefix(path, "/api/") {
		l.items = bytes.Count(buf.Bytes(), []byte(`"revision":`)) // one per check
	}
	slices.Sort(l.samples)
	return l
}

func (l latency) String() string {
	s := fmt.Sprintf("%-34s n=%d p50 %s p99 %s max %s, %d B", l.name, len(l.samples),
		ms(percentile(l.samples, .5)), ms(percentile(l.samples, .99)), ms(percentile(l.samples, 1)), l.bytes)
	if l.items >= 0 {
		s += fmt.Sprintf(", %d items", l.items)
	}
	if l.errors > 0 {
		s += fmt.Sprintf(", %d errors (%s)", l.errors, l.firstErr)
	}
	if l.truncated {
		s += " (stopped at the time limit)"
	}
	return s
}

func ms(d time.Duration) string {
	switch {
	case d >= 10*time.Second:
		return fmt.Sprintf("%.0f s", d.Seconds())
	case d >= time.Second:
		return fmt.Sprintf("%.2f s", d.Seconds())
	case d >= 10*time.Millisecond:
		return fmt.Sprintf("%.0f ms", float64(d)/1e6)
	default:
		return fmt.Sprintf("%.1f ms", float64(d)/1e6)
	}
}

// apiloadPatterns find a running bench/apiload, which would compete for
// the CPUs.
var apiloadPatterns = []string{"bench/apiload", "apiload -bin"}

// apiloadRunning reports whether an apiload benchmark runs now.
func apiloadRunning(ctx context.Context) bool {
	for _, p := range apiloadPatterns {
		out, _ := exec.CommandContext(ctx, "pgrep", "-f", p).Output()
		for _, f := range strings.Fields(string(out)) {
			if pid, err := strconv.Atoi(f); err == nil && pid != os.Getpid() {
				return true
			}
		}
	}
	return false
}

// waitApiload waits, polling every 10 s and at most maxWait, until no
// apiload runs. It reports how long it waited and whether apiload still
// ran when it gave up.
func waitApiload(ctx context.Context, maxWait time.Duration) (time.Duration, bool) {
	start := time.Now()
	said := false
	for apiloadRunning(ctx) {
		if time.Since(start) >= maxWait {
			logf("apiload still runs after %s; measuring anyway", maxWait.Round(time.Second))
			return time.Since(start), true
		}
		if !said {
			logf("apiload is running; waiting for it to finish (at most %s)", maxWait)
			said = true
		}
		select {
		case <-ctx.Done():
			return time.Since(start), true
		case <-time.After(10 * time.Second):
		}
	}
	if said {
		logf("apiload finished after %s", time.Since(start).Round(time.Second))
	}
	return time.Since(start), false
}

// waitQuiet waits, at most maxWait, until the work on the machine other
// than the server, PostgreSQL and this process has stayed under a quarter
// of a core for five seconds in a row, so that the window does not start
// while, say, a test suite competes for the CPUs. It reports how long it
// waited and whether it gave up.
func waitQuiet(ctx context.Context, pid int, pg bool, maxWait time.Duration) (time.Duration, bool) {
	const calmCores, calmSeconds = 0.25, 5
	start := time.Now()
	ours := func() time.Duration {
		d, _, _ := harness.ProcCPU(pid)
		d += harness.SelfCPU()
		if pg {
			for _, t := range harness.CommCPU("postgres") {
				d += t
			}
		}
		return d
	}
	busy0, total0 := harness.MachineCPU()
	ours0 := ours()
	calm, said := 0, false
	for calm < calmSeconds {
		if time.Since(start) >= maxWait {
			logf("the machine is still busy after %s; measuring anyway (see the other CPU)", maxWait.Round(time.Second))
			return time.Since(start), true
		}
		select {
		case <-ctx.Done():
			return time.Since(start), true
		case <-time.After(time.Second):
		}
		busy1, total1 := harness.MachineCPU()
		ours1 := ours()
		other := 0.0
		if total1 > total0 {
			ticks := float64(total1-total0) / float64(runtime.NumCPU()) // ticks per CPU in the interval
			other = float64(busy1-busy0)/ticks - (ours1-ours0).Seconds()*harness.UserHZ/ticks
		}
		busy0, total0, ours0 = busy1, total1, ours1
		if other < calmCores {
			calm++
			continue
		}
		calm = 0
		if !said {
			logf("other work uses %.2f cores; waiting for the machine to calm down (at most %s)", other, maxWait)
			said = true
		}
	}
	return time.Since(start), false
}
