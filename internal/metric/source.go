package metric

import (
	"context"
	"time"

	"github.com/google/uuid"

	"groundcrew.dev/groundcrew/internal/errs"
)

// Source provides series computed from another store rather than pushed —
// the check engine's run durations, for instance — so that forecast rules
// read them like any other series without anything being copied on the
// probing path. Package checkseries implements it.
type Source interface {
	// Serves reports whether the source computes the metric name.
	Serves(name string) bool
	// Series returns the series of name whose labels match, at most limit.
	Series(ctx context.Context, name string, match func(map[string]string) bool, limit int) ([]Series, error)
	// Lookup returns the series with id, if the source has it.
	Lookup(ctx context.Context, id uuid.UUID) (Series, bool, error)
	// Samples returns sr's samples in [from, to), oldest first, at most
	// limit.
	Samples(ctx context.Context, sr Series, from, to time.Time, limit int) ([]Sample, error)
}

// SetSource adds a source of computed series; call it before serving.
func (s *Service) SetSource(src Source) { s.src = src }

// series returns the stored or computed series with id.
func (s *Service) series(ctx context.Context, id uuid.UUID) (Series, error) {
	sr, err := getSeries(ctx, s.db.Reader(), id)
	if s.src == nil || !errs.Is(err, errs.NotFound) {
		return sr, err
	}
	if v, ok, verr := s.src.Lookup(ctx, id); verr != nil || ok {
		return v, verr
	}
	return sr, err
}

// samples returns sr's samples in [from, to), from the store or the
// source that computes it.
func (s *Service) samples(ctx context.Context, sr Series, from, to time.Time, limit int) ([]Sample, error) {
	if s.src != nil && s.src.Serves(sr.Name) {
		return s.src.Samples(ctx, sr, from, to, limit)
	}
	return loadSamples(ctx, s.db.Reader(), sr.ID, from, to, limit)
}
