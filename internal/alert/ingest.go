package alert

import (
	"context"
	"database/sql"
	"encoding/json"
	"time"

	"github.com/google/uuid"

	"groundcrew.dev/groundcrew/internal/db"
	"groundcrew.dev/groundcrew/internal/errs"
)

// Received says what became of one ingested alert.
type Received struct {
	ID          uuid.UUID // the stored alert; uuid.Nil when nothing was open to resolve or acknowledge
	Fingerprint string
	DedupKey    string
	Status      Status
}

// origin is who sent a batch.
type origin struct {
	source      Source
	integration uuid.UUID // uuid.Nil for checks and people
	scope       string    // dedup key scope: the integration id, "check" or "api"
	actor       string    // for the history
	service     uuid.UUID // the service every alert concerns, if the sender is scoped to one
	// autoResolve: alerts without endsAt resolve after ResolveTimeout
	// (Alertmanager semantics); otherwise they stay until resolved.
	autoResolve bool
}

func integrationOrigin(it Integration) origin {
	src := SourceWebhook
	switch it.Type {
	case TypeAlertmanager:
		src = SourceAlertmanager
	case TypePagerDuty:
		src = SourcePagerDuty
	}
	return origin{source: src, integration: it.ID, scope: it.ID.String(), actor: "integration/" + it.Name,
		service: it.serviceID, autoResolve: it.Type == TypeAlertmanager}
}

// Ingest stores the alerts an integration sent: all of them in one
// transaction, or none. Each alert is validated first; an error names the
// alert as field[i] (or just the field when field is "" and there is one
// alert, as for PagerDuty events).
func (s *Service) Ingest(ctx context.Context, it Integration, alerts []Incoming, field string) (out []Received, err error) {
	if len(alerts) > MaxAlertsPerPost {
		return nil, errs.Invalidf(field, "at most %d alerts per request", MaxAlertsPerPost)
	}
	now := s.clock.Now()
	if err := s.validateAll(alerts, field, now); err != nil {
		return nil, err
	}
	o := integrationOrigin(it)
	// What needs no database is worked out before the transaction: on
	// SQLite every writer waits while one holds it.
	ps, dup := s.prepareAll(o, alerts, now)
	// Refreshes that change nothing but their lease wait in memory for
	// the lease writer (lease.go); the rest is written now.
	var deferred []Received
	if !dup {
		// Held (read) from the decision until the leases are added, so that
		// Sweeper.Stop, which waits for it, writes them all.
		s.deferMu.RLock()
		defer s.deferMu.RUnlock()
	}
	if !dup && s.deferring.Load() {
		var rest []int
		var held []heldLease
		deferred, held, rest = s.deferRefreshes(ctx, ps, now)
		if len(rest) < len(ps) {
			sub := make([]prepared, len(rest))
			for k, i := range rest {
				sub[k] = ps[i]
			}
			ps = sub
			defer func() {
				if err != nil {
					return // nothing of a failed request is kept
				}
				for _, h := range held {
					s.leases.add(h.id, h.endsAt, now)
				}
				for k, i := range rest {
					deferred[i] = out[k]
				}
				out = deferred
			}()
		}
	}
	touch := s.touchDue(it.ID, now)
	if len(ps) == 0 && !touch {
		return nil, nil
	}
	for attempt := 0; attempt < 3; attempt++ {
		// In a transaction shared with the ingestions waiting meanwhile
		// (db.Combiner): one commit for a burst, each batch still all or
		// nothing.
		err = s.combine.Do(ctx, func(ctx context.Context, tx *sql.Tx) error {
			if touch {
				if err := touchIntegration(ctx, tx, it.ID, now); err != nil {
					return err
				}
			}
			if len(ps) == 0 {
				return nil
			}
			out, err = s.applyPrepared(ctx, tx, o, ps, dup, now)
			return err
		})
		// Two replicas (or requests) opening the same alert at once: one
		// wins the unique index, the other retries and refreshes it, this
		// time looking in the transaction (prepared.fresh). Requests
		// refreshing the same alerts while others open them can deadlock
		// on PostgreSQL, which ends one of them: it tries again too.
		if !db.IsUniqueViolation(err) && !db.IsDeadlock(err) {
			break
		}
		for i := range ps {
			ps[i].fresh = false
		}
	}
	if db.IsForeignKeyViolation(err) {
		// The integration's service was deleted after its key was cached:
		// the sender's retry reads the integration again.
		s.keys.clear()
	}
	return out, err
}

