package oncall

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"groundcrew.dev/groundcrew/internal/errs"
	"groundcrew.dev/groundcrew/internal/identity"
	"groundcrew.dev/groundcrew/internal/oncall/schedule"
)

// Bounds of range queries.
const (
	// MaxRange bounds the span Shifts and Gaps render.
	MaxRange = 400 * 24 * time.Hour
	// DefaultRange is the span Shifts and Gaps render when to is not given.
	DefaultRange = 7 * 24 * time.Hour
	// MaxWithin bounds how far ahead UpcomingGaps looks.
	MaxWithin = 90 * 24 * time.Hour
)

// OnCall is who is on call in one schedule at an instant.
type OnCall struct {
	Schedule string    `json:"schedule"`
	Owner    string    `json:"owner" doc:"the team owning the schedule"`
	TimeZone string    `json:"time_zone"`
	At       time.Time `json:"at"`
	// Shifts holds one shift per person on call, with where it comes from
	// and since and until when; empty means nobody: a coverage gap.
	Shifts []schedule.Shift `json:"shifts" doc:"one per person on call: source, since and until when; empty: nobody is on call"`
}

// Users returns the names of the people on call.
func (o OnCall) Users() []string {
	out := make([]string, len(o.Shifts))
	for i, s := range o.Shifts {
		out[i] = s.User
	}
	return out
}

// compile compiles a stored schedule, logging one that no longer compiles
// (its time zone left the zone database).
func (s *Service) compile(sc Schedule) (*schedule.Schedule, error) {
	c, err := schedule.New(sc.Spec.Spec)
	if err != nil {
		s.log.Error("schedule does not compile; ignored", "schedule", sc.Name, "err", err)
	}
	return c, err
}

// Instant returns at in UTC, or now when at is zero: the instant the
// queries answer for.
func (s *Service) Instant(at time.Time) time.Time {
	if at.IsZero() {
		return s.clock.Now().UTC()
	}
	return at.UTC()
}

func onCallOf(sc Schedule, c *schedule.Schedule, at time.Time) OnCall {
	shifts := c.OnCallAt(at)
	if shifts == nil {
		shifts = []schedule.Shift{}
	}
	return OnCall{Schedule: sc.Name, Owner: sc.Spec.Owner, TimeZone: sc.Spec.TimeZone, At: at, Shifts: shifts}
}

// OnCall returns who is on call in the schedule called name at at (zero:
// now).
func (s *Service) OnCall(ctx context.Context, name string, at time.Time) (OnCall, error) {
	sc, err := s.GetSchedule(ctx, name)
	if err != nil {
		return OnCall{}, err
	}
	c, err := s.compile(sc)
	if err != nil {
		return OnCall{}, err
	}
	return onCallOf(sc, c, s.Instant(at)), nil
}

// OnCallForTeam returns who is on call at at (zero: now) in every schedule
// the team called team owns, by schedule name. A team without schedules
// gives an empty list.
func (s *Service) OnCallForTeam(ctx context.Context, team string, at time.Time) ([]OnCall, error) {
	if err := identity.Authorize(ctx, identity.PermRead, uuid.Nil); err != nil {
		return nil, err
	}
	id, err := s.dir.TeamID(ctx, s.db.Reader(), "team", team)
	if err != nil {
		return nil, err
	}
	return s.onCallOwnedBy(ctx, id, s.Instant(at))
}

// OnCallForService returns who is on call at at (zero: now) for the
// service called service: every schedule of the team that owns it.
func (s *Service) OnCallForService(ctx context.Context, service string, at time.Time) ([]OnCall, error) {
	if err := identity.Authorize(ctx, identity.PermRead, uuid.Nil); err != nil {
		return nil, err
	}
	_, owner, _, err := s.cat.ServiceRef(ctx, s.db.Reader(), "service", service)
	if err != nil {
		return nil, err
	}
	return s.onCallOwnedBy(ctx, owner, s.Instant(at))
}

// OnCallAll returns who is on call at at (zero: now) in every schedule, by
// name.
func (s *Service) OnCallAll(ctx context.Context, at time.Time) ([]OnCall, error) {
	if err := identity.Authorize(ctx, identity.PermRead, uuid.Nil); err != nil {
		return nil, err
	}
	return s.onCallOwnedBy(ctx, uuid.Nil, s.Instant(at))
}

func (s *Service) onCallOwnedBy(ctx context.Context, owner uuid.UUID, at time.Time) ([]OnCall, error) {
	out := []OnCall{}
	err := s.eachSchedule(ctx, owner, func(sc Schedule, c *schedule.Schedule) {
		out = append(out, onCallOf(sc, c, at))
	})
	return out, err
}

// eachSchedule calls fn with every schedule (owned by owner, unless Nil)
// that compiles, by name.
func (s *Service) eachSchedule(ctx context.Context, owner uuid.UUID, fn func(Schedule, *schedule.Schedule)) error {
	return scanRows(ctx, s.db.Reader(), schedulesTable, "", owner, func(r row) (bool, error) {
		sc, err := s.scheduleOf(r)
		if err != nil {
			return false, err
		}
		if c, err := s.compile(sc); err == nil {
			fn(sc, c)
		}
		return true, nil
	})
}

