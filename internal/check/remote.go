package check

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"groundcrew.dev/groundcrew/internal/check/probe"
	"groundcrew.dev/groundcrew/internal/clock"
	"groundcrew.dev/groundcrew/internal/errs"
)

// Remote locations: an enrolled agent (package fleet, package agent) asks
// for the checks assigned to its location, probes them on the same
// epoch-aligned slots as the server would, and reports the results. The
// server stores each result as it arrives and leaves it in an inbox for the
// replica that runs the check; that replica's Runner folds the results of
// every location for a slot into one outcome ("down from 2 of 3
// locations") and advances the confirmed state from it.

// Assignment is a check as an agent runs it.
type Assignment struct {
	ID       uuid.UUID `json:"id"`
	Name     string    `json:"name"`
	Revision int64     `json:"revision"`
	Spec     Spec      `json:"spec"`
}

// Check returns the assignment as a check, to compile and probe.
func (a Assignment) Check() Check {
	return Check{ID: a.ID, Name: a.Name, Revision: a.Revision, Spec: a.Spec}
}

// Compile compiles a check's conditions (for an agent, which has no
// Runner).
func Compile(c Check) (*Compiled, error) { return compileFor(c) }

// Interval returns how often c runs, and Timeout the bound of one whole run
// (every attempt and the evaluation): what a scheduler needs.
func Interval(c Check) time.Duration { return c.runInterval() }

// Timeout returns the bound of one whole run of c; see Interval.
func Timeout(c Check) time.Duration { return c.runTimeout() }

// Assignments returns the checks probed from location (not paused), by
// name, and a version that changes whenever any check changes; when the
// version equals since, it returns no checks and unchanged true, so that
// agents can poll cheaply.
func (s *Service) Assignments(ctx context.Context, location, since string) (list []Assignment, version string, unchanged bool, err error) {
	var n int
	var latest any // SQLite returns max() of a timestamp as text, PostgreSQL as a time
	if err := s.db.Reader().QueryRowContext(ctx, `SELECT count(*), max(updated_at) FROM checks`).Scan(&n, &latest); err != nil {
		return nil, "", false, fmt.Errorf("check assignments: %w", err)
	}
	sum := sha256.Sum256(fmt.Appendf(nil, "%s/%d/%v", location, n, latest))
	version = hex.EncodeToString(sum[:8])
	if version == since {
		return nil, version, true, nil
	}
	after := ""
	for {
		page, next, err := listChecks(ctx, s.db.Reader(), Filter{After: after, Limit: 1000})
		if err != nil {
			return nil, "", false, fmt.Errorf("check assignments: %w", err)
		}
		for _, c := range page {
			if !c.Paused && c.runsAt(location) {
				list = append(list, Assignment{ID: c.ID, Name: c.Name, Revision: c.Revision, Spec: c.Spec})
			}
		}
		if next == "" {
			return list, version, false, nil
		}
		after = next
	}
}

// MaxReport bounds the results one report may carry.
const MaxReport = 5000