// touchDue reports whether this replica should record that integration
// id was used: at most once a minute (touchIntegration), so that most
// requests need no write for it.
func (s *Service) touchDue(id uuid.UUID, now time.Time) bool {
	s.touchMu.Lock()
	defer s.touchMu.Unlock()
	if last, ok := s.touched[id]; ok && now.Sub(last) < time.Minute && !now.Before(last) {
		return false
	}
	if s.touched == nil || len(s.touched) >= 10000 {
		s.touched = map[uuid.UUID]time.Time{}
	}
	s.touched[id] = now
	return true
}

func (s *Service) validateAll(alerts []Incoming, field string, now time.Time) error {
	for i := range alerts {
		if err := alerts[i].Validate(now, s.opts.MaxFuture); err != nil {
			if field == "" && len(alerts) == 1 {
				return err
			}
			if field == "" {
				field = "alerts"
			}
			return indexed(field, i, err)
		}
	}
	return nil
}

// ingestTx applies alerts in tx, in order (a batch may name one alert
// twice).
func (s *Service) ingestTx(ctx context.Context, tx *sql.Tx, o origin, alerts []Incoming, now time.Time) ([]Received, error) {
	ps, dup := s.prepareAll(o, alerts, now)
	return s.applyPrepared(ctx, tx, o, ps, dup, now)
}