// span applies the defaults and bounds of a [from, to) query.
func (s *Service) span(from, to time.Time) (time.Time, time.Time, error) {
	from = s.Instant(from)
	if to.IsZero() {
		to = from.Add(DefaultRange)
	}
	switch {
	case !to.After(from):
		return from, to, errs.Invalidf("to", "must be after from")
	case to.Sub(from) > MaxRange:
		return from, to, errs.Invalidf("to", "must be at most 400 days after from")
	}
	return from, to, nil
}

// Shifts renders the schedule called name over [from, to) as shifts (the
// final calendar): from defaults to now, to to 7 days later; at most 400
// days.
func (s *Service) Shifts(ctx context.Context, name string, from, to time.Time) ([]schedule.Shift, error) {
	c, from, to, err := s.ranged(ctx, name, from, to)
	if err != nil {
		return nil, err
	}
	out := c.Shifts(from, to)
	if out == nil {
		out = []schedule.Shift{}
	}
	return out, nil
}

// Gaps returns the parts of [from, to) when nobody is on call in the
// schedule called name, with the defaults and bounds of Shifts.
func (s *Service) Gaps(ctx context.Context, name string, from, to time.Time) ([]schedule.Interval, error) {
	c, from, to, err := s.ranged(ctx, name, from, to)
	if err != nil {
		return nil, err
	}
	out := c.Gaps(from, to)
	if out == nil {
		out = []schedule.Interval{}
	}
	return out, nil
}

func (s *Service) ranged(ctx context.Context, name string, from, to time.Time) (*schedule.Schedule, time.Time, time.Time, error) {
	sc, err := s.GetSchedule(ctx, name)
	if err != nil {
		return nil, from, to, err
	}
	if from, to, err = s.span(from, to); err != nil {
		return nil, from, to, err
	}
	c, err := s.compile(sc)
	return c, from, to, err
}

// Gap is a stretch of time when nobody is on call in a schedule.
type Gap struct {
	Schedule string    `json:"schedule"`
	Owner    string    `json:"owner"`
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"`
	// Message says it for people, in the schedule's zone: "nobody is on
	// call for payments-primary (team payments) Sat 28 Mar 02:00–08:00
	// Europe/Berlin".
	Message string `json:"message"`
}

// UpcomingGaps returns the coverage gaps of every schedule from now until
// within later (default 7 days, at most 90), by start and then schedule.
func (s *Service) UpcomingGaps(ctx context.Context, within time.Duration) ([]Gap, error) {
	if err := identity.Authorize(ctx, identity.PermRead, uuid.Nil); err != nil {
		return nil, err
	}
	switch {
	case within == 0:
		within = DefaultRange
	case within < 0 || within > MaxWithin:
		return nil, errs.Invalidf("within", "must be between 0 and %d days", int(MaxWithin/(24*time.Hour)))
	}
	from := s.clock.Now().UTC()
	to := from.Add(within)
	out := []Gap{}
	err := s.eachSchedule(ctx, uuid.Nil, func(sc Schedule, c *schedule.Schedule) {
		loc, err := time.LoadLocation(sc.Spec.TimeZone)
		if err != nil {
			loc = time.UTC
		}
		for _, g := range c.Gaps(from, to) {
			out = append(out, Gap{Schedule: sc.Name, Owner: sc.Spec.Owner, Start: g.Start, End: g.End,
				Message: fmt.Sprintf("nobody is on call for %s (team %s) %s", sc.Name, sc.Spec.Owner, describeSpan(g.Start, g.End, loc))})
		}
	})
	slices.SortStableFunc(out, func(a, b Gap) int { return a.Start.Compare(b.Start) })
	return out, err
}

// describeSpan says [start, end) in loc for people: "Sat 28 Mar
// 02:00–08:00 Europe/Berlin", or with both dates when it spans days.
func describeSpan(start, end time.Time, loc *time.Location) string {
	a, b := start.In(loc), end.In(loc)
	if a.Format("2006-01-02") == b.Format("2006-01-02") {
		return a.Format("Mon 2 Jan 15:04") + "–" + b.Format("15:04") + " " + loc.String()
	}
	return a.Format("Mon 2 Jan 15:04") + " – " + b.Format("Mon 2 Jan 15:04") + " " + loc.String()
}

// Recipients returns who a step of an escalation policy notifies at at,
// without duplicates, in the order of its targets: a schedule's target is
// whoever is on call then, a team's members. An empty result
// means nobody: the pager must report it, not treat it as delivered.
func (s *Service) Recipients(ctx context.Context, step Step, at time.Time) ([]string, error) {
	var out []string
	add := func(names ...string) {
		for _, n := range names {
			if !slices.Contains(out, n) {
				out = append(out, n)
			}
		}
	}
	for _, t := range step.Targets {
		kind, name := t.Kind()
		switch kind {
		case "schedule":
			oc, err := s.OnCall(ctx, name, at)
			if err != nil {
				return nil, fmt.Errorf("recipients of schedule %s: %w", name, err)
			}
			add(oc.Users()...)
		case "user":
			add(name)
		default:
			if err := identity.Authorize(ctx, identity.PermRead, uuid.Nil); err != nil {
				return nil, err
			}
			tm, err := s.dir.GetTeamTx(ctx, s.db.Reader(), name)
			if err != nil {
				return nil, fmt.Errorf("recipients of team %s: %w", name, err)
			}
			add(tm.Members...)
		}
	}
	return out, nil
}
