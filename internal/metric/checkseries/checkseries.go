// Package checkseries serves the check engine's results as metric series,
// computed when a forecast rule or a chart reads them: nothing is copied
// on the probing path. Each check is one series per metric, labelled
// check, service, environment and type:
//
//   - check_duration_seconds: every probe's duration (heartbeat pings
//     left out);
//   - check_duration_p95_seconds: the 95th percentile of each five minutes'
//     durations, at the start of the five minutes — for "p95 latency
//     crosses 800 ms within 2 h".
//
// History goes back as far as raw results are kept (check_retention).
package checkseries

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/google/uuid"

	"groundcrew.dev/groundcrew/internal/db"
	"groundcrew.dev/groundcrew/internal/metric"
)

// The metric names served.
const (
	Duration    = "check_duration_seconds"
	DurationP95 = "check_duration_p95_seconds"
)

// Bucket is the span each p95 sample summarizes.
const Bucket = 5 * time.Minute

// maxChecks bounds the checks one listing or lookup scans.
const maxChecks = 100_000

// Source computes the series from the check tables.
type Source struct{ db *db.DB }

var _ metric.Source = (*Source)(nil)

// New returns the source over d's check tables.
func New(d *db.DB) *Source { return &Source{db: d} }

// Serves reports whether name is one of the check metrics.
func (s *Source) Serves(name string) bool { return name == Duration || name == DurationP95 }

// seriesID is the stable id of a check's series of a metric.
func seriesID(check uuid.UUID, name string) uuid.UUID { return uuid.NewSHA1(check, []byte(name)) }

// each calls fn for every check, by name, until it returns false.
func (s *Source) each(ctx context.Context, fn func(id uuid.UUID, labels map[string]string, created, updated time.Time) bool) error {
	rows, err := s.db.Reader().QueryContext(ctx, `SELECT c.id, c.name, sv.name, e.name, c.type, c.created_at, c.updated_at
		FROM checks c JOIN services sv ON sv.id = c.service_id JOIN environments e ON e.id = c.environment_id
		ORDER BY c.name LIMIT `+fmt.Sprint(maxChecks))
	if err != nil {
		return fmt.Errorf("check series: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id uuid.UUID
		var name, svc, env, typ string
		var created, updated time.Time
		if err := rows.Scan(&id, &name, &svc, &env, &typ, &created, &updated); err != nil {
			return fmt.Errorf("check series: %w", err)
		}
		if !fn(id, map[string]string{"check": name, "service": svc, "environment": env, "type": typ}, created.UTC(), updated.UTC()) {
			break
		}
	}
	return rows.Err()
}

// MaxSeries bounds the checks one rule reads: each series is computed
// from raw results on every evaluation, so a rule over every check of a
// large fleet would weigh on the database the checks write to. Narrow the
// rule with matchers (check, service, environment, type).
const MaxSeries = 100

// Series returns the series of name of the checks whose labels match, at
// most MaxSeries.
func (s *Source) Series(ctx context.Context, name string, match func(map[string]string) bool, limit int) ([]metric.Series, error) {
	limit = min(limit, MaxSeries)
	var out []metric.Series
	err := s.each(ctx, func(id uuid.UUID, labels map[string]string, created, updated time.Time) bool {
		if match(labels) {
			out = append(out, metric.Series{ID: seriesID(id, name), Name: name, Labels: labels, CreatedAt: created, UpdatedAt: updated})
		}
		return len(out) < limit
	})
	return out, err
}

// Lookup finds the series with id among the checks' series.
func (s *Source) Lookup(ctx context.Context, id uuid.UUID) (metric.Series, bool, error) {
	var found metric.Series
	ok := false
	err := s.each(ctx, func(cid uuid.UUID, labels map[string]string, created, updated time.Time) bool {
		for _, name := range []string{Duration, DurationP95} {
			if seriesID(cid, name) == id {
				found, ok = metric.Series{ID: id, Name: name, Labels: labels, CreatedAt: created, UpdatedAt: updated}, true
				return false
			}
		}
		return true
	})
	return found, ok, err
}

// Samples computes sr's samples in [from, to), oldest first.
func (s *Source) Samples(ctx context.Context, sr metric.Series, from, to time.Time, limit int) ([]metric.Sample, error) {
	if sr.Name == DurationP95 {
		from = from.Truncate(Bucket)
	}
	q := s.db.Reader()
	var checkID uuid.UUID
	if err := q.QueryRowContext(ctx, `SELECT id FROM checks WHERE name = $1`, sr.Labels["check"]).Scan(&checkID); err != nil {
		if db.IsNoRows(err) {
			return nil, nil // the check is gone: no samples
		}
		return nil, fmt.Errorf("check series %s: %w", sr.Labels["check"], err)
	}
	raw := min(limit, metricMaxRaw)
	if sr.Name == DurationP95 {
		raw = metricMaxRaw
	}
	// The newest raw results, read newest first and turned around.
	rows, err := q.QueryContext(ctx, `SELECT at, duration_us FROM check_results WHERE check_id = $1 AND at >= $2 AND at < $3 AND location <> 'ping'
		ORDER BY at DESC LIMIT $4`, checkID, from.UTC(), to.UTC(), raw)
	if err != nil {
		return nil, fmt.Errorf("check series %s: %w", sr.Labels["check"], err)
	}
	defer rows.Close()
	var out []metric.Sample
	for rows.Next() {
		var at time.Time
		var us int64
		if err := rows.Scan(&at, &us); err != nil {
			return nil, fmt.Errorf("check series %s: %w", sr.Labels["check"], err)
		}
		out = append(out, metric.Sample{T: at.UTC().Truncate(time.Millisecond), V: float64(us) / 1e6})
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	slices.Reverse(out)
	if sr.Name == DurationP95 {
		out = p95(out)
		if len(out) > limit {
			out = out[len(out)-limit:]
		}
	}
	return out, nil
}

// metricMaxRaw bounds the raw results read per series and evaluation
// (about a week of a check probed every 30 s); a longer history reads the
// newest part only.
const metricMaxRaw = 20_000

// p95 turns durations, oldest first, into one sample per Bucket that has
// any: the bucket's 95th percentile (nearest rank), at its start.
func p95(ds []metric.Sample) []metric.Sample {
	var out []metric.Sample
	for len(ds) > 0 {
		start := ds[0].T.Truncate(Bucket)
		n := 1
		for n < len(ds) && ds[n].T.Before(start.Add(Bucket)) {
			n++
		}
		vs := make([]float64, n)
		for i := range n {
			vs[i] = ds[i].V
		}
		slices.Sort(vs)
		rank := int(math.Ceil(0.95*float64(n))) - 1
		out = append(out, metric.Sample{T: start, V: vs[max(rank, 0)]})
		ds = ds[n:]
	}
	return out
}
