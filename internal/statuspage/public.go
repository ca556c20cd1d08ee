package statuspage

import (
	"context"
	"slices"
	"time"

	"groundcrew.dev/groundcrew/internal/check"
	"groundcrew.dev/groundcrew/internal/db"
	"groundcrew.dev/groundcrew/internal/identity"
)

// HistoryDays is how far back a public page shows uptime and past notices.
const HistoryDays = 90

// Status is a component's or a whole page's status as the public sees it.
type Status string

// The public statuses, from a component's checks: worst wins, with
// blocked counting as down (the check failed; only the blame is elsewhere)
// and unknown or paused checks ignored.
const (
	NoData           Status = "unknown"        // no check with a known state
	Operational      Status = "operational"    // every known check up
	UnderMaintenance Status = "maintenance"    // a maintenance window is in progress
	Degraded         Status = "degraded"       // some check degraded, none down
	PartialOutage    Status = "partial_outage" // some checks down, not all
	MajorOutage      Status = "major_outage"   // every known check down
)

func (s Status) rank() int {
	return slices.Index([]Status{NoData, Operational, UnderMaintenance, Degraded, PartialOutage, MajorOutage}, s)
}

// Word returns the status as the public reads it for one component.
func (s Status) Word() string {
	switch s {
	case Operational:
		return "Operational"
	case UnderMaintenance:
		return "Under maintenance"
	case Degraded:
		return "Degraded performance"
	case PartialOutage:
		return "Partial outage"
	case MajorOutage:
		return "Major outage"
	}
	return "No data"
}

// Headline returns the status as the banner of a whole page says it.
func (s Status) Headline() string {
	switch s {
	case Operational:
		return "All systems operational"
	case UnderMaintenance:
		return "Maintenance in progress"
	case Degraded:
		return "Some systems degraded"
	case PartialOutage:
		return "Partial outage"
	case MajorOutage:
		return "Major outage"
	}
	return "Status not known yet"
}

// ComponentStatus returns the status of a component from the confirmed
// statuses of its checks. It is a pure function.
func ComponentStatus(checks []check.Status) Status {
	var known, down, degraded int
	for _, st := range checks {
		switch st {
		case check.Up:
			known++
		case check.Degraded:
			known++
			degraded++
		case check.Down, check.Blocked:
			known++
			down++
		}
	}
	switch {
	case known == 0:
		return NoData
	case down == known:
		return MajorOutage
	case down > 0:
		return PartialOutage
	case degraded > 0:
		return Degraded
	}
	return Operational
}

// Overall returns a page's status from its components': the worst one,
// ignoring components without data, except that one component in a major
// outage among working ones makes a partial outage of the page. It is a
// pure function.
func Overall(components []Status) Status {
	worst, known, major := NoData, 0, 0
	for _, s := range components {
		if s == NoData {
			continue
		}
		known++
		if s == MajorOutage {
			major++
		}
		if s.rank() > worst.rank() {
			worst = s
		}
	}
	if worst == MajorOutage && major < known {
		return PartialOutage
	}
	return worst
}

// DayLevel classes a day of a component's history.
type DayLevel string

// The day levels.
const (
	DayNone  DayLevel = "none"  // no runs
	DayUp    DayLevel = "up"    // every run up
	DayMinor DayLevel = "minor" // slow or failed runs, at least 99 % up
	DayMajor DayLevel = "major" // under 99 % up
)

// Day is one UTC day of a component's history.
type Day struct {
	Date    string   `json:"date"` // YYYY-MM-DD
	Percent *float64 `json:"percent,omitempty" doc:"mean uptime of the component's checks that ran that day"`
	Level   DayLevel `json:"level"`
}

// checkDay is one check's runs on one day.
type checkDay struct{ runs, down, degraded int64 }

// history turns per-check daily counts into n days ending with the day of
// last: each day's percent is the mean over the checks that ran of their
// share of runs not down, so a check run every 10 s weighs no more than
// one run hourly. Uptime is the mean over days with data. Pure.
func history(byDate map[string][]checkDay, last time.Time, n int) (days []Day, uptime *float64) {
	first := time.Date(last.Year(), last.Month(), last.Day(), 0, 0, 0, 0, time.UTC).AddDate(0, 0, -(n - 1))
	days = make([]Day, n)
	var sum float64
	var withData int
	for i := range days {
		date := first.AddDate(0, 0, i).Format(time.DateOnly)
		d := Day{Date: date, Level: DayNone}
		var pct float64
		var ran int
		var slow bool
		for _, c := range byDate[date] {
			if c.runs <= 0 {
				continue
			}
			ran++
			pct += float64(c.runs-c.down) / float64(c.runs) * 100
			slow = slow || c.degraded > 0
		}
		if ran > 0 {
			p := pct / float64(ran)
			d.Percent = &p
			switch {
			case p < 99:
				d.Level = DayMajor
			case p < 100 || slow:
				d.Level = DayMinor
			default:
				d.Level = DayUp
			}
			sum += p
			withData++
		}
		days[i] = d
	}
	if withData > 0 {
		u := sum / float64(withData)
		uptime = &u
	}
	return days, uptime
}

