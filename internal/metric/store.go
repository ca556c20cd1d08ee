package metric

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"groundcrew.dev/groundcrew/internal/db"
	"groundcrew.dev/groundcrew/internal/errs"
)

// sampleChunk is the most samples one INSERT writes: 256 rows of 3
// columns bind 768 parameters, far below either engine's limit, and a
// push of 10,000 samples takes about 40 statements.
const sampleChunk = 256

// upsertSeries returns the id of the series name{labels}, creating it if
// needed, and marks it updated at now.
func upsertSeries(ctx context.Context, tx *sql.Tx, name string, labels map[string]string, now time.Time) (uuid.UUID, error) {
	var id uuid.UUID
	err := tx.QueryRowContext(ctx, `INSERT INTO metric_series (id, key, name, labels, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)
		ON CONFLICT (key) DO UPDATE SET updated_at = excluded.updated_at RETURNING id`,
		db.NewID(), Key(name, labels), name, labelsJSON(labels), now).Scan(&id)
	if err != nil {
		return id, fmt.Errorf("upsert series %s: %w", name, err)
	}
	return id, nil
}

// row is one sample of one series, to insert.
type row struct {
	series uuid.UUID
	at     int64 // Unix milliseconds
	v      float64
}

// insertSamples writes rows (no two with the same series and time) in
// multi-row statements; a sample already stored is replaced.
func insertSamples(ctx context.Context, tx *sql.Tx, rows []row) error {
	for len(rows) > 0 {
		n := min(len(rows), sampleChunk)
		var b strings.Builder
		b.WriteString(`INSERT INTO metric_samples (series_id, at, value) VALUES `)
		args := make([]any, 0, 3*n)
		for i, r := range rows[:n] {
			if i > 0 {
				b.WriteByte(',')
			}
			k := 3 * i
			b.WriteString("($" + strconv.Itoa(k+1) + ",$" + strconv.Itoa(k+2) + ",$" + strconv.Itoa(k+3) + ")")
			args = append(args, r.series, r.at, r.v)
		}
		b.WriteString(` ON CONFLICT (series_id, at) DO UPDATE SET value = excluded.value`)
		if _, err := tx.ExecContext(ctx, b.String(), args...); err != nil {
			return fmt.Errorf("insert samples: %w", err)
		}
		rows = rows[n:]
	}
	return nil
}

const seriesColumns = `id, name, labels, created_at, updated_at`

func scanSeries(sc interface{ Scan(...any) error }) (Series, error) {
	var s Series
	var labels string
	if err := sc.Scan(&s.ID, &s.Name, &labels, &s.CreatedAt, &s.UpdatedAt); err != nil {
		return s, err
	}
	if err := json.Unmarshal([]byte(labels), &s.Labels); err != nil {
		return s, fmt.Errorf("series %s labels: %w", s.ID, err)
	}
	if s.Labels == nil {
		s.Labels = map[string]string{}
	}
	s.CreatedAt, s.UpdatedAt = s.CreatedAt.UTC(), s.UpdatedAt.UTC()
	return s, nil
}

func getSeries(ctx context.Context, q db.Querier, id uuid.UUID) (Series, error) {
	s, err := scanSeries(q.QueryRowContext(ctx, `SELECT `+seriesColumns+` FROM metric_series WHERE id = $1`, id))
	if db.IsNoRows(err) {
		return s, errs.NotFoundf("series %s not found", id)
	}
	if err != nil {
		return s, fmt.Errorf("get series %s: %w", id, err)
	}
	return s, nil
}

// scanSeriesByName calls yield for each series (of metric name, or all
// when name is empty) whose key sorts after `after`, in key order, until
// yield returns false.
func scanSeriesByName(ctx context.Context, q db.Querier, name, after string, yield func(Series, string) bool) error {
	query, args := `SELECT `+seriesColumns+`, key FROM metric_series WHERE key > $1 ORDER BY key`, []any{after}
	if name != "" {
		query, args = `SELECT `+seriesColumns+`, key FROM metric_series WHERE name = $1 AND key > $2 ORDER BY name, key`, []any{name, after}
	}
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("list series: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var s Series
		var labels, key string
		if err := rows.Scan(&s.ID, &s.Name, &labels, &s.CreatedAt, &s.UpdatedAt, &key); err != nil {
			return fmt.Errorf("list series: %w", err)
		}
		if err := json.Unmarshal([]byte(labels), &s.Labels); err != nil {
			return fmt.Errorf("series %s labels: %w", s.ID, err)
		}
		if s.Labels == nil {
			s.Labels = map[string]string{}
		}
		s.CreatedAt, s.UpdatedAt = s.CreatedAt.UTC(), s.UpdatedAt.UTC()
		if !yield(s, key) {
			return nil
		}
	}
	return rows.Err()
}

// loadSamples returns up to limit samples of a series in [from, to), oldest
// first.
func loadSamples(ctx context.Context, q db.Querier, id uuid.UUID, from, to time.Time, limit int) ([]Sample, error) {
	rows, err := q.QueryContext(ctx, `SELECT at, value FROM metric_samples WHERE series_id = $1 AND at >= $2 AND at < $3 ORDER BY at LIMIT $4`,
		id, from.UnixMilli(), to.UnixMilli(), limit)
	if err != nil {
		return nil, fmt.Errorf("load samples of %s: %w", id, err)
	}
	defer rows.Close()
	var out []Sample
	for rows.Next() {
		var at int64
		var v float64
		if err := rows.Scan(&at, &v); err != nil {
			return nil, fmt.Errorf("load samples of %s: %w", id, err)
		}
		out = append(out, Sample{T: time.UnixMilli(at).UTC(), V: v})
	}
	return out, rows.Err()
}

// pruneBatch is how many samples one retention statement deletes, so that
// no statement holds the writer long.
const pruneBatch = 5000

// pruneSamples deletes up to pruneBatch samples older than before and
// reports how many it deleted.
func pruneSamples(ctx context.Context, q db.Querier, before time.Time) (int64, error) {
	res, err := q.ExecContext(ctx, `DELETE FROM metric_samples WHERE (series_id, at) IN
		(SELECT series_id, at FROM metric_samples WHERE at < $1 LIMIT $2)`, before.UnixMilli(), pruneBatch)
	if err != nil {
		return 0, fmt.Errorf("prune samples: %w", err)
	}
	return res.RowsAffected()
}

// pruneSeries deletes series that received nothing since before and have
// no samples left.
func pruneSeries(ctx context.Context, q db.Querier, before time.Time) (int64, error) {
	res, err := q.ExecContext(ctx, `DELETE FROM metric_series WHERE updated_at < $1
		AND NOT EXISTS (SELECT 1 FROM metric_samples s WHERE s.series_id = metric_series.id)`, before)
	if err != nil {
		return 0, fmt.Errorf("prune series: %w", err)
	}
	return res.RowsAffected()
}

func labelsJSON(m map[string]string) string {
	if m == nil {
		m = map[string]string{}
	}
	b, _ := json.Marshal(m)
	return string(b)
}
