package main

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"groundcrew.dev/groundcrew/bench/harness"
)

// result is what one storm measured.
type result struct {
	storm    *stormResult
	opened   int // pages the server lists; -1 unknown
	use      usage
	expected int // pages: one per service

	delivered  int
	lastPage   time.Duration   // the last page's arrival − the last accepted post
	sinceLast  []time.Duration // per page: arrival − the last accepted post, sorted
	sinceGroup []time.Duration // per page: arrival − (its service's first post + group_wait), sorted
	missing    []string        // services whose page did not arrive

	messages     int
	perContact   []int // messages per contact, by contact index
	maxInWindow  int   // most messages one contact got within any throttle window
	overThrottle []string
	pagesPerMsg  []int
	duplicates   int // pages carried by more than one message
	misrouted    int // pages delivered to someone outside their team
}

// analyze computes the figures from the storm and the receiver's records.
func analyze(cfg config, storm *stormResult, msgs []message, seen map[string]pageSeen) result {
	r := result{storm: storm, expected: cfg.services, perContact: make([]int, cfg.teams), messages: len(msgs)}
	got := make([]bool, cfg.services)
	for _, p := range seen {
		r.delivered++
		d := p.first.Sub(storm.lastAck)
		r.sinceLast = append(r.sinceLast, d)
		if r.delivered == 1 || d > r.lastPage {
			r.lastPage = d
		}
		if p.times > 1 {
			r.duplicates++
		}
		if s, ok := parseIndex(p.service, "s", cfg.services); ok {
			got[s] = true
			if !storm.firstPost[s].IsZero() {
				r.sinceGroup = append(r.sinceGroup, p.first.Sub(storm.firstPost[s].Add(cfg.groupWait)))
			}
		}
		for c := range p.contacts {
			if strings.TrimPrefix(c, "u") != strings.TrimPrefix(p.team, "t") {
				r.misrouted++
			}
		}
	}
	for s, ok := range got {
		if !ok {
			r.missing = append(r.missing, serviceName(s))
		}
	}
	slices.Sort(r.sinceLast)
	slices.Sort(r.sinceGroup)
	byContact := map[int][]time.Time{}
	for _, m := range msgs {
		r.pagesPerMsg = append(r.pagesPerMsg, len(m.pages))
		if c, ok := parseIndex(m.contact, "u", cfg.teams); ok {
			r.perContact[c]++
			byContact[c] = append(byContact[c], m.at)
		}
	}
	for c, times := range byContact {
		n := mostInWindow(times, cfg.throttleW)
		r.maxInWindow = max(r.maxInWindow, n)
		if n > cfg.throttleN {
			r.overThrottle = append(r.overThrottle, fmt.Sprintf("%s: %d", userName(c), n))
		}
	}
	slices.Sort(r.overThrottle)
	return r
}

// parseIndex reads "s007" as 7 when it is below n.
func parseIndex(s, prefix string, n int) (int, bool) {
	if !strings.HasPrefix(s, prefix) {
		return 0, false
	}
	i, err := strconv.Atoi(s[len(prefix):])
	return i, err == nil && i >= 0 && i < n
}

// mostInWindow returns the most times within any half-open window of
// length w (a message at the window's end is outside it, as the server's
// sent_at > now − window counts).
func mostInWindow(times []time.Time, w time.Duration) int {
	t := slices.Clone(times)
	slices.SortFunc(t, func(a, b time.Time) int { return a.Compare(b) })
	best, lo := 0, 0
	for hi := range t {
		for t[hi].Sub(t[lo]) >= w {
			lo++
		}
		best = max(best, hi-lo+1)
	}
	return best
}

func (r result) postTook() time.Duration { return r.storm.end.Sub(r.storm.start) }

func maxMean(v []int) (int, float64) {
	if len(v) == 0 {
		return 0, 0
	}
	m, sum := 0, 0
	for _, x := range v {
		m, sum = max(m, x), sum+x
	}
	return m, float64(sum) / float64(len(v))
}

func (r result) errorsText() string {
	if len(r.storm.errors) == 0 {
		return "0"
	}
	var parts []string
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range r.storm.errors {
			if !yield(k) {
				return
			}
		}
	}) {
		parts = append(parts, fmt.Sprintf("%d×%s", r.storm.errors[k], k))
	}
	return strings.Join(parts, " ")
}

