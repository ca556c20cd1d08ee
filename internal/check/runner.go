package check

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"groundcrew.dev/groundcrew/internal/check/probe"
	"groundcrew.dev/groundcrew/internal/check/sched"
	"groundcrew.dev/groundcrew/internal/clock"
	"groundcrew.dev/groundcrew/internal/db"
)

// AlertSink receives confirmed state changes in the transaction that
// records them, so that the alert pipeline can enqueue its work durably.
// It must not do slow work itself.
type AlertSink interface {
	CheckChanged(ctx context.Context, tx *sql.Tx, e Event) error
}

// Muter says whether the alerts of a service in an environment are muted
// at an instant (a maintenance window), and why. The runner asks it for
// every alertable state change, so it must be fast; it must be safe for
// concurrent use.
type Muter interface {
	Muted(service, environment string, at time.Time) (reason string, muted bool)
}

// RunnerOptions configure a Runner. The zero value is a safe default.
type RunnerOptions struct {
	Clock       clock.Clock
	Logger      *slog.Logger
	Location    string // the location this runner probes from; default local
	Concurrency int    // probes in flight at once; default sched.DefaultConcurrency
	// Slack lets runs due close together start on one wake-up, up to this
	// late (sched.Options.Slack); zero means exact.
	Slack time.Duration
	// Owns says whether this replica runs a check now (lease-based
	// sharding across replicas); nil means every check.
	Owns func(id string) bool
	// FlushInterval is how often results are written, in one transaction
	// per batch; default 200 ms.
	FlushInterval time.Duration
	// ReloadInterval is how often definitions are re-read even without a
	// change signal; default 5 min.
	ReloadInterval time.Duration
	// PollInterval is how often the runner looks for changes made on other
	// replicas (a cheap count and latest update time); default 2 s.
	PollInterval time.Duration
	Sink         AlertSink
	// Muter, if set, mutes alerts during maintenance: a change that would
	// alert while the check's service and environment are muted is
	// recorded as not alertable, its reason saying why.
	Muter  Muter
	Prober *probe.Prober
}

// Runner schedules and runs the checks, and records their results and
// state changes. Safe for concurrent use.
type Runner struct {
	db     *db.DB
	opts   RunnerOptions
	log    *slog.Logger
	sched  *sched.Scheduler
	prober *probe.Prober
	reload chan struct{}

	mu      sync.RWMutex
	lastSig string               // signature of the definitions last loaded
	checks  map[string]*runnable // by check id
	states  map[uuid.UUID]State  // confirmed states of every check
	names   map[string]uuid.UUID // check name → id, for parents
	// stored caches check_state as the flush last read or wrote it, for a
	// runner that runs every check (no Owns: the only writer); absent
	// means not read yet, present false that the check has no state row.
	stored map[uuid.UUID]storedState

	pendMu  sync.Mutex
	pending []Result
	slots   *slots     // results of several locations waiting for their slot's other locations; flush's own
	stmts   *stmtCache // the flush's prepared statements
	dropped atomic.Uint64
	flushed chan struct{} // closed and replaced after each flush

	cancel context.CancelFunc
	done   chan struct{}
}

type storedState struct {
	State
	present bool
}

type runnable struct {
	check    Check
	compiled *Compiled
}

// NewRunner returns a runner over the checks in d.
func NewRunner(d *db.DB, opts RunnerOptions) *Runner {
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Location == "" {
		opts.Location = LocalLocation
	}
	if opts.FlushInterval <= 0 {
		opts.FlushInterval = 200 * time.Millisecond
	}
	if opts.ReloadInterval <= 0 {
		opts.ReloadInterval = 5 * time.Minute
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = 2 * time.Second
	}
	if opts.Prober == nil {
		opts.Prober = probe.NewProber(probe.Options{})
	}
	r := &Runner{db: d, opts: opts, log: opts.Logger, prober: opts.Prober, reload: make(chan struct{}, 1),
		checks: map[string]*runnable{}, states: map[uuid.UUID]State{}, names: map[string]uuid.UUID{}, stored: map[uuid.UUID]storedState{}, flushed: make(chan struct{}), slots: newSlots(), stmts: newFlushStmts(d)}
	r.sched = sched.New(sched.Options{Clock: opts.Clock, Concurrency: opts.Concurrency, Run: r.run, Owns: opts.Owns, Logger: opts.Logger,
		Slack: opts.Slack})
	return r
}

