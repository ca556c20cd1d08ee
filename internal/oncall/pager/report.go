package pager

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"groundcrew.dev/groundcrew/internal/errs"
	"groundcrew.dev/groundcrew/internal/identity"
)

// The on-call load report: how many pages each person got, how many of
// them outside business hours, and how fast pages were answered, per
// policy — so Ops can show both its value and its burden.

// MaxReportWindow is the longest window of a report.
const MaxReportWindow = 366 * 24 * time.Hour

// maxReportPages bounds the pages one report reads.
const maxReportPages = 100_000

// ReportFilter selects the pages of a report: opened in [From, To), of
// one team or policy.
type ReportFilter struct {
	From, To     time.Time
	Team, Policy string
	// TimeZone is where business hours are counted (IANA); default UTC.
	TimeZone string
	// BusinessHours are "HH:MM-HH:MM" on Monday to Friday; default
	// 09:00-18:00. A page reaching someone outside them counts as out of
	// hours.
	BusinessHours string
}

// Report is the on-call load over a window.
type Report struct {
	From          time.Time    `json:"from"`
	To            time.Time    `json:"to"`
	TimeZone      string       `json:"time_zone"`
	BusinessHours string       `json:"business_hours"`
	Pages         int          `json:"pages"`
	People        []PersonLoad `json:"people" doc:"by pages, most first"`
	Policies      []PolicyLoad `json:"policies" doc:"by pages, most first"`
}

// PersonLoad is what pages cost one person.
type PersonLoad struct {
	User string `json:"user"`
	// Pages that reached them, and those that reached them first outside
	// business hours (nights, weekends).
	Pages      int `json:"pages"`
	OutOfHours int `json:"out_of_hours"`
	// Messages they received (pages bundle into messages).
	Messages int `json:"messages"`
	// Acknowledged is how many pages they acknowledged.
	Acknowledged int `json:"acknowledged"`
}

// PolicyLoad is how one escalation policy's pages went.
type PolicyLoad struct {
	Policy       string `json:"policy"`
	Pages        int    `json:"pages"`
	Acknowledged int    `json:"acknowledged"`
	// Escalated: pages that went past their first step; Exhausted: pages
	// nobody acknowledged before every step had notified.
	Escalated int `json:"escalated"`
	Exhausted int `json:"exhausted"`
	// MTTA: opened → acknowledged; MTTR: opened → resolved (seconds).
	MTTAMean   *float64 `json:"mtta_mean_seconds,omitempty"`
	MTTAMedian *float64 `json:"mtta_median_seconds,omitempty"`
	MTTRMean   *float64 `json:"mttr_mean_seconds,omitempty"`
	MTTRMedian *float64 `json:"mttr_median_seconds,omitempty"`
}

// hours are business hours in minutes of the day.
type hours struct{ from, to int }

func parseHours(s string) (hours, error) {
	if s == "" {
		s = "09:00-18:00"
	}
	a, b, ok := strings.Cut(s, "-")
	minute := func(x string) (int, bool) {
		t, err := time.Parse("15:04", strings.TrimSpace(x))
		return t.Hour()*60 + t.Minute(), err == nil
	}
	f, ok1 := minute(a)
	t, ok2 := minute(b)
	if !ok || !ok1 || !ok2 || f >= t {
		return hours{}, errs.Invalidf("business_hours", "%q: want HH:MM-HH:MM with the start first, e.g. 09:00-18:00", s)
	}
	return hours{f, t}, nil
}

func (h hours) in(t time.Time) bool {
	if wd := t.Weekday(); wd == time.Saturday || wd == time.Sunday {
		return false
	}
	m := t.Hour()*60 + t.Minute()
	return m >= h.from && m < h.to
}

