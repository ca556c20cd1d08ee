package notify

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/riverqueue/river"

	"groundcrew.dev/groundcrew/internal/db"
	"groundcrew.dev/groundcrew/internal/errs"
)

// Direct deliveries go to one address rather than to a receiver's
// channels: the pager reaches a person through their contact methods. The
// channel, with its secrets (a Slack webhook URL is one), is stored with
// the delivery, sealed with the server key; retries, attempts, the
// failure sink and the deliveries API treat it like any other delivery.

// Target is where a direct delivery goes.
type Target struct {
	// Label names the delivery in lists, e.g. "ana/work-email"; it takes
	// the place of the receiver's name.
	Label string
	// Type is email, slack or webhook.
	Type string
	// Address is the e-mail address or the webhook URL.
	Address string
	// Mailer names the receiver whose first e-mail channel sends direct
	// e-mail (its sender, server and credentials; the recipient is
	// Address). Required for Type email.
	Mailer string
}

// EnqueueDirect inserts one delivery of n to t, and its job, in the
// caller's transaction tx, and returns its id. Like Enqueue it does not
// authorize.
func (s *Service) EnqueueDirect(ctx context.Context, tx *sql.Tx, t Target, n *Notification) (Delivery, error) {
	if s.jobs == nil {
		return Delivery{}, errors.New("notify: enqueue: no job runner")
	}
	if s.box == nil {
		return Delivery{}, errors.New("notify: no secret box configured")
	}
	spec, err := directChannel(ctx, s, tx, t)
	if err != nil {
		return Delivery{}, err
	}
	if _, err := spec.build(s.opts.Channel); err != nil {
		return Delivery{}, errs.WithField("address", err)
	}
	raw, err := json.Marshal(spec)
	if err != nil {
		return Delivery{}, fmt.Errorf("enqueue direct: %w", err)
	}
	sealed, err := s.box.Seal(raw)
	if err != nil {
		return Delivery{}, fmt.Errorf("enqueue direct: %w", err)
	}
	c := *n
	c.Receiver = t.Label
	payload, err := encodeNotification(&c)
	if err != nil {
		return Delivery{}, fmt.Errorf("enqueue direct: %w", err)
	}
	d := Delivery{ID: db.NewID(), Receiver: t.Label, ChannelType: spec.Type(), GroupKey: c.GroupKey, Reason: c.Reason,
		Status: DeliveryPending, CreatedAt: s.clock.Now(), payload: payload, channel: sealed}
	if err := insertDelivery(ctx, tx, d); err != nil {
		return Delivery{}, err
	}
	if err := s.jobs.InsertTx(ctx, tx, DeliverArgs{Delivery: d.ID}, &river.InsertOpts{MaxAttempts: 10}); err != nil {
		return Delivery{}, err
	}
	return d, nil
}

// directChannel builds the channel spec of a target.
func directChannel(ctx context.Context, s *Service, tx *sql.Tx, t Target) (ChannelSpec, error) {
	switch t.Type {
	case "slack":
		return ChannelSpec{Slack: &SlackConfig{URL: t.Address}}, nil
	case "webhook":
		return ChannelSpec{Webhook: &WebhookConfig{URL: t.Address}}, nil
	case "email":
		if t.Mailer == "" {
			return ChannelSpec{}, errs.Invalidf("mailer", "no paging mailer is configured: set paging_mailer to a receiver with an e-mail channel")
		}
		r, err := getReceiver(ctx, tx, t.Mailer)
		if errs.Is(err, errs.NotFound) {
			return ChannelSpec{}, errs.Invalidf("mailer", "the paging mailer %q is not a receiver", t.Mailer)
		}
		if err != nil {
			return ChannelSpec{}, err
		}
		chans, err := s.channels(r)
		if err != nil {
			return ChannelSpec{}, err
		}
		for _, ch := range chans {
			if ch.Email != nil {
				e := *ch.Email
				e.To = []string{t.Address}
				return ChannelSpec{Email: &e}, nil
			}
		}
		return ChannelSpec{}, errs.Invalidf("mailer", "the paging mailer %q has no e-mail channel", t.Mailer)
	}
	return ChannelSpec{}, errs.Invalidf("type", "%q is not one of email, slack, webhook", t.Type)
}

// prepareDirect is prepare for a direct delivery.
func (s *Service) prepareDirect(d Delivery) (Channel, *Notification, error) {
	fail := func(msg string, err error) (Channel, *Notification, error) {
		return nil, nil, &Error{Channel: d.ChannelType, Message: msg, Err: err}
	}
	if s.box == nil {
		return fail("no secret box configured", nil)
	}
	raw, err := s.box.Open(d.channel)
	if err != nil {
		return fail("the delivery's channel cannot be opened (was the secret key changed?)", nil)
	}
	var spec ChannelSpec
	if err := json.Unmarshal(raw, &spec); err != nil {
		return fail("unreadable channel", err)
	}
	ch, err := spec.build(s.opts.Channel)
	if err != nil {
		return fail("invalid channel", err)
	}
	n, err := decodeNotification(d.payload)
	if err != nil {
		return fail("unreadable notification", err)
	}
	return ch, n, nil
}
