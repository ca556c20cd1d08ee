package alert

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"groundcrew.dev/groundcrew/internal/alert/matcher"
	"groundcrew.dev/groundcrew/internal/alert/route"
	"groundcrew.dev/groundcrew/internal/clock"
	"groundcrew.dev/groundcrew/internal/db"
	"groundcrew.dev/groundcrew/internal/errs"
	"groundcrew.dev/groundcrew/internal/notify"
	"groundcrew.dev/groundcrew/internal/oncall/pager"
)

// Notifier delivers a notification to a receiver, durably: it enqueues the
// delivery in the caller's transaction. notify.Service implements it.
type Notifier interface {
	Enqueue(ctx context.Context, tx *sql.Tx, receiver string, n *notify.Notification) ([]uuid.UUID, error)
}

var _ Notifier = (*notify.Service)(nil)

// Pager opens a page for an alert group routed to an escalation policy,
// and resolves it when the group's alerts all resolve, in the caller's
// transaction; pager.Pager implements it.
type Pager interface {
	OpenTx(ctx context.Context, tx *sql.Tx, in pager.OpenInput) (pager.Page, bool, error)
	ResolveGroupTx(ctx context.Context, tx *sql.Tx, groupKey, why string) error
}

var _ Pager = (*pager.Pager)(nil)

// Leader says whether this replica runs the dispatcher now; jobs.Leader
// implements it.
type Leader interface {
	Held(ctx context.Context) bool
	Release(ctx context.Context)
}

// DispatcherOptions configure a Dispatcher. The zero value is a safe
// default for one replica.
type DispatcherOptions struct {
	Clock  clock.Clock
	Logger *slog.Logger
	// Leader, if set, decides which replica dispatches; nil means this one.
	Leader Leader
	// Tick is how often groups are looked at; default 1 s.
	Tick time.Duration
	// ExternalURL is groundcrew's address, for links in notifications.
	ExternalURL string
	// Pager pages the escalation policies routes name; nil: routes with
	// an escalation policy only notify their receivers.
	Pager Pager
	// Incidents, if set, hears of alerts notified firing or resolved, for
	// the timelines of the open incidents of their services.
	Incidents Incidents
}

// Incidents records alerts on the timelines of open incidents; the server
// adapts incident.Service to it.
type Incidents interface {
	RecordTx(ctx context.Context, tx *sql.Tx, services []string, kind, text string, detail map[string]any, at time.Time, actor string) ([]int64, error)
}

// Dispatcher turns stored alerts into notifications: it routes each alert
// through the routing tree, groups alerts per route and group labels with
// Alertmanager's group_wait/group_interval/repeat_interval, leaves out what
// silences and inhibition rules mute, and hands each notification to the
// route's receivers through the Notifier — one durable delivery per
// receiver and channel, enqueued in the transaction that records the
// group's new state, so a crash neither repeats nor loses one. One replica
// dispatches at a time (the Leader); a new leader continues from the stored
// group states.
type Dispatcher struct {
	svc      *Service
	notifier Notifier
	opts     DispatcherOptions
	log      *slog.Logger
	wake     chan struct{}

	mu       sync.Mutex // guards everything below (the loop, and tests reading)
	leading  bool
	cfgSig   string
	tree     *route.Tree
	silences route.Silences
	rules    []route.InhibitRule
	inhib    *route.Inhibitor
	alerts   map[string]*stored // open and recently resolved alerts by fingerprint
	groups   map[string]*group  // by group key
	states   map[string]route.GroupState
	stats    DispatchStats
	events   []pendingEvent // history to record at the end of the round

	cancel context.CancelFunc
	done   chan struct{}
}

// DispatchStats count what the dispatcher did since it started.
type DispatchStats struct {
	Notifications int64 // notifications sent (one per group flush and receiver)
	Muted         int64 // alerts left out of notifications by silences, inhibition or time intervals
	Unrouted      int64 // group flushes with no receiver
	Errors        int64
}

// pendingEvent is a step of an alert's history the dispatcher records.
type pendingEvent struct {
	alertID uuid.UUID
	kind    EventKind
	detail  map[string]any
}