// Changed asks the runner to re-read the check definitions soon. It never
// blocks.
func (r *Runner) Changed() {
	select {
	case r.reload <- struct{}{}:
	default:
	}
}

// Start loads the checks and starts probing. Stop ends it.
func (r *Runner) Start(ctx context.Context) error {
	if err := r.Reload(ctx); err != nil {
		return err
	}
	// Before the first flush: results stored from now on are rolled up.
	if err := startRollups(ctx, r.db.Writer(), r.opts.Clock.Now()); err != nil {
		return err
	}
	ctx, r.cancel = context.WithCancel(context.WithoutCancel(ctx))
	r.done = make(chan struct{})
	if err := r.sched.Start(ctx); err != nil {
		return err
	}
	go r.loop(ctx)
	return nil
}

// Stop stops probing, waits for running probes (until ctx ends) and writes
// the results still pending.
func (r *Runner) Stop(ctx context.Context) error {
	if r.cancel == nil {
		return nil
	}
	err := r.sched.Stop(ctx)
	r.cancel()
	<-r.done
	err = errors.Join(err, r.flush(context.WithoutCancel(ctx)))
	r.stmts.close()
	return err
}

// Stats returns the scheduler's statistics.
func (r *Runner) Stats() sched.Stats { return r.sched.Stats() }

func (r *Runner) loop(ctx context.Context) {
	defer close(r.done)
	flush := time.NewTicker(r.opts.FlushInterval)
	defer flush.Stop()
	reload := time.NewTicker(r.opts.ReloadInterval)
	defer reload.Stop()
	poll := time.NewTicker(r.opts.PollInterval)
	defer poll.Stop()
	rollup := time.NewTicker(rollupInterval)
	defer rollup.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-rollup.C:
			if _, err := rollUp(ctx, r.db, r.opts.Clock.Now()); err != nil && ctx.Err() == nil {
				r.log.Error("roll up check results", "err", err)
			}
		case <-poll.C:
			r.mu.RLock()
			last := r.lastSig
			r.mu.RUnlock()
			if sig, err := r.signature(ctx); err == nil && sig != last {
				r.reloadLogged(ctx)
			}
		case <-flush.C:
			if err := r.flush(ctx); err != nil && ctx.Err() == nil {
				r.log.Error("write check results", "err", err)
			}
		case <-r.reload:
			r.reloadLogged(ctx)
		case <-reload.C:
			r.reloadLogged(ctx)
		}
	}
}

func (r *Runner) reloadLogged(ctx context.Context) {
	if err := r.Reload(ctx); err != nil && ctx.Err() == nil {
		r.log.Error("reload checks", "err", err)
	}
}

// signature summarises the check definitions cheaply: it changes when a
// check is created, changed or deleted on any replica.
func (r *Runner) signature(ctx context.Context) (string, error) {
	var n int
	var latest any // SQLite returns max() of a timestamp as text, PostgreSQL as a time
	if err := r.db.Reader().QueryRowContext(ctx, `SELECT count(*), max(updated_at) FROM checks`).Scan(&n, &latest); err != nil {
		return "", err
	}
	return fmt.Sprintf("%d/%v", n, latest), nil
}

// Reload re-reads every check definition and state and reschedules.
func (r *Runner) Reload(ctx context.Context) error {
	sig, err := r.signature(ctx)
	if err != nil {
		return err
	}
	var all []Check
	after := ""
	for {
		page, next, err := listChecks(ctx, r.db.Reader(), Filter{After: after, Limit: 1000})
		if err != nil {
			return err
		}
		all = append(all, page...)
		if next == "" {
			break
		}
		after = next
	}
	checks := make(map[string]*runnable, len(all))
	names := make(map[string]uuid.UUID, len(all))
	var items []sched.Item
	r.mu.RLock()
	old := r.checks
	r.mu.RUnlock()
	for _, c := range all {
		names[c.Name] = c.ID
		if c.Paused {
			continue
		}
		id := c.ID.String()
		// A runnable is never modified once built (runs read it without a
		// lock): reuse the compiled conditions of an unchanged revision in
		// a new one.
		var compiled *Compiled
		if prev := old[id]; prev != nil && prev.check.Revision == c.Revision {
			compiled = prev.compiled
		} else {
			var err error
			if compiled, err = compileFor(c); err != nil {
				r.log.Error("check does not compile; not scheduled", "check", c.Name, "err", err)
				continue
			}
		}
		// Every check is known (this runner decides the state of the checks
		// it owns from the results of every location); it probes only
		// those of its own location.
		checks[id] = &runnable{check: c, compiled: compiled}
		if c.runsAt(r.opts.Location) {
			items = append(items, sched.Item{ID: id, Interval: c.runInterval(), Timeout: c.runTimeout()})
		}
	}
	r.mu.Lock()
	r.checks, r.names, r.lastSig = checks, names, sig
	for id := range r.stored {
		if _, ok := checks[id.String()]; !ok {
			delete(r.stored, id) // deleted, or paused: read again when it runs
		}
	}
	for _, c := range all {
		// Keep the in-memory state of checks this runner advanced itself:
		// the database may not have its latest flush yet.
		if cur, ok := r.states[c.ID]; !ok || r.opts.Owns != nil && !r.opts.Owns(c.ID.String()) || cur.LastRunAt == nil {
			r.states[c.ID] = *c.State
		}
	}
	r.mu.Unlock()
	return r.sched.Set(items)
}

