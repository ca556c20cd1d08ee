// Package check is groundcrew's health-check engine: check definitions
// (owned through the catalog service they watch), the scheduler that runs
// them without drift, their results, confirmed states and state changes,
// uptime, and heartbeats.
//
// A check's probe (package probe) says what it saw; its conditions (CEL,
// package expr) say whether that is UP, DEGRADED or DOWN; confirmation
// thresholds and the parent check decide when the confirmed state changes;
// state changes go to the alert pipeline through the small AlertSink
// interface, never on the probing path.
package check

import (
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"groundcrew.dev/groundcrew/internal/check/probe"
	"groundcrew.dev/groundcrew/internal/errs"
	"groundcrew.dev/groundcrew/internal/expr"
	"groundcrew.dev/groundcrew/internal/identity"
	"groundcrew.dev/groundcrew/internal/names"
)

// Heartbeat is the check type fed by pings instead of probes: a cron job or
// a backup calls its secret URL; a late or missing ping marks it DOWN.
const Heartbeat probe.Type = "heartbeat"

// LocalLocation is the location of probes run by the server itself.
const LocalLocation = "local"

// Condition is one assertion over a probe's variables.
type Condition struct {
	Name string `json:"name,omitempty" doc:"label shown in results; default the expression"`
	Expr string `json:"expr" doc:"CEL, e.g. status == 200 && duration < duration(\"300ms\")"`
	// Degraded makes a failing condition mark the check DEGRADED instead of
	// DOWN: slow but working.
	Degraded bool `json:"degraded,omitempty"`
}

// Label returns the condition's name, or its expression.
func (c Condition) Label() string {
	if c.Name != "" {
		return c.Name
	}
	return c.Expr
}

// Confirm sets how many runs in a row it takes to change the confirmed
// state: Down failing runs to go DOWN (or DEGRADED), Up passing runs to go
// back UP. Zero means the default (2 and 1).
type Confirm struct {
	Down int `json:"down,omitempty" minimum:"0" maximum:"20"`
	Up   int `json:"up,omitempty" minimum:"0" maximum:"20"`
}

// HeartbeatSpec configures a heartbeat check.
type HeartbeatSpec struct {
	// Grace is how late a ping may be after the interval before the check
	// goes DOWN. Default a fifth of the interval, at least 30 s.
	Grace probe.Duration `json:"grace,omitempty"`
}

// Spec is the writable part of a check.
type Spec struct {
	DisplayName string         `json:"display_name,omitempty"`
	Service     string         `json:"service" doc:"the catalog service the check watches"`
	Environment string         `json:"environment" doc:"where, among the service's environments"`
	Interval    probe.Duration `json:"interval" doc:"how often it runs, e.g. 30s; for heartbeats, how often pings are expected"`
	Timeout     probe.Duration `json:"timeout,omitempty" doc:"per attempt; default 10s or the interval if shorter"`
	Retries     int            `json:"retries,omitempty" minimum:"0" maximum:"5" doc:"extra attempts within a run before it counts as failed"`
	Confirm     Confirm        `json:"confirm,omitzero"`
	Parent      string         `json:"parent,omitempty" doc:"a check this one depends on: while it is DOWN, this one reports blocked and does not alert"`
	Locations   []string       `json:"locations,omitempty" doc:"where it is probed from: local (the server) and the locations of enrolled agents; default local"`
	// MinFailingLocations is how many locations must see a run fail for
	// the run to count as failed ("down from 2 of 3 locations"); zero
	// means 1. Only for checks probed from several locations.
	MinFailingLocations int         `json:"min_failing_locations,omitempty" minimum:"0" maximum:"50" doc:"how many locations must fail for a run to fail; default 1"`
	Conditions          []Condition `json:"conditions,omitempty" doc:"default: the probe type's usual success condition"`
	Paused              bool        `json:"paused,omitempty"`
	probe.Spec
	Heartbeat *HeartbeatSpec `json:"heartbeat,omitempty"`
}