// stored is an alert as the dispatcher sees it.
type stored struct {
	id           uuid.UUID
	fingerprint  string
	fp           matcher.Fingerprint
	labels       map[string]string
	annotations  map[string]string
	firing       bool
	startsAt     time.Time
	endsAt       *time.Time
	lastSeenAt   time.Time
	generatorURL string
}

func (a *stored) version() string {
	v := fmt.Sprint(a.firing, a.lastSeenAt.UnixNano())
	if a.endsAt != nil {
		v += fmt.Sprint(a.endsAt.UnixNano())
	}
	return v
}

// routeAlert is a as the grouping core wants it.
func (a *stored) routeAlert() route.Alert {
	ra := route.Alert{Fingerprint: a.fp, Labels: a.labels, StartsAt: a.startsAt, ReceivedAt: a.lastSeenAt}
	if !a.firing {
		ra.EndsAt = a.lastSeenAt
		if a.endsAt != nil {
			ra.EndsAt = *a.endsAt
		}
	}
	return ra
}

// group is one aggregation group with the route it belongs to.
type group struct {
	key   string
	node  *route.Node
	g     *route.Group
	added map[matcher.Fingerprint]string // version of each alert added
	byFP  map[matcher.Fingerprint]*stored
	held  map[matcher.Fingerprint]*stored // resolved while muted, after being notified firing: reported once unmuted
	// mutedWhy is why each alert was last left out, so the history says
	// so once per reason, not every tick.
	mutedWhy map[matcher.Fingerprint]string
	lastAt   time.Time // last notification, for the API

	// While taking over: the stored state and the alerts to restore it with.
	restored *route.GroupState
	pending  []route.Alert
}

// NewDispatcher returns a dispatcher over svc's alerts.
func NewDispatcher(svc *Service, n Notifier, opts DispatcherOptions) *Dispatcher {
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Tick <= 0 {
		opts.Tick = time.Second
	}
	return &Dispatcher{svc: svc, notifier: n, opts: opts, log: opts.Logger, wake: make(chan struct{}, 1)}
}

// Start runs the dispatcher until Stop.
func (d *Dispatcher) Start(ctx context.Context) {
	ctx, d.cancel = context.WithCancel(context.WithoutCancel(ctx))
	d.done = make(chan struct{})
	go d.loop(ctx)
}

// Stop stops the dispatcher and gives up leadership.
func (d *Dispatcher) Stop(ctx context.Context) {
	if d.cancel == nil {
		return
	}
	d.cancel()
	select {
	case <-d.done:
	case <-ctx.Done():
	}
	if d.opts.Leader != nil {
		d.opts.Leader.Release(ctx)
	}
}

// Wake asks the dispatcher to look at the alerts now rather than at its
// next tick. It never blocks.
func (d *Dispatcher) Wake() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Stats returns what the dispatcher did so far.
func (d *Dispatcher) Stats() DispatchStats {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.stats
}