func compileFor(c Check) (*Compiled, error) {
	if c.Type == Heartbeat {
		return &Compiled{}, nil
	}
	return compileConditions(c.Type, c.Conditions)
}

func (c *Check) runsAt(location string) bool {
	for _, l := range c.Locations {
		if l == location {
			return true
		}
	}
	return false
}

// runInterval is how often the runner looks at the check: its interval, or
// for a heartbeat often enough to notice a missed ping within its grace.
func (c *Check) runInterval() time.Duration {
	if c.Type == Heartbeat {
		return min(c.Interval.Std(), max(time.Second, c.Heartbeat.Grace.Std()/2))
	}
	return c.Interval.Std()
}

// runTimeout bounds a whole run: every attempt plus condition evaluation.
func (c *Check) runTimeout() time.Duration {
	if c.Type == Heartbeat {
		return 10 * time.Second
	}
	// End before the next slot, or a hanging target is probed only every
	// other slot (the next one would find this run still going).
	return min(c.Interval.Std()*9/10, time.Duration(c.Retries+1)*c.Timeout.Std()+time.Second)
}

// run is the scheduler's work for one check and slot: probe, evaluate,
// queue the result. It never writes to the database itself.
func (r *Runner) run(ctx context.Context, id string, slot time.Time) {
	r.mu.RLock()
	rn := r.checks[id]
	r.mu.RUnlock()
	if rn == nil {
		return // deleted meanwhile
	}
	var res Result
	if rn.check.Type == Heartbeat {
		var ok bool
		if res, ok = r.heartbeat(ctx, rn.check); !ok {
			return
		}
	} else {
		res = r.probe(ctx, rn)
	}
	if ctx.Err() != nil && !errors.Is(context.Cause(ctx), context.DeadlineExceeded) {
		return // stopped, not timed out: the run says nothing about the target
	}
	res.CheckID, res.Location, res.At = rn.check.ID, r.opts.Location, slot
	res.Reason = cleanReason(res.Reason)
	r.pendMu.Lock()
	r.pending = append(r.pending, res)
	r.pendMu.Unlock()
}

// probe runs the check's probe with its retries and evaluates the
// conditions of the last attempt.
func (r *Runner) probe(ctx context.Context, rn *runnable) Result {
	c := rn.check
	var pr probe.Result
	var res Result
	for attempt := 0; attempt <= c.Retries; attempt++ {
		actx, cancel := clock.WithTimeout(ctx, r.opts.Clock, c.Timeout.Std())
		pr = r.prober.Run(actx, &c.Spec.Spec)
		cancel()
		res = evaluate(ctx, rn.compiled, pr)
		if res.Status == Up || ctx.Err() != nil {
			break
		}
	}
	if c.Retries > 0 && res.Status != Up && res.Reason != "" {
		res.Reason = fmt.Sprintf("%s (after %d attempts)", res.Reason, c.Retries+1)
	}
	return res
}

