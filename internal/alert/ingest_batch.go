package alert

import (
	"context"
	"database/sql"
	"time"

	"github.com/google/uuid"

	"groundcrew.dev/groundcrew/internal/db"
)

// Ingestion of a batch in a few statements.
//
// Prometheus sends up to a few hundred alerts per request and re-sends
// every firing alert every evaluation, so most of what arrives is a
// refresh of an open alert that changes nothing but when it was last seen
// and when it would expire. Applied one alert at a time, each alert cost
// three to five statements (read the open alert, update or insert it,
// queue it for the dispatcher, read its previous resolution, record its
// history), each compiled anew by SQLite or a round trip to PostgreSQL.
// A batch instead:
//
//   - works out everything that needs no database before the transaction
//     (fingerprints, the JSON of labels and annotations, summaries);
//   - reads the open alerts of all its fingerprints in one query;
//   - touches the refreshes that change nothing anyone sees (only
//     last_seen_at, refresh_count and ends_at) with one UPDATE per
//     distinct endsAt, and neither queues them for the dispatcher (which
//     ignores those columns of a firing alert) nor records history;
//   - inserts new alerts, their dispatch-queue entries and history rows
//     several per statement.
//
// A batch naming one fingerprint twice is applied alert by alert (apply),
// since the order of its steps then matters.

// prepared is one incoming alert with what needs no database worked out.
type prepared struct {
	in                *Incoming
	fp                string
	resolved          bool       // an explicit resolve, or endsAt in the past
	endsAt            *time.Time // of a firing alert: when it resolves unless refreshed
	summary, severity string
	annotations       string // JSON, sorted keys
	generatorURL      string
	// fresh: a firing alert read as not open just before the transaction
	// (deferRefreshes), so inserted without looking again; should another
	// request have opened it since, the insert breaks the unique index of
	// open fingerprints and the batch is applied again without the hint.
	fresh bool
}

// prepare works out the fingerprint, resolution, expiry, summary, severity
// and annotations' JSON of an incoming alert as of now.
func (s *Service) prepare(o origin, in *Incoming, now time.Time) prepared {
	p := prepared{in: in, fp: Fingerprint(in.Labels), generatorURL: in.GeneratorURL}
	if in.DedupKey != "" {
		p.fp = DedupFingerprint(o.scope, in.DedupKey)
	}
	p.resolved = in.Resolve || !in.EndsAt.IsZero() && !in.EndsAt.After(now)
	if !in.EndsAt.IsZero() {
		t := in.EndsAt
		p.endsAt = &t
	} else if o.autoResolve && !in.KeepOpen {
		t := now.Add(s.opts.ResolveTimeout)
		p.endsAt = &t
	}
	p.summary, p.severity = in.Summary, in.Severity
	if p.summary == "" {
		p.summary = truncate(firstNonEmpty(in.Annotations["summary"], in.Labels["alertname"]), MaxSummary)
	}
	if p.severity == "" {
		p.severity = truncate(in.Labels["severity"], MaxSeverity)
	}
	p.annotations = marshalMap(in.Annotations)
	return p
}

// prepareAll prepares a batch and reports whether a fingerprint occurs
// more than once in it.
func (s *Service) prepareAll(o origin, alerts []Incoming, now time.Time) ([]prepared, bool) {
	out := make([]prepared, len(alerts))
	seen := make(map[string]struct{}, len(alerts))
	dup := false
	for i := range alerts {
		out[i] = s.prepare(o, &alerts[i], now)
		if _, ok := seen[out[i].fp]; ok {
			dup = true
		}
		seen[out[i].fp] = struct{}{}
	}
	return out, dup
}

// eventRow is a history entry to insert.
type eventRow struct {
	alertID uuid.UUID
	kind    EventKind
	actor   string
	integ   uuid.UUID
	detail  map[string]any
}

