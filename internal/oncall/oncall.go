// Package oncall stores on-call schedules and escalation policies and
// answers "who is on call" for a schedule, a team or a service, the coverage
// gaps ahead, and each person's iCalendar feed.
//
// The computation lives in the pure core, package schedule; this package
// holds the `kind: Schedule` and `kind: EscalationPolicy` documents, their
// storage, authorization (members write what their teams own, operators
// everything) and audit. Paging — escalation driven by durable jobs — is a
// later slice: EscalationPolicy is the definition it will read, and Pager
// names what it will need from this package.
package oncall

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"groundcrew.dev/groundcrew/internal/errs"
	"groundcrew.dev/groundcrew/internal/identity"
	"groundcrew.dev/groundcrew/internal/names"
	"groundcrew.dev/groundcrew/internal/oncall/schedule"
)

// ScheduleSpec is the spec of a `kind: Schedule` document: the owning team
// and the core's schedule (time zone, layers, overrides).
type ScheduleSpec struct {
	// Owner is the team that owns the schedule: its members may change it.
	Owner string `json:"owner" doc:"the owning team; its members may change the schedule"`
	schedule.Spec
}

// Schedule is a stored on-call schedule.
type Schedule struct {
	ID     uuid.UUID         `json:"id"`
	Name   string            `json:"name"`
	Labels map[string]string `json:"labels,omitempty"`
	Spec   ScheduleSpec      `json:"spec"`
	// Warnings are the valid but questionable parts of the spec, such as
	// overlapping overrides for the same slot (read-only).
	Warnings  []schedule.Warning `json:"warnings,omitempty" doc:"questionable but valid parts of the spec, e.g. overlapping overrides (read-only)"`
	Origin    string             `json:"origin,omitempty"`
	Revision  int64              `json:"revision"`
	CreatedAt time.Time          `json:"created_at"`
	UpdatedAt time.Time          `json:"updated_at"`
}

// ScheduleInput creates or replaces a schedule.
type ScheduleInput struct {
	Name   string            `json:"name,omitempty" doc:"required on create; fixed afterwards"`
	Labels map[string]string `json:"labels,omitempty"`
	Spec   ScheduleSpec      `json:"spec"`
}

// Validate reports the first invalid field of in ("spec.layers[0].rotation.kind"),
// normalizes it (override times in UTC) and returns the schedule compiled.
// That participants and the owner exist is the Service's to check.
func (in *ScheduleInput) Validate() (*schedule.Schedule, error) {
	if err := names.Check("name", in.Name); err != nil {
		return nil, err
	}
	if err := identity.CheckLabels("labels", in.Labels); err != nil {
		return nil, err
	}
	if err := names.Check("spec.owner", in.Spec.Owner); err != nil {
		return nil, err
	}
	for i := range in.Spec.Overrides {
		o := &in.Spec.Overrides[i]
		o.Start, o.End = o.Start.UTC(), o.End.UTC()
	}
	sc, err := schedule.New(in.Spec.Spec)
	if err != nil {
		return nil, errs.WithField("spec", err)
	}
	return sc, nil
}

// people returns every user name a schedule spec mentions, with the field
// naming each occurrence ("spec.layers[1].rotation.participants[2]").
func (s *ScheduleSpec) people() (fields, users []string) {
	add := func(field, user string) {
		if user != "" {
			fields, users = append(fields, field), append(users, user)
		}
	}
	for i, l := range s.Layers {
		r := fmt.Sprintf("spec.layers[%d].rotation", i)
		for j, e := range l.Rotation.History {
			for k, p := range e.Participants {
				add(fmt.Sprintf("%s.history[%d].participants[%d]", r, j, k), p)
			}
		}
		for k, p := range l.Rotation.Participants {
			add(fmt.Sprintf("%s.participants[%d]", r, k), p)
		}
	}
	for i, o := range s.Overrides {
		add(fmt.Sprintf("spec.overrides[%d].user", i), o.User)
		add(fmt.Sprintf("spec.overrides[%d].replaces", i), o.Replaces)
	}
	return fields, users
}

// Limits of an escalation policy.
const (
	MaxSteps     = 20
	MaxRepeat    = 9
	MaxTargets   = 20
	MinStepDelay = time.Minute
	MaxStepDelay = 24 * time.Hour
)

// PolicySpec is the spec of a `kind: EscalationPolicy` document: steps
// that notify their targets and then wait their delay before the next,
// and how often the whole policy repeats when nobody acknowledges.
type PolicySpec struct {
	// Owner is the team that owns the policy: its members may change it.
	Owner string `json:"owner" doc:"the owning team; its members may change the policy"`
	// Repeat is how many more times the whole policy runs after its last
	// step when nobody acknowledges (0–9).
	Repeat int    `json:"repeat,omitempty" minimum:"0" maximum:"9" doc:"how many more times the steps run after the last one when nobody acknowledges (0-9)"`
	Steps  []Step `json:"steps" doc:"at least one, at most 20"`
}

