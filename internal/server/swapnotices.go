package server

import (
	"context"
	"database/sql"
	"log/slog"
	"net/url"
	"time"

	"groundcrew.dev/groundcrew/internal/errs"
	"groundcrew.dev/groundcrew/internal/notify"
	"groundcrew.dev/groundcrew/internal/oncall"
)

// swapNotices tells a person about a swap that concerns them through
// their contact methods (those they are reached by at once), as a durable
// delivery like a page's message.
type swapNotices struct {
	oncall  *oncall.Service
	notify  *notify.Service
	mailer  string
	baseURL func() string
	log     *slog.Logger
}

var _ oncall.SwapNotifier = swapNotices{}

func (n swapNotices) SwapNoticeTx(ctx context.Context, tx *sql.Tx, to string, sw oncall.Swap) error {
	contacts, err := n.oncall.ContactsTx(ctx, tx, to)
	if err != nil {
		return err
	}
	var now []oncall.Contact
	for _, c := range contacts {
		if c.Delay == 0 {
			now = append(now, c)
		}
	}
	if len(now) == 0 && len(contacts) > 0 {
		now = contacts[:1]
	}
	loc := time.UTC
	if sc, err := n.oncall.GetSchedule(ctx, sw.Schedule); err == nil {
		if l, err := time.LoadLocation(sc.Spec.TimeZone); err == nil {
			loc = l
		}
	}
	what := sw.Describe(loc)
	link := n.baseURL() + "/oncall/schedules/" + url.PathEscape(sw.Schedule) + "/swaps"
	desc := "Accept or decline: " + link
	if sw.Status != oncall.SwapPending {
		desc = "See the schedule's swaps: " + link
	}
	if sw.Message != "" {
		desc = "“" + sw.Message + "”\n" + desc
	}
	msg := &notify.Notification{GroupKey: "swap:" + sw.ID.String(), GroupLabels: map[string]string{"swap": what}, Reason: notify.ReasonFirst,
		ExternalURL: n.baseURL(), CommonLabels: map[string]string{"alertname": "OnCallSwap", "schedule": sw.Schedule},
		CommonAnnotations: map[string]string{"summary": what},
		Alerts: []notify.Alert{{Status: notify.Firing, Labels: map[string]string{"alertname": "OnCallSwap", "schedule": sw.Schedule, "swap": sw.ID.String()},
			Annotations: map[string]string{"summary": what, "description": desc}, StartsAt: sw.CreatedAt, GeneratorURL: link, Fingerprint: "swap-" + sw.ID.String()}}}
	for _, c := range now {
		_, err := n.notify.EnqueueDirect(ctx, tx, notify.Target{Label: to + "/" + c.Name, Type: c.Type, Address: c.Address, Mailer: n.mailer}, msg)
		if errs.Is(err, errs.Invalid) {
			n.log.Warn("swap notice not sent", "to", to, "method", c.Name, "err", err)
			continue
		}
		if err != nil {
			return err
		}
	}
	return nil
}
