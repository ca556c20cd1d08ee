package metric

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"maps"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"groundcrew.dev/groundcrew/internal/alert"
	"groundcrew.dev/groundcrew/internal/clock"
	"groundcrew.dev/groundcrew/internal/metric/forecast"
)

// Raiser fires and resolves alerts in the caller's transaction;
// alert.Service implements it.
type Raiser interface {
	RaiseTx(ctx context.Context, tx *sql.Tx, source alert.Source, actor string, alerts []alert.Incoming) error
}

var _ Raiser = (*alert.Service)(nil)

// Leader reports whether this replica runs singleton loops now;
// jobs.Leader implements it.
type Leader interface {
	Held(ctx context.Context) bool
}

// EvaluatorOptions configure an Evaluator. Zero fields take the documented
// defaults.
type EvaluatorOptions struct {
	Clock  clock.Clock // default the real clock
	Logger *slog.Logger
	// Interval between rounds; default one minute.
	Interval time.Duration
	// Leader, when set, is asked before each round: only the replica
	// holding it evaluates (and prunes). Nil: always.
	Leader Leader
	// BaseURL returns the URL people reach the server at, for the chart
	// link in alerts; nil or "" leaves the link relative.
	BaseURL func() string
	// MaxSeries bounds the series one rule evaluates per round; default
	// 1000.
	MaxSeries int
	// PruneEvery is how often the leader deletes samples past Retention;
	// default one hour.
	PruneEvery time.Duration
}

// Evaluator runs the forecast rules: every Interval, for each rule and
// each series it matches, it forecasts, keeps the `for` state in the
// database (so a restart or a new leader continues it), and fires or
// resolves one alert per (rule, series). Safe for concurrent use; Start
// once.
type Evaluator struct {
	svc    *Service
	alerts Raiser
	opts   EvaluatorOptions
	log    *slog.Logger

	mu        sync.Mutex // serializes rounds
	lastPrune time.Time
	stop      context.CancelFunc
	done      chan struct{}
}

// NewEvaluator returns an evaluator of svc's rules raising through alerts.
func NewEvaluator(svc *Service, alerts Raiser, opts EvaluatorOptions) *Evaluator {
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.Interval <= 0 {
		opts.Interval = time.Minute
	}
	if opts.MaxSeries <= 0 {
		opts.MaxSeries = 1000
	}
	if opts.PruneEvery <= 0 {
		opts.PruneEvery = time.Hour
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Evaluator{svc: svc, alerts: alerts, opts: opts, log: log}
}

// Start runs rounds every Interval until Stop or ctx ends.
func (e *Evaluator) Start(ctx context.Context) {
	ctx, e.stop = context.WithCancel(ctx)
	e.done = make(chan struct{})
	go func() {
		defer close(e.done)
		t := e.opts.Clock.NewTimer(e.opts.Interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C():
			}
			if e.opts.Leader == nil || e.opts.Leader.Held(ctx) {
				rctx, cancel := context.WithTimeout(ctx, max(e.opts.Interval, 30*time.Second))
				if err := e.Evaluate(rctx); err != nil && ctx.Err() == nil {
					e.log.Error("evaluate forecast rules", "err", err)
				}
				e.prune(rctx)
				cancel()
			}
			t.Reset(e.opts.Interval)
		}
	}()
}

// Stop ends the loop and waits for a running round (until ctx ends).
func (e *Evaluator) Stop(ctx context.Context) {
	if e.stop == nil {
		return
	}
	e.stop()
	select {
	case <-e.done:
	case <-ctx.Done():
	}
}

func (e *Evaluator) prune(ctx context.Context) {
	now := e.opts.Clock.Now()
	if now.Sub(e.lastPrune) < e.opts.PruneEvery {
		return
	}
	e.lastPrune = now
	if n, err := e.svc.Prune(ctx, 100); err != nil {
		e.log.Error("prune metric samples", "err", err)
	} else if n > 0 {
		e.log.Info("pruned metric samples", "deleted", n)
	}
}

// RefreshEvery is how often the alert of a condition that keeps firing is
// refreshed with the latest forecast (its annotations).
const RefreshEvery = time.Hour

// maxLoad bounds the samples loaded per series and round: 35 days a
// minute apart, with room.
const maxLoad = 100000

// Evaluate runs one round over every rule and matching series, and
// resolves the alerts of (rule, series) pairs that no longer exist. An
// error on one pair is logged and the round goes on; the error returned
// is the first one that stopped the round.
func (e *Evaluator) Evaluate(ctx context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.opts.Clock.Now()
	rules, err := listRules(ctx, e.svc.db.Reader())
	if err != nil {
		return err
	}
	states, err := loadStates(ctx, e.svc.db.Reader())
	if err != nil {
		return err
	}
	seen := map[stateKey]bool{}
	for _, r := range rules {
		c, err := r.Spec.Compile(r.Name)
		if err != nil {
			// Stored rules were valid when applied; keep their state.
			e.log.Error("forecast rule does not compile; skipped", "rule", r.Name, "err", err)
			for k := range states {
				if k.rule == r.Name {
					seen[k] = true
				}
			}
			continue
		}
		series, err := e.svc.matchingSeries(ctx, c.Spec.Series.Name, c.Matchers.Matches, e.opts.MaxSeries)
		if err != nil {
			return err
		}
		for _, sr := range series {
			k := stateKey{r.Name, sr.ID}
			seen[k] = true
			if err := e.evaluateOne(ctx, &c, sr, states[k], now); err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				e.log.Error("evaluate forecast", "rule", r.Name, "series", sr.ID, "err", err)
			}
		}
	}
	for k, st := range states {
		if seen[k] {
			continue
		}
		err := e.svc.db.InTx(ctx, func(tx *sql.Tx) error {
			if st.firing {
				in := alert.Incoming{DedupKey: dedupKey(k.rule, k.series), Resolve: true}
				if err := e.alerts.RaiseTx(ctx, tx, alert.SourceForecast, "forecast:"+k.rule, []alert.Incoming{in}); err != nil {
					return err
				}
			}
			return deleteState(ctx, tx, k)
		})
		if err != nil {
			return fmt.Errorf("forget forecast state %s/%s: %w", k.rule, k.series, err)
		}
	}
	return nil
}