// View is what a public status page shows, and nothing more.
type View struct {
	Name        string          `json:"name"`
	Title       string          `json:"title"`
	LogoText    string          `json:"logo_text"`
	Description string          `json:"description,omitempty"`
	Status      Status          `json:"status"`
	Uptime      *float64        `json:"uptime_percent,omitempty" doc:"mean of the components' uptime over the history"`
	Components  []ComponentView `json:"components"`
	Active      []NoticeView    `json:"active" doc:"open incidents and maintenance in progress"`
	Upcoming    []NoticeView    `json:"upcoming" doc:"scheduled maintenance"`
	Past        []NoticeView    `json:"past" doc:"notices closed in the history window, newest first"`
	At          time.Time       `json:"at" doc:"when the view was computed"`
}

// ComponentView is one component as the public sees it.
type ComponentView struct {
	Name        string   `json:"name"`
	Title       string   `json:"title"`
	Description string   `json:"description,omitempty"`
	Status      Status   `json:"status"`
	Uptime      *float64 `json:"uptime_percent,omitempty"`
	Days        []Day    `json:"days"`
}

// NoticeView is a notice as the public sees it: without its ref or the
// names of the people who posted it.
type NoticeView struct {
	Number     int64        `json:"number"`
	Kind       NoticeKind   `json:"kind"`
	Title      string       `json:"title"`
	Status     NoticeStatus `json:"status" doc:"for maintenance, as the window says: in progress from its start, completed after its end"`
	Components []string     `json:"components" doc:"titles of the affected components"`
	StartsAt   time.Time    `json:"starts_at"`
	EndsAt     *time.Time   `json:"ends_at,omitempty"`
	ClosedAt   *time.Time   `json:"closed_at,omitempty"`
	Updates    []UpdateView `json:"updates"`
}

// UpdateView is one public update of a notice.
type UpdateView struct {
	At      time.Time    `json:"at"`
	Status  NoticeStatus `json:"status"`
	Message string       `json:"message"`
}

// EffectiveStatus returns the status a notice shows at now: maintenance
// follows its window (in progress from its start, completed after its
// end) unless an operator closed it; incidents show what was posted.
func EffectiveStatus(n Notice, now time.Time) NoticeStatus {
	if n.Kind != Maintenance || n.ClosedAt != nil {
		return n.Status
	}
	if n.EndsAt != nil && !now.Before(*n.EndsAt) {
		return Completed
	}
	if !now.Before(n.StartsAt) {
		return InProgress
	}
	return n.Status
}

// Public returns what the public page called name shows now. It needs no
// actor: the view holds only what the page shows. An unknown page is a
// NotFound error.
func (s *Service) Public(ctx context.Context, name string) (View, error) {
	q := s.db.Reader()
	p, err := getPage(ctx, q, name)
	if err != nil {
		return View{}, err
	}
	now := s.now()
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	since := today.AddDate(0, 0, -(HistoryDays - 1))
	states, err := componentStates(ctx, q, p.ID)
	if err != nil {
		return View{}, err
	}
	rows, err := componentDays(ctx, q, p.ID, since)
	if err != nil {
		return View{}, err
	}
	notices, err := publicNotices(ctx, q, p.ID, since)
	if err != nil {
		return View{}, err
	}
	windows, err := s.windowNotices(ctx, p, now)
	if err != nil {
		s.log.Warn("status page: maintenance windows", "page", p.Name, "err", err)
	}
	return buildView(p, now, states, rows, append(notices, windows...)), nil
}

// windowAhead is how far ahead maintenance windows are announced.
const windowAhead = 7 * 24 * time.Hour

// windowNotices turns the maintenance windows of the page's services that
// run now or within windowAhead into maintenance notices. Only windows for
// every environment or for a critical one are shown: a status page speaks
// for what customers use.
func (s *Service) windowNotices(ctx context.Context, p Page, now time.Time) ([]Notice, error) {
	if s.sched == nil {
		return nil, nil
	}
	var services []string
	for _, c := range p.Components {
		services = append(services, c.Services...)
	}
	if len(services) == 0 {
		return nil, nil
	}
	occs, err := s.sched.Upcoming(identity.WithActor(ctx, identity.System()), services, now, now.Add(windowAhead))
	if err != nil {
		return nil, err
	}
	critical, err := criticalEnvironments(ctx, s.db.Reader())
	if err != nil {
		return nil, err
	}
	var out []Notice
	for _, o := range occs {
		if len(o.Environments) > 0 && !slices.ContainsFunc(o.Environments, func(e string) bool { return critical[e] }) {
			continue
		}
		var comps []string
		for _, c := range p.Components {
			if len(o.Services) == 0 || slices.ContainsFunc(c.Services, func(svc string) bool { return slices.Contains(o.Services, svc) }) {
				comps = append(comps, c.Name)
			}
		}
		if len(comps) == 0 {
			continue
		}
		title := o.Description
		if title == "" {
			title = "Scheduled maintenance"
		}
		end := o.End
		out = append(out, Notice{Kind: Maintenance, Title: title, Status: Scheduled, Components: comps, StartsAt: o.Start, EndsAt: &end})
	}
	return out, nil
}