// Report stores results probed from location (by an agent the caller has
// authenticated) and hands them to the runner that decides their checks'
// state. Results of checks that no longer exist or are not assigned to the
// location are skipped, not refused: the agent's list may be a little out
// of date. It returns how many were stored. A malformed result refuses
// the whole report, naming it, and stores nothing.
func (s *Service) Report(ctx context.Context, location string, rs []Result) (int, error) {
	if len(rs) > MaxReport {
		return 0, errs.Invalidf("results", "at most %d results per report", MaxReport)
	}
	now := s.clock.Now()
	for i := range rs {
		r := &rs[i]
		field := fmt.Sprintf("results[%d]", i)
		switch r.Status {
		case Up, Degraded, Down:
		default:
			return 0, errs.Invalidf(field+".status", "%q is not a result: want up, degraded or down", r.Status)
		}
		if r.CheckID == uuid.Nil {
			return 0, errs.Invalidf(field+".check_id", "required")
		}
		if r.At.IsZero() || r.At.After(now.Add(time.Minute)) || r.At.Before(now.Add(-time.Hour)) {
			return 0, errs.Invalidf(field+".at", "must be within the last hour (is the agent's clock right?)")
		}
		if r.Duration < 0 || r.Duration > time.Hour {
			return 0, errs.Invalidf(field+".duration_ns", "must be between 0 and 1h")
		}
		if len(r.Conditions) > 20 {
			return 0, errs.Invalidf(field+".conditions", "at most 20")
		}
		r.Location, r.At, r.Reason = location, r.At.UTC(), cleanReason(r.Reason)
		for j := range r.Conditions {
			c := &r.Conditions[j]
			c.Name, c.Error = cleanReason(c.Name), cleanReason(c.Error)
		}
	}
	assigned, err := s.assignedTo(ctx, location, rs)
	if err != nil {
		return 0, err
	}
	kept := slices.DeleteFunc(slices.Clone(rs), func(r Result) bool { return assigned[r.CheckID] == 0 })
	if len(kept) == 0 {
		return 0, nil
	}
	// The result of a check probed from this location alone is the run's
	// outcome, which the rollups count; those of checks probed from several
	// are not (the runner stores their combined outcome). Counted rows go
	// first.
	slices.SortStableFunc(kept, func(a, b Result) int { return assigned[a.CheckID] - assigned[b.CheckID] })
	counted := 0
	for _, r := range kept {
		if assigned[r.CheckID] == assignedAlone {
			counted++
		}
	}
	err = s.db.InTx(ctx, func(tx *sql.Tx) error {
		if err := writeResults(ctx, tx, nil, kept, counted); err != nil { // multi-row, not prepared (reports come now and then)
			return err
		}
		for _, r := range kept {
			if _, err := tx.ExecContext(ctx, `INSERT INTO check_inbox (check_id, location, at, status, duration_us, reason)
				VALUES ($1, $2, $3, $4, $5, $6)`, r.CheckID, r.Location, r.At, r.Status, r.Duration.Microseconds(), r.Reason); err != nil {
				return fmt.Errorf("report result: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return len(kept), nil
}

// How a check is assigned to a location, as assignedTo reports it.
const (
	notAssigned    = 0
	assignedAlone  = 1 // probed from this location only
	assignedShared = 2 // probed from this location and others
)

// assignedTo reports which of the results' checks are probed from
// location, and whether from it alone.
func (s *Service) assignedTo(ctx context.Context, location string, rs []Result) (map[uuid.UUID]int, error) {
	ids := map[uuid.UUID]int{}
	for _, r := range rs {
		ids[r.CheckID] = notAssigned
	}
	all := make([]any, 0, len(ids))
	for id := range ids {
		all = append(all, id)
	}
	for len(all) > 0 {
		chunk := all[:min(len(all), 500)]
		all = all[len(chunk):]
		marks := make([]string, len(chunk))
		for i := range chunk {
			marks[i] = fmt.Sprintf("$%d", i+1)
		}
		rows, err := s.db.Reader().QueryContext(ctx, `SELECT id, spec FROM checks WHERE id IN (`+strings.Join(marks, ", ")+`)`, chunk...)
		if err != nil {
			return nil, fmt.Errorf("report results: %w", err)
		}
		for rows.Next() {
			var id uuid.UUID
			var spec string
			var sp struct {
				Locations []string `json:"locations"`
				Paused    bool     `json:"paused"`
			}
			if err := rows.Scan(&id, &spec); err != nil {
				rows.Close()
				return nil, fmt.Errorf("report results: %w", err)
			}
			switch {
			case json.Unmarshal([]byte(spec), &sp) != nil, sp.Paused, !slices.Contains(sp.Locations, location):
			case len(sp.Locations) == 1:
				ids[id] = assignedAlone
			default:
				ids[id] = assignedShared
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("report results: %w", err)
		}
	}
	return ids, nil
}

// Probe runs c's probe with its retries and evaluates the conditions of
// the last attempt: one run, as the Runner and agents perform it. The
// result has no check, location or time set.
func Probe(ctx context.Context, p *probe.Prober, clk clock.Clock, c Check, comp *Compiled) Result {
	var res Result
	for attempt := 0; attempt <= c.Retries; attempt++ {
		actx, cancel := clock.WithTimeout(ctx, clk, c.Timeout.Std())
		pr := p.Run(actx, &c.Spec.Spec)
		cancel()
		res = evaluate(ctx, comp, pr)
		if res.Status == Up || ctx.Err() != nil {
			break
		}
	}
	if c.Retries > 0 && res.Status != Up && res.Reason != "" {
		res.Reason = fmt.Sprintf("%s (after %d attempts)", res.Reason, c.Retries+1)
	}
	res.Reason = cleanReason(res.Reason)
	return res
}

// Reported is a result as an agent sends it.
type Reported struct {
	CheckID    uuid.UUID         `json:"check_id"`
	At         time.Time         `json:"at" doc:"the slot the run belongs to"`
	Status     Status            `json:"status" enum:"up,degraded,down"`
	Duration   time.Duration     `json:"duration_ns"`
	Reason     string            `json:"reason,omitempty"`
	Conditions []ConditionResult `json:"conditions,omitempty"`
}

// NewReported returns r as an agent sends it.
func NewReported(r Result) Reported {
	return Reported{CheckID: r.CheckID, At: r.At, Status: r.Status, Duration: r.Duration, Reason: r.Reason, Conditions: r.Conditions}
}

// Result returns the reported result as a Result.
func (r Reported) Result() Result {
	return Result{CheckID: r.CheckID, At: r.At, Status: r.Status, Duration: r.Duration, Reason: r.Reason, Conditions: r.Conditions}
}
