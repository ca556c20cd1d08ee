package metric

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/google/uuid"

	"groundcrew.dev/groundcrew/internal/clock"
	"groundcrew.dev/groundcrew/internal/db"
	"groundcrew.dev/groundcrew/internal/errs"
	"groundcrew.dev/groundcrew/internal/identity"
)

// Options configure the Service. The zero value is a safe default.
type Options struct {
	Logger *slog.Logger
}

// Service stores series and forecast rules. Safe for concurrent use.
//
// Who may do what: anyone signed in reads series, samples, rules and
// charts; operators and admins push samples and write rules (series are
// not owned by a team yet, so members may not push).
type Service struct {
	db    *db.DB
	clock clock.Clock
	log   *slog.Logger
	src   Source // computed series; nil: none
}

// NewService returns a metric service.
func NewService(d *db.DB, c clock.Clock, opts Options) *Service {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{db: d, clock: c, log: log}
}

// PushResult says what a push stored.
type PushResult struct {
	Series  int `json:"series" doc:"distinct series written"`
	Samples int `json:"samples" doc:"distinct samples written (a repeated time keeps the last value)"`
}

// Push validates and stores p in one transaction: all of it or nothing.
// A sample at a time already stored replaces the stored value.
func (s *Service) Push(ctx context.Context, p Push) (PushResult, error) {
	if err := identity.AuthorizeWriter(ctx); err != nil {
		return PushResult{}, err
	}
	if err := identity.Authorize(ctx, identity.PermWriteCatalog, uuid.Nil); err != nil {
		return PushResult{}, err
	}
	now := s.clock.Now()
	if err := p.Validate(now); err != nil {
		return PushResult{}, err
	}
	var res PushResult
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		ids := map[string]uuid.UUID{}
		// One value per (series, millisecond): the last one wins, and no
		// statement conflicts with itself.
		latest := map[row]int{}
		var rows []row
		for _, in := range p.Series {
			key := Key(in.Name, in.Labels)
			id, ok := ids[key]
			if !ok {
				var err error
				if id, err = upsertSeries(ctx, tx, in.Name, in.Labels, now); err != nil {
					return err
				}
				ids[key] = id
			}
			for _, smp := range in.Samples {
				k := row{series: id, at: smp.T.UnixMilli()}
				if i, dup := latest[k]; dup {
					rows[i].v = smp.V
					continue
				}
				latest[k] = len(rows)
				rows = append(rows, row{series: id, at: k.at, v: smp.V})
			}
		}
		res = PushResult{Series: len(ids), Samples: len(rows)}
		return insertSamples(ctx, tx, rows)
	})
	if err != nil {
		return PushResult{}, fmt.Errorf("push metrics: %w", err)
	}
	return res, nil
}

// SeriesFilter narrows a list of series.
type SeriesFilter struct {
	Name   string            // metric name; "" any
	Labels map[string]string // labels that must have these values
	After  string            // cursor: keys after this one
	Limit  int               // default 100, at most 1000
}

// ParseLabelFilter parses "k=v" pairs (query parameters) into a label
// filter, naming field on error.
func ParseLabelFilter(field string, pairs []string) (map[string]string, error) {
	out := map[string]string{}
	for i, p := range pairs {
		k, v, ok := strings.Cut(p, "=")
		if !ok || !ValidName(k) {
			return nil, errs.Invalidf(fmt.Sprintf("%s[%d]", field, i), "%q is not name=value", p)
		}
		out[k] = v
	}
	return out, nil
}

// ListSeries returns series by key (name, then labels); next is the cursor
// of the next page or "".
func (s *Service) ListSeries(ctx context.Context, f SeriesFilter) (out []Series, next string, err error) {
	if err := identity.Authorize(ctx, identity.PermRead, uuid.Nil); err != nil {
		return nil, "", err
	}
	if f.Limit <= 0 {
		f.Limit = 100
	}
	f.Limit = min(f.Limit, 1000)
	lastKey := ""
	err = scanSeriesByName(ctx, s.db.Reader(), f.Name, f.After, func(sr Series, key string) bool {
		for k, v := range f.Labels {
			if sr.Labels[k] != v {
				return true
			}
		}
		if len(out) == f.Limit {
			next = lastKey
			return false
		}
		out, lastKey = append(out, sr), key
		return true
	})
	if err != nil {
		return nil, "", err
	}
	if out == nil {
		out = []Series{}
	}
	return out, next, nil
}

// MaxSamplesRead bounds the samples one read returns.
const MaxSamplesRead = 20000

// Samples returns up to limit (default and at most MaxSamplesRead) samples
// of series id in [from, to), oldest first. Zero to means now, zero from
// 24 hours before to.
func (s *Service) Samples(ctx context.Context, id uuid.UUID, from, to time.Time, limit int) ([]Sample, error) {
	if err := identity.Authorize(ctx, identity.PermRead, uuid.Nil); err != nil {
		return nil, err
	}
	if to.IsZero() {
		to = s.clock.Now().Add(time.Millisecond)
	}
	if from.IsZero() {
		from = to.Add(-24 * time.Hour)
	}
	if !from.Before(to) {
		return nil, errs.Invalidf("from", "must be before to")
	}
	if limit <= 0 || limit > MaxSamplesRead {
		limit = MaxSamplesRead
	}
	sr, err := s.series(ctx, id)
	if err != nil {
		return nil, err
	}
	out, err := s.samples(ctx, sr, from, to, limit)
	if out == nil {
		out = []Sample{}
	}
	return out, err
}

// Prune deletes samples older than Retention and series that have had
// none since, in short transactions, for at most maxBatches batches of
// samples; it reports how many samples it deleted. The system runs it; no
// authorization.
func (s *Service) Prune(ctx context.Context, maxBatches int) (int64, error) {
	before := s.clock.Now().Add(-Retention)
	var total int64
	for range max(maxBatches, 1) {
		n, err := pruneSamples(ctx, s.db.Writer(), before)
		total += n
		if err != nil {
			return total, err
		}
		if n < pruneBatch {
			break
		}
	}
	if _, err := pruneSeries(ctx, s.db.Writer(), before); err != nil {
		return total, err
	}
	return total, nil
}

// matchingSeries returns the series of metric name whose labels all
// matchers match, at most limit.
func (s *Service) matchingSeries(ctx context.Context, name string, match func(map[string]string) bool, limit int) ([]Series, error) {
	if s.src != nil && s.src.Serves(name) {
		return s.src.Series(ctx, name, match, limit)
	}
	var out []Series
	err := scanSeriesByName(ctx, s.db.Reader(), name, "", func(sr Series, _ string) bool {
		if match(sr.Labels) {
			out = append(out, sr)
		}
		return len(out) < limit
	})
	return out, err
}
