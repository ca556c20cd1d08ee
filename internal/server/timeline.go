package server

import (
	"context"
	"database/sql"
	"time"

	"groundcrew.dev/groundcrew/internal/alert"
	"groundcrew.dev/groundcrew/internal/incident"
	"groundcrew.dev/groundcrew/internal/oncall/pager"
)

// incidentTimeline lets the alert dispatcher and the pager write to the
// timelines of open incidents without knowing package incident.
type incidentTimeline struct{ svc *incident.Service }

var (
	_ alert.Incidents = incidentTimeline{}
	_ pager.Incidents = incidentTimeline{}
)

func (t incidentTimeline) RecordTx(ctx context.Context, tx *sql.Tx, services []string, kind, text string, detail map[string]any, at time.Time, actor string) ([]int64, error) {
	return t.svc.RecordForServicesTx(ctx, tx, services, incident.Entry{Kind: kind, Text: text, Detail: detail, At: at, Actor: actor})
}

func (t incidentTimeline) AcknowledgedTx(ctx context.Context, tx *sql.Tx, numbers []int64, at time.Time, by string) error {
	for _, n := range numbers {
		if err := t.svc.MarkAcknowledgedTx(ctx, tx, n, at, by); err != nil {
			return err
		}
	}
	return nil
}