// evaluate turns a probe result into a run result: DOWN with the probe's
// reason when the exchange failed, else each condition's verdict.
func evaluate(ctx context.Context, comp *Compiled, pr probe.Result) Result {
	res := Result{Status: Up, Duration: pr.Duration}
	if pr.Err != "" {
		res.Status, res.Reason = Down, pr.Err
		return res
	}
	var failed, degraded []string
	for i, p := range comp.Programs {
		cond := comp.Conditions[i]
		cr := ConditionResult{Name: cond.Label(), Degraded: cond.Degraded}
		ok, err := p.Eval(ctx, pr.Vars)
		switch {
		case err != nil:
			cr.Error = err.Error()
		default:
			cr.OK = ok
		}
		if !cr.OK {
			label := cr.Name
			if cr.Error != "" {
				label += " (" + cr.Error + ")"
			}
			if cond.Degraded {
				degraded = append(degraded, label)
			} else {
				failed = append(failed, label)
			}
		}
		res.Conditions = append(res.Conditions, cr)
	}
	switch {
	case len(failed) > 0:
		res.Status, res.Reason = Down, "failed: "+strings.Join(failed, "; ")
	case len(degraded) > 0:
		res.Status, res.Reason = Degraded, "degraded: "+strings.Join(degraded, "; ")
	}
	return res
}

// maxPending bounds the results waiting to be written while the database
// is unavailable; beyond it the oldest are dropped (and counted).
const maxPending = 50_000

// flush writes the pending results, advances the confirmed states and
// records state changes, all in one transaction. With leases, the states
// it advances are read from the database inside that transaction, not from
// memory, so a check whose lease moved between replicas continues from
// what its previous owner stored, and a parent owned by another replica is
// seen as it is now; a runner without leases, the only writer, keeps them
// (storedStates).
func (r *Runner) flush(ctx context.Context) error {
	r.pendMu.Lock()
	batch := r.pending
	r.pending = nil
	done := r.flushed
	r.flushed = make(chan struct{})
	r.pendMu.Unlock()
	defer close(done)
	r.mu.RLock()
	checks, names := r.checks, r.names // replaced, never modified, by Reload
	r.mu.RUnlock()
	lookup := func(id uuid.UUID) *runnable {
		if r.opts.Owns != nil && !r.opts.Owns(id.String()) {
			return nil
		}
		return checks[id.String()]
	}
	batch = slices.DeleteFunc(batch, func(res Result) bool { return checks[res.CheckID.String()] == nil }) // deleted meanwhile
	inbox, consumed, err := r.readInbox(ctx, lookup)
	if err != nil && ctx.Err() == nil {
		r.log.Warn("read results reported by agents", "err", err)
	}
	// Results of checks probed from one location are outcomes as they
	// are; those of checks probed from several wait for the slot's other
	// locations.
	var outcomes, rawMulti []Result
	for _, res := range batch {
		if len(checks[res.CheckID.String()].check.Locations) > 1 {
			r.slots.add(res)
			rawMulti = append(rawMulti, res) // stored now; the outcome later
		} else {
			outcomes = append(outcomes, res)
		}
	}
	for _, res := range inbox {
		if len(lookup(res.CheckID).check.Locations) > 1 {
			r.slots.add(res)
		} else {
			outcomes = append(outcomes, res) // stored when reported
		}
	}
	due := r.slots.due(r.opts.Clock.Now(), lookup)
	for _, d := range due {
		outcomes = append(outcomes, d.outcome)
	}
	if len(outcomes) == 0 && len(rawMulti) == 0 && len(consumed) == 0 {
		return nil
	}
	known := make(map[uuid.UUID]*runnable, len(outcomes))
	for _, res := range outcomes {
		known[res.CheckID] = checks[res.CheckID.String()]
	}
	slices.SortStableFunc(outcomes, func(a, b Result) int { return a.At.Compare(b.At) })
	var next map[uuid.UUID]State
	var events []Event
	write := func(tx *sql.Tx) error {
		ids := make([]uuid.UUID, 0, len(known)*2)
		for id, rn := range known {
			ids = append(ids, id)
			if pid, ok := names[rn.check.Parent]; ok && rn.check.Parent != "" {
				ids = append(ids, pid)
			}
		}
		stored, err := r.storedStates(ctx, tx, ids)
		if err != nil {
			return err
		}
		next, events = map[uuid.UUID]State{}, nil
		kept := outcomes[:0:0]
		for _, res := range outcomes {
			rn := known[res.CheckID]
			cur, ok := next[res.CheckID]
			if !ok {
				if cur, ok = stored[res.CheckID]; !ok || cur.Status == Paused {
					cur = State{Status: Unknown, Since: res.At}
				}
			}
			if cur.LastRunAt != nil && !res.At.After(*cur.LastRunAt) {
				continue // a slot another replica already recorded
			}
			kept = append(kept, res)
			parent := Parent{Name: rn.check.Parent}
			if pid, ok := names[rn.check.Parent]; ok && rn.check.Parent != "" {
				ps, ok := next[pid]
				if !ok {
					ps = stored[pid]
				}
				// A blocked parent is as good as down: its own parent failed.
				parent.Down = ps.Status == Down || ps.Status == Blocked
			}
			st, tr := cur.Advance(Outcome{At: res.At, Status: res.Status, Reason: res.Reason, Duration: res.Duration}, rn.check.Confirm, parent)
			next[res.CheckID] = st
			if tr != nil {
				ev := res
				e := Event{ID: db.NewID(), Check: rn.check.Name, CheckID: res.CheckID, At: tr.At,
					From: tr.From, To: tr.To, Reason: tr.Reason, Alertable: tr.Alertable, Evidence: &ev}
				r.mute(&e, rn.check.Service, rn.check.Environment)
				events = append(events, e)
			}
		}
		rows, counted := r.raw(kept, rawMulti)
		if err := writeResults(ctx, tx, r.stmts, rows, counted); err != nil {
			return err
		}
		if err := saveStates(ctx, tx, r.stmts, next); err != nil {
			return err
		}
		if err := deleteInbox(ctx, tx, consumed); err != nil {
			return err
		}
		for _, e := range events {
			if err := insertEvent(ctx, tx, e); err != nil {
				return err
			}
			if r.opts.Sink != nil {
				if err := r.opts.Sink.CheckChanged(ctx, tx, e); err != nil {
					return err
				}
			}
		}
		return nil
	}
	err = r.db.InTx(ctx, write)
	if err != nil && db.IsForeignKeyViolation(err) {
		// A check was deleted between its run and this flush: keep the
		// others' results and try once more without it.
		var exist map[uuid.UUID]bool
		ids := slices.Collect(maps.Keys(known))
		for _, res := range rawMulti {
			ids = append(ids, res.CheckID)
		}
		if exist, err = existingChecks(ctx, r.db.Reader(), slices.Compact(slices.SortedFunc(slices.Values(ids), uuidCompare))); err == nil {
			gone := func(res Result) bool { return !exist[res.CheckID] }
			batch = slices.DeleteFunc(batch, gone)
			outcomes = slices.DeleteFunc(outcomes, gone)
			rawMulti = slices.DeleteFunc(rawMulti, gone)
			err = r.db.InTx(ctx, write)
		}
	}
	if err != nil {
		r.pendMu.Lock()
		r.pending = append(batch, r.pending...) // retry with the next flush
		if over := len(r.pending) - maxPending; over > 0 {
			r.pending = r.pending[over:]
			r.dropped.Add(uint64(over))
		}
		r.pendMu.Unlock()
		return err
	}
	r.slots.remove(due)
	r.mu.Lock()
	for id, st := range next {
		r.states[id] = st
		if r.opts.Owns == nil {
			r.stored[id] = storedState{State: st, present: true}
		}
	}
	r.mu.Unlock()
	for _, e := range events {
		r.log.Info("check changed state", "check", e.Check, "from", e.From, "to", e.To, "reason", e.Reason)
	}
	return nil
}

