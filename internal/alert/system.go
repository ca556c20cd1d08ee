package alert

import (
	"context"
	"database/sql"
	"fmt"
)

// SourceForecast marks alerts raised by forecast rules.
const SourceForecast Source = "forecast"

// RaiseTx fires or resolves alerts for groundcrew itself (forecast rules,
// agents' findings) in the caller's transaction, as source, with the
// history naming actor. Each Incoming needs a DedupKey (its identity
// within source); Resolve closes it. No authorization: the caller is the
// system.
func (s *Service) RaiseTx(ctx context.Context, tx *sql.Tx, source Source, actor string, alerts []Incoming) error {
	now := s.clock.Now()
	for i := range alerts {
		if alerts[i].DedupKey == "" {
			return fmt.Errorf("raise %s alert %d: a dedup key is required", source, i)
		}
		if err := alerts[i].Validate(now, s.opts.MaxFuture); err != nil {
			return fmt.Errorf("raise %s alert %d: %w", source, i, err)
		}
	}
	o := origin{source: source, scope: string(source), actor: actor}
	if _, err := s.ingestTx(ctx, tx, o, alerts, now); err != nil {
		return fmt.Errorf("raise %s alerts: %w", source, err)
	}
	return nil
}
