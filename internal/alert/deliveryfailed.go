package alert

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"

	"groundcrew.dev/groundcrew/internal/notify"
)

var _ notify.FailureSink = (*Service)(nil)

// NotificationFailed is the alert raised when a notification could not be
// delivered for good: operators must learn that people were not told.
const NotificationFailed = "NotificationFailed"

// SourceSystem marks alerts groundcrew raises about itself.
const SourceSystem Source = "system"

// DeliveryFailed raises (or refreshes) a NotificationFailed alert for the
// receiver and channel of a delivery that failed for good, in the
// delivery's transaction. It resolves only by hand: a later success does
// not prove the lost notification arrived.
func (s *Service) DeliveryFailed(ctx context.Context, tx *sql.Tx, d notify.Delivery) error {
	o := origin{source: SourceSystem, scope: "system", actor: "notify"}
	in := Incoming{
		DedupKey: "delivery-failed/" + d.Receiver + "/" + strconv.Itoa(d.ChannelIndex),
		Severity: "warning",
		Labels: map[string]string{"alertname": NotificationFailed, "receiver": d.Receiver,
			"channel": d.ChannelType, "severity": "warning"},
		Annotations: map[string]string{"last_error": truncate(d.LastError, MaxAnnotation), "delivery": d.ID.String(),
			"group_key": truncate(d.GroupKey, MaxAnnotation)},
		Summary: truncate(fmt.Sprintf("a notification to %s (%s channel %d) could not be delivered after %d attempts: %s",
			d.Receiver, d.ChannelType, d.ChannelIndex, d.Attempts, d.LastError), MaxSummary),
	}
	if _, err := s.ingestTx(ctx, tx, o, []Incoming{in}, s.clock.Now()); err != nil {
		return fmt.Errorf("raise %s: %w", NotificationFailed, err)
	}
	return nil
}
