package alert

import (
	"context"
	"database/sql"
	"encoding/json"
	"maps"
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
func (s *Service) Ingest(ctx context.Context, it Integration, alerts []Incoming, field string) ([]Received, error) {
	if len(alerts) > MaxAlertsPerPost {
		return nil, errs.Invalidf(field, "at most %d alerts per request", MaxAlertsPerPost)
	}
	now := s.clock.Now()
	if err := s.validateAll(alerts, field, now); err != nil {
		return nil, err
	}
	o := integrationOrigin(it)
	var out []Received
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		err = s.db.InTx(ctx, func(tx *sql.Tx) error {
			if err := touchIntegration(ctx, tx, it.ID, now); err != nil {
				return err
			}
			out, err = s.ingestTx(ctx, tx, o, alerts, now)
			return err
		})
		// Two replicas opening the same alert at once: one wins the unique
		// index, the other retries and refreshes it.
		if !db.IsUniqueViolation(err) {
			break
		}
	}
	return out, err
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

// ingestTx applies each alert in order (a batch may name one alert twice).
func (s *Service) ingestTx(ctx context.Context, tx *sql.Tx, o origin, alerts []Incoming, now time.Time) ([]Received, error) {
	out := make([]Received, 0, len(alerts))
	services := map[string]uuid.UUID{}
	for i := range alerts {
		in := &alerts[i]
		svc, err := s.serviceOf(ctx, tx, o, in, services)
		if err != nil {
			return nil, err
		}
		r, err := s.apply(ctx, tx, o, in, svc, now)
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

// apply fires, refreshes, resolves or acknowledges one alert.
func (s *Service) apply(ctx context.Context, tx *sql.Tx, o origin, in *Incoming, svc uuid.UUID, now time.Time) (Received, error) {
	fp := Fingerprint(in.Labels)
	if in.DedupKey != "" {
		fp = DedupFingerprint(o.scope, in.DedupKey)
	}
	r := Received{Fingerprint: fp, DedupKey: in.DedupKey, Status: Firing}
	resolved := in.Resolve || !in.EndsAt.IsZero() && !in.EndsAt.After(now)
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
	var endsAt *time.Time
	if !in.EndsAt.IsZero() {
		endsAt = &in.EndsAt
	} else if o.autoResolve && !in.KeepOpen {
		t := now.Add(s.opts.ResolveTimeout)
		endsAt = &t
	}
	summary, severity := in.Summary, in.Severity
	if summary == "" {
		summary = truncate(firstNonEmpty(in.Annotations["summary"], in.Labels["alertname"]), MaxSummary)
	}
	if severity == "" {
		severity = truncate(in.Labels["severity"], MaxSeverity)
	}
	annotations := marshalMap(in.Annotations)
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

func marshalMap(m map[string]string) string {
	if len(m) == 0 {
		return "{}"
	}
	b, _ := json.Marshal(maps.Clone(m)) // sorted keys: the same set is the same text
	return string(b)
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
