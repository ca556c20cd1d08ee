package notify

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river"

	"groundcrew.dev/groundcrew/internal/db"
	"groundcrew.dev/groundcrew/internal/errs"
	"groundcrew.dev/groundcrew/internal/identity"
)

// Deliveries are at least once: a delivery is a row and a River job
// inserted in the caller's transaction, one per notification and channel,
// so a committed notification is never lost and never doubled by the
// enqueueing. The job sends, then records the outcome in its own short
// transaction; a crash (or a lost database connection) between a
// successful send and that record makes the job run again and repeat the
// message, as with every webhook sender. A delivery recorded as
// delivered or failed is never sent again: the job checks first.

// DeliverArgs is the job that sends one delivery.
type DeliverArgs struct {
	Delivery uuid.UUID `json:"delivery"`
}

// Kind names the job.
func (DeliverArgs) Kind() string { return "notify.deliver" }

// storedNotification is a notification as a delivery's payload: the
// alerts' own links are kept too (Alert hides them from JSON).
type storedNotification struct {
	*Notification
	AlertLinks []Links `json:"alert_links,omitempty"`
}

func encodeNotification(n *Notification) (string, error) {
	s := storedNotification{Notification: n}
	for _, a := range n.Alerts {
		s.AlertLinks = append(s.AlertLinks, a.Links)
	}
	b, err := json.Marshal(s)
	return string(b), err
}

func decodeNotification(payload string) (*Notification, error) {
	s := storedNotification{Notification: &Notification{}}
	if err := json.Unmarshal([]byte(payload), &s); err != nil {
		return nil, err
	}
	for i := range s.Alerts {
		if i < len(s.AlertLinks) {
			s.Alerts[i].Links = s.AlertLinks[i]
		}
	}
	return s.Notification, nil
}

// Enqueue inserts one delivery per channel of the receiver called
// receiver, and one job per delivery, in the caller's transaction tx (on
// the database's writer): they exist if and only if tx commits. It does
// not authorize: the alert pipeline calls it for the system. It returns
// the deliveries' ids in channel order.
func (s *Service) Enqueue(ctx context.Context, tx *sql.Tx, receiver string, n *Notification) ([]uuid.UUID, error) {
	if s.jobs == nil {
		return nil, errors.New("notify: enqueue: no job runner")
	}
	r, err := getReceiver(ctx, tx, receiver)
	if err != nil {
		return nil, fmt.Errorf("enqueue notification: %w", err)
	}
	c := *n
	if c.Receiver == "" {
		c.Receiver = r.Name
	}
	payload, err := encodeNotification(&c)
	if err != nil {
		return nil, fmt.Errorf("enqueue notification: %w", err)
	}
	now := s.clock.Now()
	ids := make([]uuid.UUID, 0, len(r.Channels))
	for i, ch := range r.Channels {
		d := Delivery{ID: db.NewID(), Receiver: r.Name, ReceiverID: &r.ID, ChannelIndex: i, ChannelType: ch.Type(),
			GroupKey: c.GroupKey, Reason: c.Reason, Status: DeliveryPending, CreatedAt: now, payload: payload}
		if err := insertDelivery(ctx, tx, d); err != nil {
			return nil, err
		}
		// River's own attempts count only failures of the job itself
		// (the database); retries of the send are snoozes, bounded by
		// the Backoff.
		if err := s.jobs.InsertTx(ctx, tx, DeliverArgs{Delivery: d.ID}, &river.InsertOpts{MaxAttempts: 10}); err != nil {
			return nil, err
		}
		ids = append(ids, d.ID)
	}
	return ids, nil
}

// Test enqueues a test notification to every channel of the receiver
// called name and returns the deliveries' ids. The actor must be allowed
// to change the receiver.
func (s *Service) Test(ctx context.Context, name string) ([]uuid.UUID, error) {
	if err := identity.AuthorizeWriter(ctx); err != nil {
		return nil, err
	}
	var ids []uuid.UUID
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		r, err := getReceiver(ctx, tx, name)
		if err != nil {
			return err
		}
		if _, err := s.authorize(ctx, tx, r.Owner, false); err != nil {
			return err
		}
		ids, err = s.Enqueue(ctx, tx, name, receiverTestNotification(s.clock.Now(), name))
		return err
	})
	return ids, err
}

// receiverTestNotification is what Test sends: one firing alert that says it is a
// test.
func receiverTestNotification(now time.Time, receiver string) *Notification {
	labels := map[string]string{"alertname": "GroundcrewTest", "severity": "info"}
	ann := map[string]string{"summary": "Test notification from groundcrew", "description": "Sent to check the receiver " + receiver + "; no action needed."}
	return &Notification{
		Receiver: receiver, GroupKey: "test:" + receiver, GroupLabels: map[string]string{"alertname": "GroundcrewTest"},
		CommonLabels: labels, CommonAnnotations: ann, Reason: ReasonFirst,
		Alerts: []Alert{{Status: Firing, Labels: labels, Annotations: ann, StartsAt: now, Fingerprint: "test"}},
	}
}

// Deliveries lists deliveries, newest first; next is the cursor of the
// next page or "".
func (s *Service) Deliveries(ctx context.Context, f DeliveryFilter) ([]Delivery, string, error) {
	if err := identity.Authorize(ctx, identity.PermRead, uuid.Nil); err != nil {
		return nil, "", err
	}
	switch f.Status {
	case "", DeliveryPending, DeliveryDelivered, DeliveryFailed:
	default:
		return nil, "", errs.Invalidf("status", "must be pending, delivered or failed")
	}
	if f.Limit <= 0 {
		f.Limit = 100
	}
	f.Limit = min(f.Limit, 1000)
	return listDeliveries(ctx, s.db.Reader(), f)
}

