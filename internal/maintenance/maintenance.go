// Package maintenance holds maintenance windows: planned periods, one-off
// or recurring in a time zone, during which the alerts of some services in
// some environments are muted, and which status pages announce.
//
// A window's schedule is pure logic (Recurrence, Compiled) with no
// database or clock, following groundcrew's wall-clock rules: intervals
// are half-open, a recurring window starts at its local wall-clock time
// each day and lasts real elapsed time. The Service manages windows; the
// Cache holds them compiled in memory and answers Muted for every check
// state change without touching the database.
package maintenance

import (
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"groundcrew.dev/groundcrew/internal/errs"
	"groundcrew.dev/groundcrew/internal/identity"
	"groundcrew.dev/groundcrew/internal/names"
)

// MaxOneOff bounds a one-off window: longer muting is a risk, not
// maintenance.
const MaxOneOff = 31 * 24 * time.Hour

// Spec is the writable part of a maintenance window: what it mutes and
// when. It is either one-off (Start and End) or recurring (Recurrence).
type Spec struct {
	Description  string          `json:"description,omitempty" maxLength:"4000"`
	Services     []string        `json:"services,omitempty" doc:"catalog services whose alerts it mutes; empty: every service"`
	Environments []string        `json:"environments,omitempty" doc:"environments it mutes them in; empty: every environment"`
	Start        *time.Time      `json:"start,omitempty" doc:"one-off window: RFC 3339 with offset, e.g. 2026-05-02T22:00:00+02:00"`
	End          *time.Time      `json:"end,omitempty" doc:"one-off window: RFC 3339 with offset; at most 31 days after start"`
	Recurrence   *RecurrenceSpec `json:"recurrence,omitempty" doc:"recurring window, instead of start and end"`
}

// Window is a maintenance window.
type Window struct {
	ID     uuid.UUID         `json:"id"`
	Name   string            `json:"name"`
	Labels map[string]string `json:"labels,omitempty"`
	Spec
	Active    bool      `json:"active" doc:"whether the window is in effect now (read-only)"`
	Next      *Interval `json:"next,omitempty" doc:"the occurrence in effect now, else the next one (recurring windows: within 8 days) (read-only)"`
	Origin    string    `json:"origin,omitempty"`
	Revision  int64     `json:"revision"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Input creates or replaces a maintenance window.
type Input struct {
	Name   string            `json:"name,omitempty" doc:"required on create; fixed afterwards"`
	Labels map[string]string `json:"labels,omitempty"`
	Spec
}

// Validate reports the first invalid field, normalizes in (lists sorted
// without duplicates, times in UTC) and returns the window compiled.
// References to services and environments are the Service's to check.
func (in *Input) Validate() (Compiled, error) {
	if err := names.Check("name", in.Name); err != nil {
		return Compiled{}, err
	}
	if err := identity.CheckLabels("labels", in.Labels); err != nil {
		return Compiled{}, err
	}
	return in.Spec.compile(in.Name)
}

// compile validates and normalizes s and returns the window called name
// compiled.
func (s *Spec) compile(name string) (Compiled, error) {
	if len(s.Description) > 4000 {
		return Compiled{}, errs.Invalidf("description", "must be at most 4000 characters")
	}
	var err error
	if s.Services, err = checkNames("services", s.Services); err != nil {
		return Compiled{}, err
	}
	if s.Environments, err = checkNames("environments", s.Environments); err != nil {
		return Compiled{}, err
	}
	w := Compiled{Name: name, Description: s.Description, Services: s.Services, Environments: s.Environments}
	switch {
	case s.Recurrence != nil && (s.Start != nil || s.End != nil):
		return w, errs.Invalidf("recurrence", "a window is either one-off (start and end) or recurring, not both")
	case s.Recurrence != nil:
		r, norm, err := s.Recurrence.Parse()
		if err != nil {
			return w, errs.WithField("recurrence", err)
		}
		s.Recurrence, w.Recurrence = &norm, &r
	case s.Start == nil && s.End == nil:
		return w, errs.Invalidf("start", "is required: give start and end for a one-off window, or a recurrence")
	case s.Start == nil:
		return w, errs.Invalidf("start", "is required with end")
	case s.End == nil:
		return w, errs.Invalidf("end", "is required with start")
	default:
		start, end := s.Start.UTC(), s.End.UTC()
		if !end.After(start) {
			return w, errs.Invalidf("end", "must be after start (%s)", s.Start.Format(time.RFC3339))
		}
		if end.Sub(start) > MaxOneOff {
			return w, errs.Invalidf("end", "a one-off window lasts at most 31 days; this one lasts %s", end.Sub(start).Round(time.Minute))
		}
		s.Start, s.End = &start, &end
		w.OneOff = &Interval{start, end}
	}
	return w, nil
}

// checkNames validates a list of names and returns it sorted without
// duplicates, nil when empty.
func checkNames(field string, list []string) ([]string, error) {
	for i, n := range list {
		if err := names.Check(fmt.Sprintf("%s[%d]", field, i), n); err != nil {
			return nil, err
		}
	}
	if len(list) == 0 {
		return nil, nil
	}
	return slices.Compact(slices.Sorted(slices.Values(list))), nil
}

// Compiled is a validated window ready to answer which services it mutes
// and when. It is a plain value: no database, no clock.
type Compiled struct {
	Name         string
	Description  string
	Services     []string // sorted; empty: every service
	Environments []string // sorted; empty: every environment
	OneOff       *Interval
	Recurrence   *Recurrence
}

// Covers reports whether w applies to service in environment.
func (w Compiled) Covers(service, environment string) bool {
	if len(w.Services) > 0 {
		if _, ok := slices.BinarySearch(w.Services, service); !ok {
			return false
		}
	}
	if len(w.Environments) > 0 {
		if _, ok := slices.BinarySearch(w.Environments, environment); !ok {
			return false
		}
	}
	return true
}

// ActiveAt reports whether w is in effect at t.
func (w Compiled) ActiveAt(t time.Time) bool {
	switch {
	case w.OneOff != nil:
		return w.OneOff.Contains(t)
	case w.Recurrence != nil:
		return w.Recurrence.ActiveAt(t)
	}
	return false
}

// Occurrences returns the occurrences of w that overlap [from, to), in
// order of start; see Recurrence.Occurrences.
func (w Compiled) Occurrences(from, to time.Time) []Interval {
	switch {
	case w.OneOff != nil:
		if w.OneOff.overlaps(from, to) {
			return []Interval{*w.OneOff}
		}
	case w.Recurrence != nil:
		return w.Recurrence.Occurrences(from, to)
	}
	return nil
}

// next returns the occurrence in effect at now, else the next one: any
// time for a one-off window, within 8 days (a week and a day of slack)
// for a recurring one.
func (w Compiled) next(now time.Time) *Interval {
	to := now.Add(8 * 24 * time.Hour)
	if w.OneOff != nil {
		to = w.OneOff.End
	}
	if occ := w.Occurrences(now, to); len(occ) > 0 {
		return &occ[0]
	}
	return nil
}

// Occurrence is one occurrence of a window, for status pages.
type Occurrence struct {
	Window       string    `json:"window"`
	Description  string    `json:"description,omitempty"`
	Services     []string  `json:"services,omitempty" doc:"empty: every service"`
	Environments []string  `json:"environments,omitempty" doc:"empty: every environment"`
	Start        time.Time `json:"start"`
	End          time.Time `json:"end"`
}