func criticalEnvironments(ctx context.Context, q db.Querier) (map[string]bool, error) {
	rows, err := q.QueryContext(ctx, `SELECT name FROM environments WHERE criticality = 'critical'`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out[n] = true
	}
	return out, rows.Err()
}

// buildView assembles a View from what the store read. Pure.
func buildView(p Page, now time.Time, states []checkState, rows []dayRow, notices []Notice) View {
	v := View{Name: p.Name, Title: p.Title, LogoText: p.LogoText, Description: p.Description, At: now,
		Active: []NoticeView{}, Upcoming: []NoticeView{}, Past: []NoticeView{}}
	if v.LogoText == "" {
		v.LogoText = p.Title
	}
	perComponent := make([][]check.Status, len(p.Components))
	for _, st := range states {
		if st.component >= 0 && st.component < len(perComponent) {
			perComponent[st.component] = append(perComponent[st.component], check.Status(st.status))
		}
	}
	daysOf := make([]map[string][]checkDay, len(p.Components))
	for _, r := range rows {
		if r.component < 0 || r.component >= len(daysOf) {
			continue
		}
		if daysOf[r.component] == nil {
			daysOf[r.component] = map[string][]checkDay{}
		}
		date := r.day.Format(time.DateOnly)
		daysOf[r.component][date] = append(daysOf[r.component][date], checkDay{r.runs, r.down, r.degraded})
	}
	titles := map[string]string{}
	for _, c := range p.Components {
		titles[c.Name] = c.Title()
	}
	maintained := map[string]bool{}
	for _, n := range notices {
		nv := NoticeView{Number: n.Number, Kind: n.Kind, Title: n.Title, Status: EffectiveStatus(n, now),
			Components: []string{}, StartsAt: n.StartsAt, EndsAt: n.EndsAt, ClosedAt: n.ClosedAt, Updates: []UpdateView{}}
		for _, c := range n.Components {
			if t, ok := titles[c]; ok { // a component since removed from the page is not named
				nv.Components = append(nv.Components, t)
			}
		}
		for _, u := range n.Updates {
			nv.Updates = append(nv.Updates, UpdateView{At: u.At, Status: u.Status, Message: u.Message})
		}
		switch nv.Status {
		case Resolved, Completed:
			v.Past = append(v.Past, nv)
		case Scheduled:
			v.Upcoming = append(v.Upcoming, nv)
		case InProgress:
			v.Active = append(v.Active, nv)
			for _, c := range n.Components {
				maintained[c] = true
			}
		default:
			v.Active = append(v.Active, nv)
		}
	}
	// Incidents before maintenance; upcoming soonest first; past most
	// recently closed first.
	slices.SortStableFunc(v.Active, func(a, b NoticeView) int {
		if a.Kind != b.Kind {
			if a.Kind == Incident {
				return -1
			}
			return 1
		}
		return 0
	})
	slices.SortStableFunc(v.Upcoming, func(a, b NoticeView) int { return a.StartsAt.Compare(b.StartsAt) })
	slices.SortStableFunc(v.Past, func(a, b NoticeView) int { return closedAt(b).Compare(closedAt(a)) })

	var statuses []Status
	var sum float64
	var withUptime int
	for i, c := range p.Components {
		cv := ComponentView{Name: c.Name, Title: c.Title(), Description: c.Description, Status: ComponentStatus(perComponent[i])}
		if maintained[c.Name] {
			cv.Status = UnderMaintenance
		}
		cv.Days, cv.Uptime = history(daysOf[i], now, HistoryDays)
		if cv.Uptime != nil {
			sum += *cv.Uptime
			withUptime++
		}
		statuses = append(statuses, cv.Status)
		v.Components = append(v.Components, cv)
	}
	v.Status = Overall(statuses)
	if withUptime > 0 {
		u := sum / float64(withUptime)
		v.Uptime = &u
	}
	return v
}

// closedAt is when a past notice ended: closed by an operator or, for
// maintenance, at the end of its window.
func closedAt(n NoticeView) time.Time {
	switch {
	case n.ClosedAt != nil:
		return *n.ClosedAt
	case n.EndsAt != nil:
		return *n.EndsAt
	}
	return n.StartsAt
}
