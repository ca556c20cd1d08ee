package incident

import (
	"cmp"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"groundcrew.dev/groundcrew/internal/db"
	"groundcrew.dev/groundcrew/internal/errs"
	"groundcrew.dev/groundcrew/internal/identity"
)

// MaxReportWindow bounds a report's window.
const MaxReportWindow = 366 * 24 * time.Hour

// ReportFilter selects the incidents of a report: declared in [From, To),
// and affecting Service or a service Team owns when set.
type ReportFilter struct {
	From, To time.Time // zero To: now; zero From: 30 days before To
	Service  string
	Team     string
}

// ReportRow is one incident of a report.
type ReportRow struct {
	Number         int64      `json:"number"`
	Key            string     `json:"key"`
	Title          string     `json:"title"`
	Severity       Severity   `json:"severity"`
	Status         Status     `json:"status"`
	DeclaredAt     time.Time  `json:"declared_at"`
	AcknowledgedAt *time.Time `json:"acknowledged_at,omitempty"`
	ResolvedAt     *time.Time `json:"resolved_at,omitempty"`
	Services       []string   `json:"services"`
	Teams          []string   `json:"teams"`
}

// TTA is how long until the first acknowledgement; ok is false when none
// was recorded.
func (r ReportRow) TTA() (d time.Duration, ok bool) {
	if r.AcknowledgedAt == nil {
		return 0, false
	}
	return max(0, r.AcknowledgedAt.Sub(r.DeclaredAt)), true
}

// TTR is how long until resolution; ok is false while unresolved.
func (r ReportRow) TTR() (d time.Duration, ok bool) {
	if r.ResolvedAt == nil {
		return 0, false
	}
	return max(0, r.ResolvedAt.Sub(r.DeclaredAt)), true
}

// Durations summarizes a set of durations.
type Durations struct {
	Count         int     `json:"count" doc:"how many incidents had one"`
	MeanSeconds   float64 `json:"mean_seconds"`
	MedianSeconds float64 `json:"median_seconds"`
	Mean          string  `json:"mean,omitempty" doc:"the mean, rounded, as a Go duration (1h2m0s)"`
	Median        string  `json:"median,omitempty"`
}

func summarize(ds []time.Duration) Durations {
	if len(ds) == 0 {
		return Durations{}
	}
	slices.Sort(ds)
	var sum time.Duration
	for _, d := range ds {
		sum += d
	}
	mean := sum / time.Duration(len(ds))
	median := ds[len(ds)/2]
	if len(ds)%2 == 0 {
		median = (ds[len(ds)/2-1] + ds[len(ds)/2]) / 2
	}
	return Durations{Count: len(ds), MeanSeconds: mean.Seconds(), MedianSeconds: median.Seconds(),
		Mean: mean.Round(time.Second).String(), Median: median.Round(time.Second).String()}
}

// Group is the figures of one severity, service or team.
type Group struct {
	Key       string    `json:"key" doc:"the severity, service or team"`
	Incidents int       `json:"incidents"`
	Resolved  int       `json:"resolved"`
	MTTA      Durations `json:"mtta" doc:"declared → first acknowledgement, over the incidents that have one"`
	MTTR      Durations `json:"mttr" doc:"declared → resolved, over the resolved incidents"`
}

// Report is the incident figures of a window.
type Report struct {
	From       time.Time `json:"from"`
	To         time.Time `json:"to"`
	Incidents  int       `json:"incidents"`
	Resolved   int       `json:"resolved"`
	MTTA       Durations `json:"mtta"`
	MTTR       Durations `json:"mttr"`
	Severities []Group   `json:"severities" doc:"SEV1 to SEV4, each present"`
	Services   []Group   `json:"services" doc:"by service name; an incident counts for each service it affects"`
	Teams      []Group   `json:"teams" doc:"by owning team, from the catalog as it is now"`
}

// Summarize computes the report of rows over [from, to). It is pure.
func Summarize(rows []ReportRow, from, to time.Time) Report {
	group := func(key string, rs []ReportRow) Group {
		g := Group{Key: key, Incidents: len(rs)}
		var ttas, ttrs []time.Duration
		for _, r := range rs {
			if d, ok := r.TTA(); ok {
				ttas = append(ttas, d)
			}
			if d, ok := r.TTR(); ok {
				ttrs = append(ttrs, d)
			}
		}
		g.Resolved = len(ttrs)
		g.MTTA, g.MTTR = summarize(ttas), summarize(ttrs)
		return g
	}
	all := group("", rows)
	rep := Report{From: from, To: to, Incidents: all.Incidents, Resolved: all.Resolved, MTTA: all.MTTA, MTTR: all.MTTR,
		Severities: []Group{}, Services: []Group{}, Teams: []Group{}}
	for _, d := range Severities {
		var rs []ReportRow
		for _, r := range rows {
			if r.Severity == d.Severity {
				rs = append(rs, r)
			}
		}
		rep.Severities = append(rep.Severities, group(string(d.Severity), rs))
	}
	by := func(keys func(ReportRow) []string) []Group {
		m := map[string][]ReportRow{}
		for _, r := range rows {
			for _, k := range keys(r) {
				m[k] = append(m[k], r)
			}
		}
		out := []Group{}
		for k, rs := range m {
			out = append(out, group(k, rs))
		}
		slices.SortFunc(out, func(a, b Group) int { return cmp.Compare(a.Key, b.Key) })
		return out
	}
	rep.Services = by(func(r ReportRow) []string { return r.Services })
	rep.Teams = by(func(r ReportRow) []string { return r.Teams })
	return rep
}