// Delivery returns one delivery with its attempts.
func (s *Service) Delivery(ctx context.Context, id uuid.UUID) (Delivery, error) {
	if err := identity.Authorize(ctx, identity.PermRead, uuid.Nil); err != nil {
		return Delivery{}, err
	}
	d, err := getDelivery(ctx, s.db.Reader(), id)
	if err != nil {
		return d, err
	}
	d.AttemptLog, err = listAttempts(ctx, s.db.Reader(), id)
	return d, err
}

// Worker returns the River worker that sends deliveries; register it
// with river.AddWorker.
func (s *Service) Worker() river.Worker[DeliverArgs] { return &worker{s: s} }

type worker struct {
	river.WorkerDefaults[DeliverArgs]
	s *Service
}

// Timeout leaves room for the attempt and its recording.
func (w *worker) Timeout(*river.Job[DeliverArgs]) time.Duration {
	return w.s.opts.SendTimeout + 30*time.Second
}

func (w *worker) Work(ctx context.Context, job *river.Job[DeliverArgs]) error {
	return w.s.deliver(ctx, job.Args.Delivery)
}

// deliver makes one attempt of a delivery and records it. It returns a
// river.JobSnooze error to retry later, nil when the delivery is done
// (delivered or failed), another error when the database failed (River
// retries the job then).
func (s *Service) deliver(ctx context.Context, id uuid.UUID) error {
	d, err := getDelivery(ctx, s.db.Reader(), id)
	if errs.Is(err, errs.NotFound) {
		s.log.Warn("delivery job without delivery; dropped", "delivery", id)
		return nil
	}
	if err != nil {
		return err
	}
	if d.Status != DeliveryPending {
		return nil // already done: never send twice
	}
	ch, n, err := s.prepare(ctx, d)
	start := s.clock.Now()
	if err == nil {
		sendCtx, cancel := context.WithTimeout(ctx, s.opts.SendTimeout)
		err = ch.Send(sendCtx, n)
		cancel()
		if err != nil && ctx.Err() != nil {
			// The job was stopped (shutdown), not the far end: try again
			// without counting an attempt.
			return river.JobSnooze(0)
		}
	}
	return s.recordAttempt(ctx, d, start, err)
}

// prepare loads what an attempt needs: the channel, built from the
// receiver as it is now, and the notification. Its errors are permanent.
func (s *Service) prepare(ctx context.Context, d Delivery) (Channel, *Notification, error) {
	if d.channel != "" {
		return s.prepareDirect(d)
	}
	if d.ReceiverID == nil {
		return nil, nil, &Error{Channel: d.ChannelType, Message: "the receiver was deleted"}
	}
	r, err := getReceiverByID(ctx, s.db.Reader(), *d.ReceiverID)
	if errs.Is(err, errs.NotFound) {
		return nil, nil, &Error{Channel: d.ChannelType, Message: "the receiver was deleted"}
	}
	if err != nil {
		return nil, nil, &Error{Channel: d.ChannelType, Message: "loading the receiver failed", Err: err, Retryable: true}
	}
	chans, err := s.channels(r)
	if err != nil {
		return nil, nil, &Error{Channel: d.ChannelType, Message: "the receiver's secrets cannot be opened (was the secret key changed?)"}
	}
	if d.ChannelIndex >= len(chans) || chans[d.ChannelIndex].Type() != d.ChannelType {
		return nil, nil, &Error{Channel: d.ChannelType, Message: fmt.Sprintf("the receiver changed: channel %d is no longer a %s channel", d.ChannelIndex, d.ChannelType)}
	}
	ch, err := chans[d.ChannelIndex].build(s.opts.Channel)
	if err != nil {
		return nil, nil, &Error{Channel: d.ChannelType, Message: "invalid channel", Err: err}
	}
	n, err := decodeNotification(d.payload)
	if err != nil {
		return nil, nil, &Error{Channel: d.ChannelType, Message: "unreadable notification", Err: err}
	}
	return ch, n, nil
}

// recordAttempt records the outcome of an attempt that started at start,
// decides what follows with the Backoff (the retry time counted from the
// delivery's creation), and tells the FailureSink of a final failure.
func (s *Service) recordAttempt(ctx context.Context, d Delivery, start time.Time, sendErr error) error {
	now := s.clock.Now()
	a := Attempt{At: start, DurationUS: now.Sub(start).Microseconds(), OK: sendErr == nil}
	d.Attempts++
	d.UpdatedAt = now
	var delay time.Duration
	retry := false
	if sendErr == nil {
		d.Status, d.DeliveredAt, d.LastError = DeliveryDelivered, &now, ""
	} else {
		a.Error, a.Retryable = sendErr.Error(), Retryable(sendErr)
		var e *Error
		if errors.As(sendErr, &e) {
			a.StatusCode = e.Status
		}
		delay, retry = s.opts.Backoff.Next(d.Attempts, now.Sub(d.CreatedAt), sendErr, s.opts.Rand)
		d.LastError = a.Error
		d.Status = DeliveryPending
		if !retry {
			d.Status = DeliveryFailed
		}
	}
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		ok, err := finishAttempt(ctx, tx, d, a)
		if err != nil || !ok || d.Status != DeliveryFailed {
			return err
		}
		s.log.Error("notification delivery failed", "delivery", d.ID, "receiver", d.Receiver, "channel", d.ChannelIndex,
			"type", d.ChannelType, "attempts", d.Attempts, "err", d.LastError)
		if s.opts.Sink == nil {
			return nil
		}
		return s.opts.Sink.DeliveryFailed(ctx, tx, d)
	})
	if err != nil {
		return fmt.Errorf("record delivery attempt %s: %w", d.ID, err)
	}
	if retry {
		return river.JobSnooze(delay)
	}
	return nil
}