// storedStates returns the stored states of ids (absent: no state row),
// as the flush's transaction sees them. With leases (Owns set) they are
// read in it every time: another replica may have advanced a check since
// this one last ran it, or a parent this one does not run. A runner that
// runs every check is the only one writing states: it reads each check's
// once and then keeps what it wrote (a tenth of the flush's work at 10,000
// checks).
func (r *Runner) storedStates(ctx context.Context, tx *sql.Tx, ids []uuid.UUID) (map[uuid.UUID]State, error) {
	if r.opts.Owns != nil {
		return loadStates(ctx, tx, r.stmts, ids)
	}
	out := make(map[uuid.UUID]State, len(ids))
	var missing []uuid.UUID
	r.mu.RLock()
	for _, id := range ids {
		if s, ok := r.stored[id]; !ok {
			missing = append(missing, id)
		} else if s.present {
			out[id] = s.State
		}
	}
	r.mu.RUnlock()
	if len(missing) == 0 {
		return out, nil
	}
	loaded, err := loadStates(ctx, tx, r.stmts, missing)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, id := range missing {
		s, ok := loaded[id]
		r.stored[id] = storedState{State: s, present: ok}
		if ok {
			out[id] = s
		}
	}
	return out, nil
}

// Dropped counts results dropped because too many waited to be written.
func (r *Runner) Dropped() uint64 { return r.dropped.Load() }