func (r result) print(w io.Writer, cfg config) {
	s := r.storm
	lat := slices.Clone(s.reqLatency)
	slices.Sort(lat)
	fmt.Fprintf(w, "\npaging storm (%s): %d teams, %d services, %d alerts, order %s, group_wait %s, throttle %s\n",
		cfg.label, cfg.teams, cfg.services, cfg.alertnames*cfg.services, cfg.order, cfg.groupWait, cfg.throttle)
	if cfg.spread > 0 {
		fmt.Fprintf(w, "  spread              the batches posted evenly over %s\n", cfg.spread)
	}
	fmt.Fprintf(w, "  storm post          %d alerts accepted in %d requests in %s (%.0f alerts/s); errors %s\n",
		s.accepted, s.requests, ms(r.postTook()), float64(s.accepted)/r.postTook().Seconds(), r.errorsText())
	if s.firstErr != "" {
		fmt.Fprintf(w, "    first error: %s\n", s.firstErr)
	}
	fmt.Fprintf(w, "  request latency     p50 %s  p99 %s  max %s\n", ms(percentile(lat, .5)), ms(percentile(lat, .99)), ms(percentile(lat, 1)))
	fmt.Fprintf(w, "  pages               %d of %d delivered (server lists %d)\n", r.delivered, r.expected, r.opened)
	if len(r.missing) > 0 {
		fmt.Fprintf(w, "    missing after %s: %s\n", cfg.wait, strings.Join(r.missing[:min(20, len(r.missing))], " "))
	}
	fmt.Fprintf(w, "  last page           %s after the last post was accepted\n", ms(r.lastPage))
	fmt.Fprintf(w, "  arrival − last post p50 %s  p99 %s  max %s\n", ms(percentile(r.sinceLast, .5)), ms(percentile(r.sinceLast, .99)), ms(percentile(r.sinceLast, 1)))
	fmt.Fprintf(w, "  after grouping      p50 %s  p99 %s  max %s (arrival − its service's first post − group_wait)\n",
		ms(percentile(r.sinceGroup, .5)), ms(percentile(r.sinceGroup, .99)), ms(percentile(r.sinceGroup, 1)))
	mc, mm := maxMean(r.perContact)
	fmt.Fprintf(w, "  messages            %d; per contact max %d mean %.1f; most within %s %d (throttle %s)\n",
		r.messages, mc, mm, cfg.throttleW, r.maxInWindow, cfg.throttle)
	if len(r.overThrottle) > 0 {
		fmt.Fprintf(w, "    OVER THE THROTTLE: %s\n", strings.Join(r.overThrottle, ", "))
	}
	pm, pmean := maxMean(r.pagesPerMsg)
	fmt.Fprintf(w, "  pages per message   max %d mean %.1f\n", pm, pmean)
	fmt.Fprintf(w, "  duplicates          %d pages delivered more than once; %d deliveries outside the page's team\n", r.duplicates, r.misrouted)
	pg := ""
	if cfg.database != "" {
		pg = fmt.Sprintf("  PostgreSQL %.2f", r.use.dbCPU.Seconds())
	}
	fmt.Fprintf(w, "  server              CPU %.2f s%s; RSS peak %s, VmHWM %s\n", r.use.serverCPU.Seconds(), pg, harness.MiB(r.use.rssPeak), harness.MiB(r.use.mem.HWM))
}

const header = "| Database | Order | Alerts accepted | Storm post | Pages delivered | Last page after last post | Arrival − last post p50 / p99 | After grouping p50 / p99 / max | Messages per contact max / mean (throttle) | Pages per message max / mean | Duplicates | CPU s server / PG | RSS peak |\n" +
	"|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|"

func (r result) row(cfg config) string {
	mc, mm := maxMean(r.perContact)
	pm, pmean := maxMean(r.pagesPerMsg)
	pg := "–"
	if cfg.database != "" {
		pg = fmt.Sprintf("%.2f", r.use.dbCPU.Seconds())
	}
	return fmt.Sprintf("| %s | %s | %d | %s | %d of %d | %s | %s / %s | %s / %s / %s | %d / %.1f (%s) | %d / %.1f | %d | %.2f / %s | %s |",
		cfg.label, orderText(cfg), r.storm.accepted, ms(r.postTook()), r.delivered, r.expected, ms(r.lastPage),
		ms(percentile(r.sinceLast, .5)), ms(percentile(r.sinceLast, .99)),
		ms(percentile(r.sinceGroup, .5)), ms(percentile(r.sinceGroup, .99)), ms(percentile(r.sinceGroup, 1)),
		mc, mm, cfg.throttle, pm, pmean, r.duplicates, r.use.serverCPU.Seconds(), pg, harness.MiB(r.use.rssPeak))
}

func orderText(cfg config) string {
	if cfg.spread > 0 {
		return fmt.Sprintf("%s, over %s", cfg.order, cfg.spread)
	}
	return cfg.order
}

// percentile returns the q-quantile (0…1) of sorted durations.
func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.5) - 1
	return sorted[max(0, min(len(sorted)-1, i))]
}

func ms(d time.Duration) string {
	neg := ""
	if d < 0 {
		neg, d = "−", -d
	}
	switch {
	case d >= 10*time.Second:
		return fmt.Sprintf("%s%.1f s", neg, d.Seconds())
	case d >= 100*time.Millisecond:
		return neg + strconv.FormatInt(d.Milliseconds(), 10) + " ms"
	default:
		return fmt.Sprintf("%s%.1f ms", neg, float64(d)/float64(time.Millisecond))
	}
}