// Step is one step of an escalation policy: notify Targets (the first step
// as soon as the page opens), then wait Delay for an acknowledgement
// before the next step.
type Step struct {
	Delay   string   `json:"delay" doc:"Go duration to wait for an acknowledgement before the next step, at least 1m (e.g. 5m)"`
	Targets []Target `json:"targets" doc:"who this step notifies: at least one"`
}

// Target is whom a step notifies: exactly one of a schedule (whoever is on
// call then), a user, or a team (every member).
type Target struct {
	Schedule string `json:"schedule,omitempty" doc:"whoever is on call in this schedule"`
	User     string `json:"user,omitempty"`
	Team     string `json:"team,omitempty" doc:"every member of the team"`
}

// EscalationPolicy is a stored escalation policy.
type EscalationPolicy struct {
	ID        uuid.UUID         `json:"id"`
	Name      string            `json:"name"`
	Labels    map[string]string `json:"labels,omitempty"`
	Spec      PolicySpec        `json:"spec"`
	Origin    string            `json:"origin,omitempty"`
	Revision  int64             `json:"revision"`
	CreatedAt time.Time         `json:"created_at"`
	UpdatedAt time.Time         `json:"updated_at"`
}

// PolicyInput creates or replaces an escalation policy.
type PolicyInput struct {
	Name   string            `json:"name,omitempty" doc:"required on create; fixed afterwards"`
	Labels map[string]string `json:"labels,omitempty"`
	Spec   PolicySpec        `json:"spec"`
}

// Validate reports the first invalid field of in ("spec.steps[1].delay").
// That its targets exist is the Service's to check.
func (in *PolicyInput) Validate() error {
	if err := names.Check("name", in.Name); err != nil {
		return err
	}
	if err := identity.CheckLabels("labels", in.Labels); err != nil {
		return err
	}
	return in.Spec.Validate()
}

// Validate reports the first invalid field of s, prefixed "spec.".
func (s *PolicySpec) Validate() error {
	if err := names.Check("spec.owner", s.Owner); err != nil {
		return err
	}
	if s.Repeat < 0 || s.Repeat > MaxRepeat {
		return errs.Invalidf("spec.repeat", "must be between 0 and %d, not %d", MaxRepeat, s.Repeat)
	}
	switch {
	case len(s.Steps) == 0:
		return errs.Invalidf("spec.steps", "a policy needs at least one step")
	case len(s.Steps) > MaxSteps:
		return errs.Invalidf("spec.steps", "at most %d steps, not %d", MaxSteps, len(s.Steps))
	}
	for i, st := range s.Steps {
		f := fmt.Sprintf("spec.steps[%d]", i)
		if _, err := st.Wait(); err != nil {
			return errs.WithField(f, err)
		}
		switch {
		case len(st.Targets) == 0:
			return errs.Invalidf(f+".targets", "a step needs at least one target: a schedule, a user or a team")
		case len(st.Targets) > MaxTargets:
			return errs.Invalidf(f+".targets", "at most %d targets", MaxTargets)
		}
		for j, t := range st.Targets {
			if err := t.validate(); err != nil {
				return errs.WithField(fmt.Sprintf("%s.targets[%d]", f, j), err)
			}
		}
	}
	return nil
}

// Wait returns the step's delay, or an Invalid error naming "delay".
func (st Step) Wait() (time.Duration, error) {
	d, err := time.ParseDuration(st.Delay)
	switch {
	case st.Delay == "":
		return 0, errs.Invalidf("delay", "is required: how long to wait before this step, at least 1m (e.g. 5m)")
	case err != nil:
		return 0, errs.Invalidf("delay", "%q is not a duration such as 5m or 1h", st.Delay)
	case d < MinStepDelay || d > MaxStepDelay:
		return 0, errs.Invalidf("delay", "must be between %s and %s, not %s", MinStepDelay, MaxStepDelay, st.Delay)
	}
	return d, nil
}

// Kind returns which kind of target t is ("schedule", "user" or "team")
// and the name it gives.
func (t Target) Kind() (kind, name string) {
	switch {
	case t.Schedule != "":
		return "schedule", t.Schedule
	case t.User != "":
		return "user", t.User
	default:
		return "team", t.Team
	}
}

func (t Target) validate() error {
	n := 0
	for _, v := range []string{t.Schedule, t.User, t.Team} {
		if v != "" {
			n++
		}
	}
	if n != 1 {
		return errs.Invalidf("", "give exactly one of schedule, user or team")
	}
	kind, name := t.Kind()
	return names.Check(kind, name)
}

// Pager is what the paging slice will need from this package: a policy
// by name, and who a step's targets are at an instant (a schedule's target
// resolves to whoever is on call then; nobody on call is an empty list,
// which the pager must treat as a gap to report, never as success).
// *Service implements it.
type Pager interface {
	GetPolicy(ctx context.Context, name string) (EscalationPolicy, error)
	Recipients(ctx context.Context, step Step, at time.Time) ([]string, error)
}

var _ Pager = (*Service)(nil)