// Check is a health check.
type Check struct {
	ID     uuid.UUID         `json:"id"`
	Name   string            `json:"name"`
	Labels map[string]string `json:"labels,omitempty"`
	Spec
	State     *State    `json:"state,omitempty" doc:"confirmed state (read-only)"`
	Origin    string    `json:"origin,omitempty"`
	Revision  int64     `json:"revision"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Input creates or replaces a check.
type Input struct {
	Name   string            `json:"name,omitempty" doc:"required on create; fixed afterwards"`
	Labels map[string]string `json:"labels,omitempty"`
	Spec
}

// Limits on definitions; the zero Limits are the defaults.
type Limits struct {
	MinInterval time.Duration // default 5 s
	MaxInterval time.Duration // default 24 h
}

func (l Limits) withDefaults() Limits {
	if l.MinInterval <= 0 {
		l.MinInterval = 5 * time.Second
	}
	if l.MaxInterval <= 0 {
		l.MaxInterval = 24 * time.Hour
	}
	return l
}

// DefaultTimeout is a check's timeout when it sets none (bounded by the
// interval).
const DefaultTimeout = 10 * time.Second

// Normalize fills the defaults of s in place.
func (s *Spec) Normalize() {
	if s.Timeout == 0 && s.Type != Heartbeat {
		s.Timeout = probe.Duration(min(DefaultTimeout, s.Interval.Std()*8/10))
	}
	if len(s.Locations) == 0 {
		s.Locations = []string{LocalLocation}
	}
	s.Locations = slices.Compact(slices.Sorted(slices.Values(s.Locations)))
	if s.Confirm.Down == 0 {
		s.Confirm.Down = 2
	}
	if s.Confirm.Up == 0 {
		s.Confirm.Up = 1
	}
	if s.Type == Heartbeat {
		if s.Heartbeat == nil {
			s.Heartbeat = &HeartbeatSpec{}
		}
		if s.Heartbeat.Grace == 0 {
			s.Heartbeat.Grace = probe.Duration(max(30*time.Second, s.Interval.Std()/5))
		}
	}
}

// Compiled is a validated check with its conditions compiled, ready to run.
type Compiled struct {
	Conditions []Condition
	Programs   []*expr.Program
}

// Validate checks in (after Normalize) against lim, compiles its
// conditions and returns them. Errors name the field.
func (in *Input) Validate(lim Limits) (*Compiled, error) {
	lim = lim.withDefaults()
	if err := names.Check("name", in.Name); err != nil {
		return nil, err
	}
	if err := identity.CheckLabels("labels", in.Labels); err != nil {
		return nil, err
	}
	if err := names.Check("service", in.Service); err != nil {
		return nil, err
	}
	if err := names.Check("environment", in.Environment); err != nil {
		return nil, err
	}
	if len(in.DisplayName) > 200 {
		return nil, errs.Invalidf("display_name", "must be at most 200 characters")
	}
	iv := in.Interval.Std()
	if iv < lim.MinInterval || iv > lim.MaxInterval {
		return nil, errs.Invalidf("interval", "%s is outside the allowed %s to %s", iv, lim.MinInterval, lim.MaxInterval)
	}
	if in.Type != Heartbeat {
		if to := in.Timeout.Std(); to <= 0 || to > iv {
			return nil, errs.Invalidf("timeout", "%s must be positive and at most the interval (%s)", to, iv)
		}
	}
	if in.Retries < 0 || in.Retries > 5 {
		return nil, errs.Invalidf("retries", "must be 0 to 5")
	}
	if in.Type != Heartbeat && time.Duration(in.Retries+1)*in.Timeout.Std() > iv {
		return nil, errs.Invalidf("retries", "%d attempts of up to %s each do not fit in the interval (%s)", in.Retries+1, in.Timeout.Std(), iv)
	}
	if in.Confirm.Down < 1 || in.Confirm.Down > 20 {
		return nil, errs.Invalidf("confirm.down", "must be 1 to 20")
	}
	if in.Confirm.Up < 1 || in.Confirm.Up > 20 {
		return nil, errs.Invalidf("confirm.up", "must be 1 to 20")
	}
	if in.Parent != "" {
		if err := names.Check("parent", in.Parent); err != nil {
			return nil, err
		}
		if in.Parent == in.Name {
			return nil, errs.Invalidf("parent", "a check cannot be its own parent")
		}
	}
	for i, l := range in.Locations {
		if err := names.Check(fmt.Sprintf("locations[%d]", i), l); err != nil {
			return nil, err
		}
		if l == PingLocation {
			return nil, errs.Invalidf(fmt.Sprintf("locations[%d]", i), "%q is reserved for heartbeat pings", l)
		}
	}
	if len(in.Locations) > 50 {
		return nil, errs.Invalidf("locations", "at most 50 locations")
	}
	if in.MinFailingLocations < 0 || in.MinFailingLocations > len(in.Locations) {
		return nil, errs.Invalidf("min_failing_locations", "must be between 1 and the number of locations (%d)", len(in.Locations))
	}
	if in.Type == Heartbeat {
		if in.HTTP != nil || in.TCP != nil || in.UDP != nil || in.DNS != nil || in.TLS != nil || in.ICMP != nil || in.GRPC != nil || in.SSH != nil {
			return nil, errs.Invalidf("type", "a heartbeat check has no probe settings")
		}
		if in.Heartbeat.Grace.Std() < 0 || in.Heartbeat.Grace.Std() > 7*24*time.Hour {
			return nil, errs.Invalidf("heartbeat.grace", "must be between 0 and 7 days")
		}
		if len(in.Conditions) > 0 {
			return nil, errs.Invalidf("conditions", "a heartbeat check has no conditions: a ping is UP, a missing or failed one DOWN")
		}
		if !slices.Equal(in.Locations, []string{LocalLocation}) {
			return nil, errs.Invalidf("locations", "a heartbeat check is received by the server, not probed from locations")
		}
		return &Compiled{}, nil
	}
	if in.Heartbeat != nil {
		return nil, errs.Invalidf("heartbeat", "only for checks of type heartbeat")
	}
	if !slices.Contains(probe.Types, in.Type) {
		return nil, errs.Invalidf("type", "%q is not a check type: want http, tcp, udp, dns, tls, icmp, grpc, ssh or heartbeat", in.Type)
	}
	if err := in.Spec.Spec.Validate(); err != nil {
		return nil, err
	}
	return compileConditions(in.Type, in.Conditions)
}

// envs holds one CEL environment per probe type; they are immutable.
var envs = func() map[probe.Type]*expr.Env {
	m := map[probe.Type]*expr.Env{}
	for _, t := range probe.Types {
		env, err := expr.NewEnv(probe.Vars(t)...)
		if err != nil {
			panic(fmt.Sprintf("check: CEL environment for %s: %v", t, err))
		}
		m[t] = env
	}
	return m
}()

// compileConditions compiles conds (or the type's defaults) in t's
// environment.
func compileConditions(t probe.Type, conds []Condition) (*Compiled, error) {
	c := &Compiled{Conditions: conds}
	if len(conds) == 0 {
		for _, src := range probe.DefaultConditions(t) {
			c.Conditions = append(c.Conditions, Condition{Expr: src})
		}
	}
	if len(c.Conditions) > 20 {
		return nil, errs.Invalidf("conditions", "at most 20 conditions")
	}
	for i, cond := range c.Conditions {
		if len(cond.Name) > 100 {
			return nil, errs.Invalidf(fmt.Sprintf("conditions[%d].name", i), "must be at most 100 characters")
		}
		p, err := envs[t].Compile(fmt.Sprintf("conditions[%d].expr", i), cond.Expr)
		if err != nil {
			return nil, err
		}
		c.Programs = append(c.Programs, p)
	}
	return c, nil
}