// Report computes the on-call load of the pages opened in the window.
func (p *Pager) Report(ctx context.Context, f ReportFilter) (Report, error) {
	if err := identity.Authorize(ctx, identity.PermRead, uuid.Nil); err != nil {
		return Report{}, err
	}
	now := p.opts.Clock.Now()
	if f.To.IsZero() {
		f.To = now.Add(time.Second) // up to and including now
	}
	if f.From.IsZero() {
		f.From = f.To.AddDate(0, 0, -30)
	}
	switch {
	case !f.From.Before(f.To):
		return Report{}, errs.Invalidf("from", "must be before to")
	case f.To.Sub(f.From) > MaxReportWindow:
		return Report{}, errs.Invalidf("from", "the window is at most 366 days")
	}
	if f.TimeZone == "" {
		f.TimeZone = "UTC"
	}
	loc, err := time.LoadLocation(f.TimeZone)
	if err != nil {
		return Report{}, errs.Invalidf("time_zone", "%q is not an IANA time zone such as Europe/Berlin", f.TimeZone)
	}
	bh, err := parseHours(f.BusinessHours)
	if err != nil {
		return Report{}, err
	}
	rep := Report{From: f.From.UTC(), To: f.To.UTC(), TimeZone: f.TimeZone, BusinessHours: fmt.Sprintf("%02d:%02d-%02d:%02d", bh.from/60, bh.from%60, bh.to/60, bh.to%60)}

	// The pages of the window, named "pages." so that the condition also
	// serves the join with their sends.
	cond, args := `pages.created_at >= $1 AND pages.created_at < $2`, []any{rep.From, rep.To}
	if f.Team != "" {
		args = append(args, f.Team)
		cond += fmt.Sprintf(" AND pages.team = $%d", len(args))
	}
	if f.Policy != "" {
		args = append(args, f.Policy)
		cond += fmt.Sprintf(" AND pages.policy = $%d", len(args))
	}
	q := p.db.Reader()
	rows, err := q.QueryContext(ctx, `SELECT `+pageColumns+` FROM pages WHERE `+cond+fmt.Sprintf(` ORDER BY created_at LIMIT %d`, maxReportPages+1), args...)
	if err != nil {
		return rep, fmt.Errorf("report pages: %w", err)
	}
	var pages []Page
	for rows.Next() {
		pg, err := scanPage(rows)
		if err != nil {
			rows.Close()
			return rep, err
		}
		pages = append(pages, pg)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return rep, err
	}
	if len(pages) > maxReportPages {
		return rep, errs.Invalidf("from", "more than %d pages in the window: narrow it", maxReportPages)
	}
	rep.Pages = len(pages)

	people := map[string]*PersonLoad{}
	person := func(u string) *PersonLoad {
		if people[u] == nil {
			people[u] = &PersonLoad{User: u}
		}
		return people[u]
	}
	// Who each page reached, and when first (in Go: SQLite's MIN of a
	// timestamp is text).
	srows, err := q.QueryContext(ctx, `SELECT s.user_name, s.page_id, s.due_at FROM page_sends s JOIN pages ON pages.id = s.page_id
		WHERE s.status = 'sent' AND `+cond, args...)
	if err != nil {
		return rep, fmt.Errorf("report sends: %w", err)
	}
	type reach struct {
		user string
		page uuid.UUID
	}
	first := map[reach]time.Time{}
	for srows.Next() {
		var k reach
		var at time.Time
		if err := srows.Scan(&k.user, &k.page, &at); err != nil {
			srows.Close()
			return rep, fmt.Errorf("report sends: %w", err)
		}
		if t, ok := first[k]; !ok || at.Before(t) {
			first[k] = at
		}
	}
	srows.Close()
	if err := srows.Err(); err != nil {
		return rep, err
	}
	for k, at := range first {
		pl := person(k.user)
		pl.Pages++
		if !bh.in(at.In(loc)) {
			pl.OutOfHours++
		}
	}
	mrows, err := q.QueryContext(ctx, `SELECT user_name, COUNT(*) FROM page_messages WHERE sent_at >= $1 AND sent_at < $2 GROUP BY user_name`, rep.From, rep.To)
	if err != nil {
		return rep, fmt.Errorf("report messages: %w", err)
	}
	for mrows.Next() {
		var u string
		var n int
		if err := mrows.Scan(&u, &n); err != nil {
			mrows.Close()
			return rep, err
		}
		if people[u] != nil || f.Team == "" && f.Policy == "" { // messages bundle pages of any policy
			person(u).Messages = n
		}
	}
	mrows.Close()

	policies := map[string]*PolicyLoad{}
	var mtta, mttr = map[string][]float64{}, map[string][]float64{}
	for _, pg := range pages {
		pl := policies[pg.Policy]
		if pl == nil {
			pl = &PolicyLoad{Policy: pg.Policy}
			policies[pg.Policy] = pl
		}
		pl.Pages++
		if pg.Step > 0 || pg.Round > 0 {
			pl.Escalated++
		}
		if pg.Exhausted {
			pl.Exhausted++
		}
		if pg.AcknowledgedAt != nil {
			pl.Acknowledged++
			mtta[pg.Policy] = append(mtta[pg.Policy], pg.AcknowledgedAt.Sub(pg.CreatedAt).Seconds())
			if pg.AcknowledgedBy != "" && pg.AcknowledgedBy != "signed link" {
				person(pg.AcknowledgedBy).Acknowledged++
			}
		}
		if pg.ResolvedAt != nil {
			mttr[pg.Policy] = append(mttr[pg.Policy], pg.ResolvedAt.Sub(pg.CreatedAt).Seconds())
		}
	}
	for name, pl := range policies {
		pl.MTTAMean, pl.MTTAMedian = meanMedian(mtta[name])
		pl.MTTRMean, pl.MTTRMedian = meanMedian(mttr[name])
	}
	rep.People = sortedLoads(people, func(a *PersonLoad) int { return a.Pages })
	rep.Policies = sortedLoads(policies, func(a *PolicyLoad) int { return a.Pages })
	return rep, nil
}