// mute makes an alertable event not alertable when its check's service
// and environment are in maintenance at the time of the change.
func (r *Runner) mute(e *Event, service, environment string) {
	if !e.Alertable || r.opts.Muter == nil {
		return
	}
	if why, muted := r.opts.Muter.Muted(service, environment, e.At); muted {
		e.Alertable = false
		e.Reason += " (muted: " + why + ")"
	}
}

// Flushed returns a channel closed after the next flush completes; tests
// use it to wait for results to be written.
func (r *Runner) Flushed() <-chan struct{} {
	r.pendMu.Lock()
	defer r.pendMu.Unlock()
	return r.flushed
}

// State returns the runner's view of a check's confirmed state.
func (r *Runner) State(id uuid.UUID) (State, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	s, ok := r.states[id]
	return s, ok
}

// View is a scheduled check with its confirmed state, for metrics.
type View struct {
	Name, Service, Environment string
	Type                       probe.Type
	State                      State
}

// Snapshot returns every check this runner schedules with its state.
func (r *Runner) Snapshot() []View {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]View, 0, len(r.checks))
	for _, rn := range r.checks {
		c := rn.check
		out = append(out, View{Name: c.Name, Service: c.Service, Environment: c.Environment, Type: c.Type, State: r.states[c.ID]})
	}
	return out
}

// cleanReason makes a reason safe to store: valid UTF-8 without NUL bytes
// (PostgreSQL refuses both), at most 2,000 bytes cut at a character.
func cleanReason(s string) string {
	s = strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "")
	if len(s) <= 2000 {
		return s
	}
	n := 2000
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

func uuidCompare(a, b uuid.UUID) int { return bytes.Compare(a[:], b[:]) }

// raw returns the results this flush stores, the first counted of them
// counted by the rollups: the kept outcomes this runner probed itself from
// a single location and the kept combined outcomes of checks probed from
// several (without a location), then every result it probed for checks of
// several locations. Agents' results were stored when reported.
func (r *Runner) raw(kept, multi []Result) (rows []Result, counted int) {
	out := make([]Result, 0, len(kept)+len(multi))
	for _, res := range kept {
		if res.Location == r.opts.Location || res.Location == "" {
			out = append(out, res)
		}
	}
	counted = len(out)
	return append(out, multi...), counted
}

// staleInbox is how old a reported result may be before the runner drops
// it unread: its check was paused, or no replica knew it for that long.
const staleInbox = time.Hour

// readInbox returns the results agents reported for the checks this
// runner owns and knows, and the inbox rows to delete: those, and stale
// ones. Rows of a check this runner owns but has not loaded yet (its lease
// just moved here, or it was just created) wait for the next flush.
func (r *Runner) readInbox(ctx context.Context, lookup func(uuid.UUID) *runnable) ([]Result, []int64, error) {
	rows, err := r.db.Reader().QueryContext(ctx, `SELECT id, check_id, location, at, status, duration_us, reason FROM check_inbox ORDER BY id LIMIT 5000`)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	var out []Result
	var consumed []int64
	for rows.Next() {
		var id, durUS int64
		var res Result
		if err := rows.Scan(&id, &res.CheckID, &res.Location, &res.At, &res.Status, &durUS, &res.Reason); err != nil {
			return nil, nil, err
		}
		res.At, res.Duration = res.At.UTC(), time.Duration(durUS)*time.Microsecond
		switch {
		case r.opts.Clock.Now().Sub(res.At) > staleInbox:
			consumed = append(consumed, id)
		case lookup(res.CheckID) == nil:
			// Another replica's, or not loaded here yet.
		default:
			consumed = append(consumed, id)
			out = append(out, res)
		}
	}
	return out, consumed, rows.Err()
}

// deleteInbox deletes consumed inbox rows.
func deleteInbox(ctx context.Context, tx *sql.Tx, ids []int64) error {
	for len(ids) > 0 {
		chunk := ids[:min(len(ids), 500)]
		ids = ids[len(chunk):]
		list := make([]string, len(chunk))
		for i, id := range chunk {
			list[i] = strconv.FormatInt(id, 10)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM check_inbox WHERE id IN (`+strings.Join(list, ", ")+`)`); err != nil {
			return fmt.Errorf("consume reported results: %w", err)
		}
	}
	return nil
}