func (d *Dispatcher) loop(ctx context.Context) {
	defer close(d.done)
	t := d.opts.Clock.NewTimer(d.opts.Tick)
	defer t.Stop()
	for {
		if err := d.Tick(ctx); err != nil && ctx.Err() == nil {
			d.log.Error("dispatch alerts", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C():
		case <-d.wake:
		}
		t.Reset(d.opts.Tick)
	}
}

// Tick does one round: reload what changed, route new alerts, and send
// the notifications that are due. The loop calls it every Tick; tests call
// it directly with a fake clock.
func (d *Dispatcher) Tick(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.opts.Leader != nil && !d.opts.Leader.Held(ctx) {
		if d.leading {
			d.log.Info("no longer dispatching alerts: another replica leads")
		}
		d.leading, d.groups, d.alerts, d.states, d.cfgSig = false, nil, nil, nil, ""
		return nil
	}
	now := d.opts.Clock.Now()
	if !d.leading {
		if err := d.takeOver(ctx, now); err != nil {
			return err
		}
		d.leading = true
	}
	if err := d.reloadConfig(ctx, now, false); err != nil {
		return err
	}
	if err := d.readChanges(ctx, now); err != nil {
		return err
	}
	err := d.flushDue(ctx, now)
	d.recordEvents(ctx, now)
	return err
}

// takeOver starts leading: it loads the configuration, the stored group
// states and every open alert.
func (d *Dispatcher) takeOver(ctx context.Context, now time.Time) error {
	d.groups, d.alerts = map[string]*group{}, map[string]*stored{}
	states, err := loadGroupStates(ctx, d.svc.db.Reader())
	if err != nil {
		return err
	}
	d.states = states
	if err := d.reloadConfig(ctx, now, true); err != nil {
		return err
	}
	// Everything queued so far is in the alerts read below.
	if err := clearDispatchQueue(ctx, d.svc.db); err != nil {
		return err
	}
	all, err := loadDispatchAlerts(ctx, d.svc.db.Reader(), now.Add(-24*time.Hour), nil)
	if err != nil {
		return err
	}
	for _, a := range all {
		d.route(a, now, true)
	}
	// Restored groups get their alerts in one go (adding them one by one
	// to an empty group would start it afresh).
	for _, g := range d.groups {
		if g.restored != nil {
			g.g = route.RestoreGroup(g.key, g.g.Labels, g.node.Timing(), *g.restored, g.pending)
			g.restored, g.pending = nil, nil
		}
	}
	return nil
}

// reloadConfig rebuilds the routing tree, silences and inhibition rules
// when any changed (or always with force). A tree that no longer compiles
// (it did when applied) keeps the previous one.
func (d *Dispatcher) reloadConfig(ctx context.Context, now time.Time, force bool) error {
	sig, err := configSignature(ctx, d.svc.db.Reader())
	if err != nil {
		return err
	}
	if sig == d.cfgSig && !force {
		return nil
	}
	tree, err := d.svc.Tree(ctx)
	if err != nil {
		d.log.Error("alert routes do not compile; keeping the previous tree", "err", err)
		if d.tree == nil {
			return err
		}
	} else {
		d.tree = tree
	}
	if d.silences, err = loadSilences(ctx, d.svc.db.Reader(), now); err != nil {
		return err
	}
	if d.rules, err = loadInhibitRules(ctx, d.svc.db.Reader()); err != nil {
		return err
	}
	d.cfgSig = sig
	d.inhib = nil // rebuilt with the firing alerts
	if d.groups != nil && tree != nil && !force {
		// Routes changed: route every alert again. Groups of routes that
		// are gone keep what they hold until they have reported it.
		for _, a := range d.alerts {
			d.route(a, now, false)
		}
	}
	return nil
}

// readChanges reads the alerts changed since the last round and routes
// them.
func (d *Dispatcher) readChanges(ctx context.Context, now time.Time) error {
	ids, maxID, err := readDispatchQueue(ctx, d.svc.db.Reader())
	if err != nil || len(ids) == 0 {
		return err
	}
	changed, err := loadDispatchAlerts(ctx, d.svc.db.Reader(), time.Time{}, ids)
	if err != nil {
		return err
	}
	for _, a := range changed {
		d.route(a, now, false)
	}
	d.inhib = nil
	return deleteDispatchQueue(ctx, d.svc.db, maxID)
}

// route adds (a new version of) an alert to the groups of the routes it
// ends at. After a take-over, resolved alerts join only groups that still
// owe their resolution.
func (d *Dispatcher) route(a *stored, now time.Time, restoring bool) {
	if prev := d.alerts[a.fingerprint]; prev != nil && prev.id != a.id && !a.firing && prev.firing {
		return // an older resolved copy of an alert that fires again
	}
	d.alerts[a.fingerprint] = a
	for _, m := range d.tree.Match(a.labels, now) {
		key := route.GroupKey(m.Node, a.labels)
		g := d.groups[key]
		if g == nil {
			st, known := d.states[key]
			if !a.firing && (!known || !slices.Contains(st.LastFiring, a.fp)) {
				continue // resolved, and nothing owed to this group
			}
			if known {
				g = &group{key: key, node: m.Node, g: route.RestoreGroup(key, m.Node.GroupLabels(a.labels), m.Node.Timing(), st, nil), lastAt: st.LastAt}
				if restoring {
					g.restored = &st
				}
				delete(d.states, key)
			} else {
				g = &group{key: key, node: m.Node, g: route.NewGroup(key, m.Node.GroupLabels(a.labels), m.Node.Timing())}
			}
			g.added, g.byFP, g.held = map[matcher.Fingerprint]string{}, map[matcher.Fingerprint]*stored{}, map[matcher.Fingerprint]*stored{}
			g.mutedWhy = map[matcher.Fingerprint]string{}
			d.groups[key] = g
		}
		g.node = m.Node
		v := a.version()
		if g.added[a.fp] == v {
			continue
		}
		if restoring && !a.firing && (g.restored == nil || !slices.Contains(g.restored.LastFiring, a.fp)) {
			continue // resolved, and its resolution was reported (or never owed)
		}
		if _, seen := g.added[a.fp]; !seen && a.firing && (!restoring || g.restored == nil) {
			d.events = append(d.events, pendingEvent{a.id, EventRouted, map[string]any{"route": m.Node.Label(), "group": key,
				"receivers": m.Node.Receivers}})
		}
		g.added[a.fp], g.byFP[a.fp] = v, a
		ra := a.routeAlert()
		if g.restored != nil {
			g.pending = append(g.pending, ra)
			continue
		}
		if !restoring && (ra.ReceivedAt.After(now) || ra.ReceivedAt.IsZero()) {
			ra.ReceivedAt = now
		}
		g.g.Add(ra)
	}
}

// muted reports whether an alert is left out of notifications at now, and
// why.
func (d *Dispatcher) muted(labels map[string]string, now time.Time) (string, bool) {
	if ids := d.silences.MutedBy(labels, now); len(ids) > 0 {
		return "silence " + ids[0], true
	}
	if d.inhib != nil {
		if ok, why := d.inhib.Inhibited(labels); ok {
			return fmt.Sprintf("inhibited by rule %d", why.Rule), true
		}
	}
	return "", false
}

func (d *Dispatcher) buildInhibitor() {
	if d.inhib != nil || len(d.rules) == 0 {
		return
	}
	var firing []map[string]string
	for _, a := range d.alerts {
		if a.firing {
			firing = append(firing, a.labels)
		}
	}
	in, err := route.NewInhibitor(d.rules, firing)
	if err != nil {
		d.log.Error("inhibition rules", "err", err)
		return
	}
	d.inhib = in
}

// flushDue sends the notifications that are due.
func (d *Dispatcher) flushDue(ctx context.Context, now time.Time) error {
	d.buildInhibitor()
	var errs []error
	for _, key := range slices.Sorted(maps.Keys(d.groups)) {
		g := d.groups[key]
		if err := d.flushGroup(ctx, g, now); err != nil {
			d.stats.Errors++
			errs = append(errs, fmt.Errorf("group %s: %w", key, err))
		}
	}
	// Forget resolved alerts no group holds any more (one pass over the
	// groups: an alert storm resolving must not cost alerts × groups).
	var held map[matcher.Fingerprint]bool
	for fp, a := range d.alerts {
		if a.firing {
			continue
		}
		if held == nil {
			held = map[matcher.Fingerprint]bool{}
			for _, g := range d.groups {
				for f := range g.byFP {
					held[f] = true
				}
				for f := range g.held {
					held[f] = true
				}
			}
		}
		if !held[a.fp] {
			delete(d.alerts, fp)
		}
	}
	return errors.Join(errs...)
}

func (d *Dispatcher) flushGroup(ctx context.Context, g *group, now time.Time) error {
	due, at := g.g.Due(now)
	if !due && at.IsZero() && len(g.held) == 0 {
		// Nothing more to say: drop the group and its stored state.
		delete(d.groups, g.key)
		return deleteGroupState(ctx, d.svc.db, g.key)
	}
	before := g.g.State()
	undo := d.snapshot(g)
	var n route.Notification
	if due {
		n = g.g.Flush(now)
		for _, a := range n.Resolved {
			delete(g.byFP, a.Fingerprint)
			delete(g.added, a.Fingerprint)
		}
	}
	// The route's time intervals, silences and inhibition leave alerts
	// out. A muted firing alert counts as not notified, so it is notified
	// once the mute ends; a muted resolution of an alert notified firing
	// is held and reported once the mute ends.
	routeMuted := d.routeMuted(g, now)
	var firing, resolved []*stored
	var sentFiring []matcher.Fingerprint
	muted := 0
	for _, ra := range n.Firing {
		if why, m := d.muted(ra.Labels, now); m || routeMuted {
			muted++
			if routeMuted {
				why = "the route's time intervals"
			}
			d.noteMuted(g, ra.Fingerprint, why)
			continue
		}
		delete(g.mutedWhy, ra.Fingerprint)
		firing = append(firing, d.alertOf(g, ra))
		sentFiring = append(sentFiring, ra.Fingerprint)
	}
	for _, ra := range n.Resolved {
		a := d.alertOf(g, ra)
		if _, m := d.muted(ra.Labels, now); m || routeMuted {
			muted++
			if slices.Contains(before.LastFiring, ra.Fingerprint) {
				g.held[ra.Fingerprint] = a
			}
			continue
		}
		resolved = append(resolved, a)
	}
	for fp, a := range g.held {
		if _, m := d.muted(a.labels, now); !m && !routeMuted && !slices.ContainsFunc(resolved, func(r *stored) bool { return r.fp == fp }) {
			resolved = append(resolved, a)
		}
	}
	if muted > 0 && due {
		// Remember as notified only what was sent.
		st := g.g.State()
		st.LastFiring = sentFiring
		slices.Sort(st.LastFiring)
		alerts := make([]route.Alert, 0, len(g.byFP))
		for _, a := range g.byFP {
			alerts = append(alerts, a.routeAlert())
		}
		g.g = route.RestoreGroup(g.key, g.g.Labels, g.node.Timing(), st, alerts)
	}
	if len(firing) == 0 && len(resolved) == 0 {
		if !due {
			return nil
		}
		d.stats.Muted += int64(muted)
		if err := saveGroupState(ctx, d.svc.db, g, now); err != nil {
			undo()
			return err
		}
		return nil
	}
	reason := n.Reason
	if !due || reason == route.ReasonNone || len(firing) == 0 {
		reason = route.ReasonSomeResolved
		if len(firing) == 0 {
			reason = route.ReasonAllResolved
		}
	}
	// A route without receivers records the flush ("unrouted") unless it
	// pages a policy: the page is the notification then.
	unrouted := len(g.node.Receivers) == 0 && (g.node.EscalationPolicy == "" || d.opts.Pager == nil)
	err := d.svc.db.InTx(ctx, func(tx *sql.Tx) error {
		if unrouted {
			if err := d.recordNotification(ctx, tx, g, "", reason, firing, resolved, now, nil); err != nil {
				return err
			}
		}
		if err := d.page(ctx, tx, g, reason, firing); err != nil {
			return err
		}
		if err := d.tellIncidents(ctx, tx, g, before.LastFiring, firing, resolved, now); err != nil {
			return err
		}
		for _, rcv := range g.node.Receivers {
			ids, err := d.notifier.Enqueue(ctx, tx, rcv, d.notification(g, rcv, reason, firing, resolved))
			detail := map[string]any{"deliveries": ids}
			switch {
			case errs.Is(err, errs.NotFound) || errs.Is(err, errs.Invalid):
				// An unknown receiver must not block the others: record it.
				d.log.Error("notify receiver", "receiver", rcv, "group", g.key, "err", err)
				detail = map[string]any{"error": err.Error()}
			case err != nil:
				return err // the whole flush is tried again
			}
			if err := d.recordNotification(ctx, tx, g, rcv, reason, firing, resolved, now, detail); err != nil {
				return err
			}
		}
		return saveGroupStateTx(ctx, tx, g, now)
	})
	if err != nil {
		undo() // the next round tries again
		return err
	}
	for _, a := range resolved {
		delete(g.held, a.fp)
	}
	d.stats.Muted += int64(muted)
	if unrouted {
		d.stats.Unrouted++
	}
	d.stats.Notifications += int64(len(g.node.Receivers))
	g.lastAt = now
	return nil
}

// page opens (or adds to) the page of a group whose route names an
// escalation policy when alerts are notified firing, and resolves it when
// every alert resolved. An unknown policy must not block the receivers:
// it is logged and recorded in the alerts' history.
func (d *Dispatcher) page(ctx context.Context, tx *sql.Tx, g *group, reason route.Reason, firing []*stored) error {
	policy := g.node.EscalationPolicy
	if policy == "" || d.opts.Pager == nil {
		return nil
	}
	switch {
	case reason == route.ReasonAllResolved:
		// "All resolved" counts what was notified: an alert still firing
		// but silenced keeps the page open.
		for _, a := range g.byFP {
			if a.firing {
				return nil
			}
		}
		return d.opts.Pager.ResolveGroupTx(ctx, tx, g.key, "every alert of the group resolved")
	case len(firing) == 0 || (reason != route.ReasonFirst && reason != route.ReasonNewAlerts):
		return nil
	}
	labels := common(firing, func(a *stored) map[string]string { return a.labels })
	in := pager.OpenInput{GroupKey: g.key, Policy: policy, Team: g.node.Team, Service: cmp.Or(g.node.Service, labels["service"]), Labels: labels,
		Summary: pageSummary(firing, g.g.Labels)}
	for _, a := range firing {
		in.Alerts = append(in.Alerts, pager.AlertRef{ID: a.id, Fingerprint: a.fingerprint, Summary: alertSummary(a)})
	}
	pg, opened, err := d.opts.Pager.OpenTx(ctx, tx, in)
	detail := map[string]any{"page": pg.ID, "policy": policy, "opened": opened}
	switch {
	case errs.Is(err, errs.NotFound) || errs.Is(err, errs.Invalid):
		d.log.Error("page escalation policy", "policy", policy, "group", g.key, "err", err)
		detail = map[string]any{"policy": policy, "error": err.Error()}
	case err != nil:
		return err
	}
	for _, a := range firing {
		if a.id != uuid.Nil {
			d.events = append(d.events, pendingEvent{a.id, EventPaged, detail})
		}
	}
	return nil
}

// maxTimelineAlerts is how many alerts of one service a flush records one
// by one on incident timelines; more are recorded as one line.
const maxTimelineAlerts = 5

// tellIncidents records the alerts a flush notifies firing for the first
// time, and those it reports resolved, on the timelines of the open
// incidents of their services.
func (d *Dispatcher) tellIncidents(ctx context.Context, tx *sql.Tx, g *group, notified []matcher.Fingerprint, firing, resolved []*stored, now time.Time) error {
	if d.opts.Incidents == nil {
		return nil
	}
	record := func(kind, verb string, alerts []*stored) error {
		byService := map[string][]*stored{}
		for _, a := range alerts {
			if svc := cmp.Or(a.labels["service"], g.node.Service); svc != "" {
				byService[svc] = append(byService[svc], a)
			}
		}
		for _, svc := range slices.Sorted(maps.Keys(byService)) {
			as := byService[svc]
			if len(as) > maxTimelineAlerts {
				text := fmt.Sprintf("%d alerts %s: %s and others", len(as), verb, alertSummary(as[0]))
				if _, err := d.opts.Incidents.RecordTx(ctx, tx, []string{svc}, kind, text, map[string]any{"group": g.key, "alerts": len(as)}, now, "system"); err != nil {
					return err
				}
				continue
			}
			for _, a := range as {
				text := "Alert " + verb + ": " + alertSummary(a)
				if _, err := d.opts.Incidents.RecordTx(ctx, tx, []string{svc}, kind, text, map[string]any{"alert": a.id, "group": g.key}, now, "system"); err != nil {
					return err
				}
			}
		}
		return nil
	}
	var fresh []*stored
	for _, a := range firing {
		if !slices.Contains(notified, a.fp) {
			fresh = append(fresh, a)
		}
	}
	if err := record("alert_fired", "fired", fresh); err != nil {
		return err
	}
	return record("alert_resolved", "resolved", resolved)
}

// pageSummary says in one line what a page is about.
func pageSummary(firing []*stored, groupLabels map[string]string) string {
	if len(firing) == 1 {
		return alertSummary(firing[0])
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(groupLabels)) {
		parts = append(parts, groupLabels[k])
	}
	what := strings.Join(parts, " ")
	if what == "" {
		what = alertSummary(firing[0]) + " and others"
	}
	return fmt.Sprintf("%d alerts: %s", len(firing), what)
}

func alertSummary(a *stored) string {
	if s := a.annotations["summary"]; s != "" {
		return s
	}
	if s := a.labels["alertname"]; s != "" {
		return s
	}
	return a.fingerprint
}

// noteMuted records in the alert's history why it was left out of a
// notification, once per reason.
func (d *Dispatcher) noteMuted(g *group, fp matcher.Fingerprint, why string) {
	if g.mutedWhy[fp] == why {
		return
	}
	g.mutedWhy[fp] = why
	if a := g.byFP[fp]; a != nil && a.id != uuid.Nil {
		d.events = append(d.events, pendingEvent{a.id, EventMuted, map[string]any{"why": why, "group": g.key}})
	}
}

// recordEvents writes the history the round collected, in one
// transaction; on failure it is dropped (logged): history must not stop
// notifications.
func (d *Dispatcher) recordEvents(ctx context.Context, now time.Time) {
	if len(d.events) == 0 {
		return
	}
	evs := d.events
	d.events = nil
	rows := make([]eventRow, len(evs))
	for i, e := range evs {
		rows[i] = eventRow{alertID: e.alertID, kind: e.kind, actor: "dispatcher", detail: e.detail}
	}
	err := d.svc.db.InTx(ctx, func(tx *sql.Tx) error { return d.svc.insertEvents(ctx, tx, rows, now) })
	if err != nil && ctx.Err() == nil {
		d.log.Warn("record alert history", "events", len(evs), "err", err)
	}
}

// snapshot returns a function that puts g back as it is now.
func (d *Dispatcher) snapshot(g *group) func() {
	st := g.g.State()
	byFP, added, held := maps.Clone(g.byFP), maps.Clone(g.added), maps.Clone(g.held)
	alerts := make([]route.Alert, 0, len(byFP))
	for _, a := range byFP {
		alerts = append(alerts, a.routeAlert())
	}
	return func() {
		g.g = route.RestoreGroup(g.key, g.g.Labels, g.node.Timing(), st, alerts)
		g.byFP, g.added, g.held = byFP, added, held
	}
}

// routeMuted reports whether the group's route is muted by its time
// intervals at now.
func (d *Dispatcher) routeMuted(g *group, now time.Time) bool {
	for _, a := range g.byFP {
		for _, m := range d.tree.Match(a.labels, now) {
			if m.Node.ID == g.node.ID {
				return m.Muted
			}
		}
		break
	}
	return false
}

func (d *Dispatcher) alertOf(g *group, ra route.Alert) *stored {
	if a := g.byFP[ra.Fingerprint]; a != nil {
		return a
	}
	for _, a := range d.alerts {
		if a.fp == ra.Fingerprint {
			return a
		}
	}
	return &stored{fp: ra.Fingerprint, labels: ra.Labels, startsAt: ra.StartsAt}
}

// notification renders a flush for one receiver.
func (d *Dispatcher) notification(g *group, receiver string, reason route.Reason, firing, resolved []*stored) *notify.Notification {
	n := &notify.Notification{Receiver: receiver, GroupKey: g.key, GroupLabels: g.g.Labels, Reason: notifyReason(reason), ExternalURL: d.opts.ExternalURL}
	var all []*stored
	all = append(all, firing...)
	all = append(all, resolved...)
	for i, a := range all {
		na := notify.Alert{Status: notify.Firing, Labels: a.labels, Annotations: a.annotations, StartsAt: a.startsAt,
			GeneratorURL: a.generatorURL, Fingerprint: a.fingerprint}
		if i < len(firing) {
			na.Links = d.svc.ActionLinks(a.id, d.opts.Clock.Now())
		} else {
			na.Status = notify.Resolved
			if a.endsAt != nil {
				na.EndsAt = *a.endsAt
			}
		}
		n.Alerts = append(n.Alerts, na)
	}
	n.CommonLabels = common(all, func(a *stored) map[string]string { return a.labels })
	n.CommonAnnotations = common(all, func(a *stored) map[string]string { return a.annotations })
	return n
}

func common(all []*stored, get func(*stored) map[string]string) map[string]string {
	if len(all) == 0 {
		return map[string]string{}
	}
	out := maps.Clone(get(all[0]))
	if out == nil {
		out = map[string]string{}
	}
	for _, a := range all[1:] {
		m := get(a)
		for k, v := range out {
			if m[k] != v {
				delete(out, k)
			}
		}
	}
	return out
}

func notifyReason(r route.Reason) notify.Reason {
	switch r {
	case route.ReasonFirst:
		return notify.ReasonFirst
	case route.ReasonNewAlerts:
		return notify.ReasonNewAlerts
	case route.ReasonSomeResolved:
		return notify.ReasonSomeResolved
	case route.ReasonAllResolved:
		return notify.ReasonAllResolved
	}
	return notify.ReasonRepeat
}

// routeFingerprint maps an alert's fingerprint (labels, or a dedup key) to
// the grouping core's.
func routeFingerprint(s string) matcher.Fingerprint {
	h := fnv.New64a()
	h.Write([]byte(s))
	return matcher.Fingerprint(h.Sum64())
}

// ---- storage of the dispatcher's state ----

func loadGroupStates(ctx context.Context, q db.Querier) (map[string]route.GroupState, error) {
	rows, err := q.QueryContext(ctx, `SELECT group_key, state FROM alert_groups`)
	if err != nil {
		return nil, fmt.Errorf("load alert groups: %w", err)
	}
	defer rows.Close()
	out := map[string]route.GroupState{}
	for rows.Next() {
		var key, state string
		if err := rows.Scan(&key, &state); err != nil {
			return nil, fmt.Errorf("load alert groups: %w", err)
		}
		var st route.GroupState
		if err := json.Unmarshal([]byte(state), &st); err != nil {
			continue // unreadable: start the group afresh
		}
		out[key] = st
	}
	return out, rows.Err()
}

func saveGroupState(ctx context.Context, d *db.DB, g *group, now time.Time) error {
	return d.InTx(ctx, func(tx *sql.Tx) error { return saveGroupStateTx(ctx, tx, g, now) })
}

func saveGroupStateTx(ctx context.Context, tx *sql.Tx, g *group, now time.Time) error {
	st, _ := json.Marshal(g.g.State())
	labels, _ := json.Marshal(g.g.Labels)
	_, err := tx.ExecContext(ctx, `INSERT INTO alert_groups (group_key, route, labels, state, updated_at) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (group_key) DO UPDATE SET route = excluded.route, labels = excluded.labels, state = excluded.state, updated_at = excluded.updated_at`,
		g.key, g.node.Label(), string(labels), string(st), now)
	if err != nil {
		return fmt.Errorf("save alert group: %w", err)
	}
	return nil
}

func deleteGroupState(ctx context.Context, d *db.DB, key string) error {
	return d.InTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM alert_groups WHERE group_key = $1`, key)
		return err
	})
}

// recordNotification records a group's flush to receiver ("": none) and,
// in one statement per few hundred, the history entry of each alert.
func (d *Dispatcher) recordNotification(ctx context.Context, tx *sql.Tx, g *group, receiver string, reason route.Reason, firing, resolved []*stored, now time.Time, detail map[string]any) error {
	if detail == nil {
		detail = map[string]any{}
	}
	var fps []string
	for _, a := range append(slices.Clip(firing), resolved...) {
		fps = append(fps, a.fingerprint)
	}
	detail["alerts"] = fps
	det, _ := json.Marshal(detail)
	id := db.NewID()
	if _, err := tx.ExecContext(ctx, `INSERT INTO alert_notifications (id, group_key, route, receiver, reason, at, firing, resolved, detail)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, id, g.key, g.node.Label(), receiver, string(reason), now, len(firing), len(resolved), string(det)); err != nil {
		return fmt.Errorf("record notification: %w", err)
	}
	kind := EventKind("notified")
	what := map[string]any{"receiver": receiver, "reason": string(reason), "group": g.key, "route": g.node.Label()}
	if receiver == "" {
		kind = EventKind("unrouted")
	}
	events := make([]eventRow, 0, len(firing)+len(resolved))
	for _, a := range append(slices.Clip(firing), resolved...) {
		if a.id != uuid.Nil {
			events = append(events, eventRow{alertID: a.id, kind: kind, actor: "dispatcher", detail: what})
		}
	}
	return d.svc.insertEvents(ctx, tx, events, now)
}