// applyBatch applies prepared alerts whose fingerprints are distinct, in
// tx, and returns what became of each.
func (s *Service) applyBatch(ctx context.Context, tx *sql.Tx, o origin, ps []prepared, now time.Time) ([]Received, error) {
	out := make([]Received, len(ps))
	// Refreshes first: one UPDATE … RETURNING touches every open alert
	// the batch re-sends and says what it held; the rest (new, resolved,
	// acknowledged, expired) are read.
	touched, err := s.touchOpen(ctx, tx, ps, now)
	if err != nil {
		return nil, err
	}
	var fps []string
	for i := range ps {
		if _, ok := touched[ps[i].fp]; !ok && !ps[i].fresh {
			fps = append(fps, ps[i].fp)
		}
	}
	open, err := s.readOpen(ctx, tx, fps)
	if err != nil {
		return nil, err
	}
	var (
		queue    []uuid.UUID
		events   []eventRow
		inserts  []row
		resolves []resolution
		services = map[string]uuid.UUID{}
	)
	for i := range ps {
		p := &ps[i]
		in := p.in
		r := Received{Fingerprint: p.fp, DedupKey: in.DedupKey, Status: Firing}
		if cur, ok := touched[p.fp]; ok {
			// Refreshed already; what people or the dispatcher see changed
			// is written now, queued and (but a new generator URL) recorded.
			r.ID = cur.id
			out[i] = r
			changed := cur.changes(p)
			if len(changed) == 0 && cur.generatorURL == p.generatorURL {
				continue
			}
			if err := updateShown(ctx, tx, cur.id, p.severity, p.summary, p.annotations, p.generatorURL); err != nil {
				return nil, err
			}
			queue = append(queue, cur.id)
			if len(changed) > 0 {
				events = append(events, eventRow{alertID: cur.id, kind: EventRefreshed, actor: o.actor, integ: o.integration,
					detail: map[string]any{"changed": changed}})
			}
			continue
		}
		cur, found := open[p.fp]
		if found && cur.endsAt != nil && !cur.endsAt.After(now) {
			// Its endsAt passed before the sweep got to it: it resolved then.
			if err := resolveRow(ctx, tx, cur.id, *cur.endsAt, now); err != nil {
				return nil, err
			}
			queue = append(queue, cur.id)
			events = append(events, eventRow{alertID: cur.id, kind: EventExpired, actor: "system",
				detail: map[string]any{"ends_at": cur.endsAt.UTC().Format(time.RFC3339)}})
			found = false
		}
		switch {
		case in.Acknowledge:
			if !found {
				r.Status = Resolved
				break
			}
			r.ID = cur.id
			if cur.acknowledged {
				break
			}
			if err := acknowledgeAlert(ctx, tx, cur.id, now); err != nil {
				return nil, err
			}
			events = append(events, eventRow{alertID: cur.id, kind: EventAcknowledged, actor: o.actor, integ: o.integration})
		case p.resolved:
			r.Status = Resolved
			if !found {
				break // nothing open: a resolve of an alert never seen, or seen resolved
			}
			r.ID = cur.id
			end := now
			if !in.EndsAt.IsZero() && !in.EndsAt.After(now) {
				end = in.EndsAt
			}
			resolves = append(resolves, resolution{cur.id, end})
			queue = append(queue, cur.id)
			events = append(events, eventRow{alertID: cur.id, kind: EventResolved, actor: o.actor, integ: o.integration})
		case found:
			// Open but not touched above: not expected (touchOpen refreshes
			// every open alert a firing one re-sends), written in full.
			r.ID = cur.id
			changed := cur.changes(p)
			if err := updateRefresh(ctx, tx, cur.id, now, p.endsAt, p.severity, p.summary, p.annotations, p.generatorURL); err != nil {
				return nil, err
			}
			queue = append(queue, cur.id)
			if len(changed) > 0 {
				events = append(events, eventRow{alertID: cur.id, kind: EventRefreshed, actor: o.actor, integ: o.integration,
					detail: map[string]any{"changed": changed}})
			}
		default:
			svc, err := s.serviceOf(ctx, tx, o, in, services)
			if err != nil {
				return nil, err
			}
			starts := in.StartsAt
			if starts.IsZero() {
				starts = now
			}
			r.ID = db.NewID()
			inserts = append(inserts, row{id: r.ID, integrationID: o.integration, serviceID: svc, fingerprint: p.fp, severity: p.severity,
				summary: p.summary, labels: marshalMap(in.Labels), annotations: p.annotations, source: o.source, dedupKey: in.DedupKey,
				generatorURL: in.GeneratorURL, startsAt: starts.UTC(), now: now, endsAt: p.endsAt})
		}
		out[i] = r
	}
	if err := s.resolveAll(ctx, tx, resolves, now); err != nil {
		return nil, err
	}
	if len(inserts) > 0 {
		fired, err := s.insertNew(ctx, tx, o, inserts, now)
		if err != nil {
			return nil, err
		}
		for _, r := range inserts {
			queue = append(queue, r.id)
		}
		events = append(events, fired...)
	}
	if err := s.queueDispatchAll(ctx, tx, queue); err != nil {
		return nil, err
	}
	if err := s.insertEvents(ctx, tx, events, now); err != nil {
		return nil, err
	}
	return out, nil
}

// changes names what a refresh p changes of the open alert that people
// see in its history.
func (o *openAlert) changes(p *prepared) []string {
	var changed []string
	if o.annots != p.annotations {
		changed = append(changed, "annotations")
	}
	if o.severity != p.severity {
		changed = append(changed, "severity")
	}
	if o.summary != p.summary {
		changed = append(changed, "summary")
	}
	return changed
}

// insertNew inserts new alerts and returns their history entries: fired,
// or refired (naming the previous alert of the fingerprint, flapping when
// it resolved less than FlapWindow ago).
func (s *Service) insertNew(ctx context.Context, tx *sql.Tx, o origin, inserts []row, now time.Time) ([]eventRow, error) {
	if err := s.insertAlerts(ctx, tx, inserts); err != nil {
		return nil, err
	}
	fps := make([]string, len(inserts))
	for k, r := range inserts {
		fps[k] = r.fingerprint
	}
	prev, err := s.readLastResolved(ctx, tx, fps)
	if err != nil {
		return nil, err
	}
	events := make([]eventRow, 0, len(inserts))
	for _, r := range inserts {
		kind, detail := EventFired, map[string]any(nil)
		if pr, ok := prev[r.fingerprint]; ok {
			kind = EventRefired
			detail = map[string]any{"previous": pr.id.String()}
			if pr.endsAt != nil && now.Sub(*pr.endsAt) < s.opts.FlapWindow {
				detail["flapping"] = true
				detail["resolved_for"] = now.Sub(*pr.endsAt).Round(time.Second).String()
			}
		}
		events = append(events, eventRow{alertID: r.id, kind: kind, actor: o.actor, integ: o.integration, detail: detail})
	}
	return events, nil
}