// evaluateOne forecasts one series with one rule and moves its state:
// pending when the verdict fires, firing once it has held for `for`,
// resolved when it no longer fires. It writes only on a change (and to
// refresh a firing alert every RefreshEvery).
func (e *Evaluator) evaluateOne(ctx context.Context, c *Compiled, sr Series, st state, now time.Time) error {
	samples, err := e.svc.samples(ctx, sr, now.Add(-c.History), now.Add(time.Millisecond), maxLoad)
	if err != nil {
		return err
	}
	pts := make([]forecast.Point, len(samples))
	for i, s := range samples {
		pts[i] = forecast.Point{T: s.T, V: s.V}
	}
	v, err := forecast.Evaluate(pts, c.Rule)
	if err != nil {
		return err
	}
	e.log.Debug("forecast verdict", "rule", c.Name, "series", sr.ID, "points", len(pts), "firing", v.Firing, "reason", v.Reason)
	st.rule, st.series = c.Name, sr.ID
	before := st
	var raise []alert.Incoming
	switch {
	case v.Firing:
		if st.pendingSince == nil {
			st.pendingSince = &now
		}
		switch {
		case !st.firing && now.Sub(*st.pendingSince) >= c.For:
			st.firing = true
			raise = append(raise, e.incoming(c, sr, v, now))
		case st.firing && now.Sub(st.updatedAt) >= RefreshEvery:
			// Keep the predicted crossing and the reason current,
			// without a history entry every minute.
			raise = append(raise, e.incoming(c, sr, v, now))
		}
	case st.firing:
		st.firing, st.pendingSince = false, nil
		in := e.incoming(c, sr, v, now)
		in.Resolve = true
		raise = append(raise, in)
	default:
		st.pendingSince = nil
	}
	if st.firing == before.firing && samePtrTime(st.pendingSince, before.pendingSince) && len(raise) == 0 {
		return nil
	}
	return e.svc.db.InTx(ctx, func(tx *sql.Tx) error {
		var err error
		if st.pendingSince == nil && !st.firing {
			err = deleteState(ctx, tx, stateKey{st.rule, st.series})
		} else {
			err = saveState(ctx, tx, st, now)
		}
		if err != nil || len(raise) == 0 {
			return err
		}
		return e.alerts.RaiseTx(ctx, tx, alert.SourceForecast, "forecast:"+c.Name, raise)
	})
}

func samePtrTime(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(*b)
}

func dedupKey(rule string, series uuid.UUID) string {
	return "forecast/" + rule + "/" + series.String()
}

// ChartPath is the API path of the chart of rule over series.
func ChartPath(rule string, series uuid.UUID) string {
	return "/api/v1/forecast-rules/" + url.PathEscape(rule) + "/chart.svg?series=" + series.String()
}

// incoming builds the alert of rule c over series sr from verdict v.
func (e *Evaluator) incoming(c *Compiled, sr Series, v forecast.Verdict, now time.Time) alert.Incoming {
	labels := map[string]string{}
	for k, val := range sr.Labels {
		labels[strings.ReplaceAll(k, ":", "_")] = val // alert label names have no ':'
	}
	maps.Copy(labels, c.Spec.Labels)
	labels["alertname"], labels["forecast"], labels["metric"], labels["severity"] = c.Name, c.Name, sr.Name, c.Severity
	link := ChartPath(c.Name, sr.ID)
	if e.opts.BaseURL != nil {
		link = strings.TrimSuffix(e.opts.BaseURL(), "/") + link
	}
	ann := map[string]string{
		"method": string(c.Rule.Method), "reason": v.Reason, "threshold": fmt.Sprint(c.Rule.Threshold),
		"direction": string(c.Rule.Direction), "horizon": c.Spec.Horizon, "chart": link,
	}
	if !v.Result.End.IsZero() {
		ann["last_value"] = fmt.Sprint(v.Result.Last)
	}
	for k, t := range map[string]time.Time{"predicted_at": v.Cross.At, "earliest": v.Cross.Earliest, "latest": v.Cross.Latest} {
		if !t.IsZero() {
			ann[k] = t.UTC().Format(time.RFC3339)
		}
	}
	if v.Cross.Envelope {
		ann["envelope"] = "true"
	}
	maps.Copy(ann, c.Spec.Annotations)
	summary := ann["summary"]
	if summary == "" {
		summary = Key(sr.Name, sr.Labels) + ": " + v.Reason
		ann["summary"] = summary
	}
	return alert.Incoming{
		Labels: labels, Annotations: ann, Summary: summary, Severity: c.Severity, DedupKey: dedupKey(c.Name, sr.ID),
		GeneratorURL: link, StartsAt: now, Service: c.Spec.Service, KeepOpen: true,
	}
}