// sortedLoads returns m's values by pages, most first, then by key.
func sortedLoads[T any](m map[string]*T, pages func(*T) int) []T {
	out := make([]T, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, *m[k])
	}
	slices.SortStableFunc(out, func(a, b T) int { return pages(&b) - pages(&a) })
	return out
}

func meanMedian(xs []float64) (*float64, *float64) {
	if len(xs) == 0 {
		return nil, nil
	}
	slices.Sort(xs)
	sum := 0.0
	for _, x := range xs {
		sum += x
	}
	mean := sum / float64(len(xs))
	med := xs[len(xs)/2]
	if len(xs)%2 == 0 {
		med = (xs[len(xs)/2-1] + xs[len(xs)/2]) / 2
	}
	return &mean, &med
}

// WriteCSV writes the report's people (by "person") or policies (by
// "policy") as CSV with a header row.
func (r Report) WriteCSV(w io.Writer, by string) error {
	cw := csv.NewWriter(w)
	num := func(p *float64) string {
		if p == nil {
			return ""
		}
		return strconv.FormatFloat(*p, 'f', 0, 64)
	}
	switch by {
	case "", "person":
		_ = cw.Write([]string{"user", "pages", "out_of_hours", "messages", "acknowledged"})
		for _, p := range r.People {
			_ = cw.Write([]string{p.User, strconv.Itoa(p.Pages), strconv.Itoa(p.OutOfHours), strconv.Itoa(p.Messages), strconv.Itoa(p.Acknowledged)})
		}
	case "policy":
		_ = cw.Write([]string{"policy", "pages", "acknowledged", "escalated", "exhausted", "mtta_mean_seconds", "mtta_median_seconds", "mttr_mean_seconds", "mttr_median_seconds"})
		for _, p := range r.Policies {
			_ = cw.Write([]string{p.Policy, strconv.Itoa(p.Pages), strconv.Itoa(p.Acknowledged), strconv.Itoa(p.Escalated), strconv.Itoa(p.Exhausted),
				num(p.MTTAMean), num(p.MTTAMedian), num(p.MTTRMean), num(p.MTTRMedian)})
		}
	default:
		return errs.Invalidf("by", "must be person or policy")
	}
	cw.Flush()
	return cw.Error()
}