// WriteCSV writes rows as CSV with a header, one row per incident; times
// are RFC 3339 in UTC, durations in seconds (empty when there is none).
func WriteCSV(w io.Writer, rows []ReportRow) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"number", "key", "title", "severity", "status", "declared_at", "acknowledged_at", "resolved_at",
		"tta_seconds", "ttr_seconds", "services", "teams"})
	opt := func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return t.UTC().Format(time.RFC3339)
	}
	secs := func(d time.Duration, ok bool) string {
		if !ok {
			return ""
		}
		return strconv.FormatInt(int64(d/time.Second), 10)
	}
	for _, r := range rows {
		_ = cw.Write([]string{strconv.FormatInt(r.Number, 10), r.Key, csvSafe(r.Title), string(r.Severity), string(r.Status),
			r.DeclaredAt.UTC().Format(time.RFC3339), opt(r.AcknowledgedAt), opt(r.ResolvedAt), secs(r.TTA()), secs(r.TTR()),
			strings.Join(r.Services, " "), strings.Join(r.Teams, " ")})
	}
	cw.Flush()
	return cw.Error()
}

// csvSafe keeps a spreadsheet from reading a title as a formula.
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// Report returns the figures and the incidents of a window, oldest first.
func (s *Service) Report(ctx context.Context, f ReportFilter) (Report, []ReportRow, error) {
	if err := identity.Authorize(ctx, identity.PermRead, uuid.Nil); err != nil {
		return Report{}, nil, err
	}
	if f.To.IsZero() {
		f.To = s.now()
	}
	if f.From.IsZero() {
		f.From = f.To.Add(-30 * 24 * time.Hour)
	}
	f.From, f.To = f.From.UTC(), f.To.UTC()
	switch {
	case !f.To.After(f.From):
		return Report{}, nil, errs.Invalidf("to", "must be after from")
	case f.To.Sub(f.From) > MaxReportWindow:
		return Report{}, nil, errs.Invalidf("from", "a report covers at most 366 days")
	}
	var w db.Where
	w.Add("i.declared_at >= ?", f.From)
	w.Add("i.declared_at < ?", f.To)
	if f.Service != "" {
		w.Add("EXISTS (SELECT 1 FROM incident_services isv WHERE isv.incident_id = i.id AND isv.service = ?)", f.Service)
	}
	if f.Team != "" {
		if _, err := s.dir.TeamID(ctx, s.db.Reader(), "team", f.Team); err != nil {
			return Report{}, nil, err
		}
		w.Add(`EXISTS (SELECT 1 FROM incident_services isv JOIN services sv ON sv.name = isv.service JOIN teams t ON t.id = sv.owner_team_id
			WHERE isv.incident_id = i.id AND t.name = ?)`, f.Team)
	}
	q := s.db.Reader()
	rows, err := q.QueryContext(ctx, `SELECT `+prefixed("i.", incidentColumns)+` FROM incidents i`+w.SQL()+` ORDER BY i.declared_at, i.number LIMIT 100000`, w.Args...)
	if err != nil {
		return Report{}, nil, fmt.Errorf("report: %w", err)
	}
	var list []Incident
	err = func() error {
		defer rows.Close()
		for rows.Next() {
			in, err := scanIncident(rows)
			if err != nil {
				return err
			}
			list = append(list, in)
		}
		return rows.Err()
	}()
	if err != nil {
		return Report{}, nil, fmt.Errorf("report: %w", err)
	}
	out := make([]ReportRow, 0, len(list))
	for page := range slices.Chunk(list, 500) {
		if err := fill(ctx, q, page); err != nil {
			return Report{}, nil, err
		}
		for _, in := range page {
			r := ReportRow{Number: in.Number, Key: in.Key, Title: in.Title, Severity: in.Severity, Status: in.Status, DeclaredAt: in.DeclaredAt,
				AcknowledgedAt: in.AcknowledgedAt, ResolvedAt: in.ResolvedAt, Services: []string{}, Teams: in.Teams}
			for _, a := range in.Services {
				r.Services = append(r.Services, a.Name)
			}
			out = append(out, r)
		}
	}
	return Summarize(out, f.From, f.To), out, nil
}