// applyPrepared applies prepared alerts in tx: as one batch (see
// ingest_batch.go), or one by one when a fingerprint occurs twice, since
// the order of their steps then matters.
func (s *Service) applyPrepared(ctx context.Context, tx *sql.Tx, o origin, ps []prepared, dup bool, now time.Time) ([]Received, error) {
	if !dup {
		return s.applyBatch(ctx, tx, o, ps, now)
	}
	out := make([]Received, 0, len(ps))
	services := map[string]uuid.UUID{}
	for i := range ps {
		svc, err := s.serviceOf(ctx, tx, o, ps[i].in, services)
		if err != nil {
			return nil, err
		}
		r, err := s.apply(ctx, tx, o, &ps[i], svc, now)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// serviceOf picks the service an alert concerns: the integration's, else
// the catalog service its "service" label names, if any.
func (s *Service) serviceOf(ctx context.Context, tx *sql.Tx, o origin, in *Incoming, cache map[string]uuid.UUID) (uuid.UUID, error) {
	if o.service != uuid.Nil {
		return o.service, nil
	}
	name := in.Service
	if name == "" {
		name = in.Labels["service"]
	}
	if name == "" || len(name) > 63 {
		return uuid.Nil, nil
	}
	if id, ok := cache[name]; ok {
		return id, nil
	}
	id, _, _, err := s.cat.ServiceRef(ctx, tx, "service", name)
	if err != nil && !errs.Is(err, errs.Invalid) {
		return uuid.Nil, err
	}
	cache[name] = id // uuid.Nil for a name the catalog does not know
	return id, nil
}

// apply fires, refreshes, resolves or acknowledges one alert, one
// statement at a time (applyBatch does a whole batch at once).
func (s *Service) apply(ctx context.Context, tx *sql.Tx, o origin, p *prepared, svc uuid.UUID, now time.Time) (Received, error) {
	in, fp := p.in, p.fp
	r := Received{Fingerprint: fp, DedupKey: in.DedupKey, Status: Firing}
	resolved := p.resolved
	open, found, err := getOpen(ctx, tx, fp)
	if err != nil {
		return r, err
	}
	if found && open.endsAt != nil && !open.endsAt.After(now) {
		// Its endsAt passed before the sweep got to it: it resolved then.
		if err := s.expire(ctx, tx, open.id, *open.endsAt, now); err != nil {
			return r, err
		}
		found = false
	}
	switch {
	case in.Acknowledge:
		if !found {
			r.Status = Resolved
			return r, nil
		}
		r.ID = open.id
		if open.acknowledged {
			return r, nil
		}
		if err := acknowledgeAlert(ctx, tx, open.id, now); err != nil {
			return r, err
		}
		return r, insertEvent(ctx, tx, open.id, now, EventAcknowledged, o.actor, o.integration, nil)
	case resolved:
		r.Status = Resolved
		if !found {
			return r, nil // nothing open: a resolve of an alert never seen, or seen resolved
		}
		r.ID = open.id
		end := now
		if !in.EndsAt.IsZero() && !in.EndsAt.After(now) {
			end = in.EndsAt
		}
		if err := resolveAlert(ctx, tx, open.id, end, now); err != nil {
			return r, err
		}
		return r, insertEvent(ctx, tx, open.id, now, EventResolved, o.actor, o.integration, nil)
	}
	endsAt, summary, severity, annotations := p.endsAt, p.summary, p.severity, p.annotations
	if found {
		r.ID = open.id
		if err := refreshAlert(ctx, tx, open.id, now, endsAt, severity, summary, annotations, in.GeneratorURL); err != nil {
			return r, err
		}
		// A refresh that changes nothing leaves no history row: Prometheus
		// re-sends every alert every minute.
		var changed []string
		if open.annots != annotations {
			changed = append(changed, "annotations")
		}
		if open.severity != severity {
			changed = append(changed, "severity")
		}
		if open.summary != summary {
			changed = append(changed, "summary")
		}
		if len(changed) == 0 {
			return r, nil
		}
		return r, insertEvent(ctx, tx, open.id, now, EventRefreshed, o.actor, o.integration, map[string]any{"changed": changed})
	}
	starts := in.StartsAt
	if starts.IsZero() {
		starts = now
	}
	r.ID = db.NewID()
	err = insertAlert(ctx, tx, row{id: r.ID, integrationID: o.integration, serviceID: svc, fingerprint: fp, severity: severity,
		summary: summary, labels: marshalMap(in.Labels), annotations: annotations, source: o.source, dedupKey: in.DedupKey,
		generatorURL: in.GeneratorURL, startsAt: starts.UTC(), now: now, endsAt: endsAt})
	if err != nil {
		return r, err
	}
	kind, detail := EventFired, map[string]any(nil)
	prev, prevEnd, err := lastResolved(ctx, tx, fp)
	if err != nil {
		return r, err
	}
	if prev != uuid.Nil {
		kind = EventRefired
		detail = map[string]any{"previous": prev.String()}
		if prevEnd != nil && now.Sub(*prevEnd) < s.opts.FlapWindow {
			detail["flapping"] = true
			detail["resolved_for"] = now.Sub(*prevEnd).Round(time.Second).String()
		}
	}
	return r, insertEvent(ctx, tx, r.ID, now, kind, o.actor, o.integration, detail)
}

// expire resolves an alert whose endsAt passed without a refresh.
func (s *Service) expire(ctx context.Context, tx *sql.Tx, id uuid.UUID, endsAt, now time.Time) error {
	if err := resolveAlert(ctx, tx, id, endsAt, now); err != nil {
		return err
	}
	return insertEvent(ctx, tx, id, now, EventExpired, "system", uuid.Nil, map[string]any{"ends_at": endsAt.UTC().Format(time.RFC3339)})
}

// marshalMap returns the JSON of m with sorted keys, byte for byte what
// json.Marshal writes (the same set is the same text, which ingestion
// compares with what is stored), without its reflection: every ingested
// alert's annotations are encoded.
func marshalMap(m map[string]string) string {
	if len(m) == 0 {
		return "{}"
	}
	var buf [16]string
	keys := sortedKeys(m, buf[:0])
	n := 2
	for _, k := range keys {
		n += len(k) + len(m[k]) + 6
	}
	b := make([]byte, 0, n)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, k)
		b = append(b, ':')
		b = appendJSONString(b, m[k])
	}
	b = append(b, '}')
	return string(b)
}

// appendJSONString appends s as a JSON string exactly as encoding/json
// writes it: printable ASCII other than the characters it escapes is
// copied; anything else goes through encoding/json.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // a string always marshals
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
