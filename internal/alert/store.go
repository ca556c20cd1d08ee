package alert

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"groundcrew.dev/groundcrew/internal/db"
	"groundcrew.dev/groundcrew/internal/errs"
)

func insertIntegration(ctx context.Context, tx *sql.Tx, it Integration, hash string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO alert_integrations (id, name, type, service_id, team_id, key_hash, key_prefix, created_by, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, it.ID, it.Name, it.Type, nullID(it.serviceID), nullID(it.teamID), hash, it.KeyPrefix, it.CreatedBy, it.CreatedAt)
	if db.IsUniqueViolation(err) {
		return errs.Invalidf("name", "an integration called %q already exists", it.Name)
	}
	if err != nil {
		return fmt.Errorf("create integration: %w", err)
	}
	return nil
}

// listIntegrations reads integrations matching where (a clause on "i").
func listIntegrations(ctx context.Context, q db.Querier, where string, args []any) ([]Integration, error) {
	rows, err := q.QueryContext(ctx, `SELECT i.id, i.name, i.type, COALESCE(s.name, ''), COALESCE(t.name, ''), i.key_prefix, i.created_by,
		i.created_at, i.revoked_at, i.last_used_at, i.service_id, i.team_id, s.owner_team_id
		FROM alert_integrations i LEFT JOIN services s ON s.id = i.service_id LEFT JOIN teams t ON t.id = i.team_id `+where+` ORDER BY i.name`, args...)
	if err != nil {
		return nil, fmt.Errorf("list integrations: %w", err)
	}
	defer rows.Close()
	out := []Integration{}
	for rows.Next() {
		var it Integration
		var revoked, used sql.NullTime
		var svc, team, owner uuid.NullUUID
		if err := rows.Scan(&it.ID, &it.Name, &it.Type, &it.Service, &it.Team, &it.KeyPrefix, &it.CreatedBy,
			&it.CreatedAt, &revoked, &used, &svc, &team, &owner); err != nil {
			return nil, fmt.Errorf("list integrations: %w", err)
		}
		it.CreatedAt = it.CreatedAt.UTC()
		it.RevokedAt, it.LastUsedAt = nullTime(revoked), nullTime(used)
		it.serviceID, it.teamID, it.serviceOwner = svc.UUID, team.UUID, owner.UUID
		out = append(out, it)
	}
	return out, rows.Err()
}

// touchIntegration records that an integration was used, at most once a
// minute, so that a busy key does not turn every request into two writes.
func touchIntegration(ctx context.Context, tx *sql.Tx, id uuid.UUID, now time.Time) error {
	_, err := tx.ExecContext(ctx, `UPDATE alert_integrations SET last_used_at = $2 WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $3)`,
		id, now, now.Add(-time.Minute))
	if err != nil {
		return fmt.Errorf("record integration use: %w", err)
	}
	return nil
}

const alertColumns = `a.id, a.fingerprint, a.status, a.severity, a.summary, a.labels, a.annotations, a.source,
	COALESCE(i.name, ''), COALESCE(s.name, ''), a.dedup_key, a.generator_url, a.starts_at, a.ends_at, a.last_seen_at,
	a.refresh_count, a.acknowledged_at
	FROM alerts a LEFT JOIN alert_integrations i ON i.id = a.integration_id LEFT JOIN services s ON s.id = a.service_id`

func scanAlert(sc interface{ Scan(...any) error }) (Alert, error) {
	var a Alert
	var labels, annotations string
	var ends, acked sql.NullTime
	if err := sc.Scan(&a.ID, &a.Fingerprint, &a.Status, &a.Severity, &a.Summary, &labels, &annotations, &a.Source,
		&a.Integration, &a.Service, &a.DedupKey, &a.GeneratorURL, &a.StartsAt, &ends, &a.LastSeenAt, &a.RefreshCount, &acked); err != nil {
		return a, err
	}
	a.StartsAt, a.LastSeenAt = a.StartsAt.UTC(), a.LastSeenAt.UTC()
	a.EndsAt, a.AcknowledgedAt = nullTime(ends), nullTime(acked)
	if err := json.Unmarshal([]byte(labels), &a.Labels); err != nil {
		return a, fmt.Errorf("alert %s labels: %w", a.ID, err)
	}
	if err := json.Unmarshal([]byte(annotations), &a.Annotations); err != nil {
		return a, fmt.Errorf("alert %s annotations: %w", a.ID, err)
	}
	if len(a.Annotations) == 0 {
		a.Annotations = nil
	}
	return a, nil
}

// openAlert is what ingestion needs of the open alert of a fingerprint.
type openAlert struct {
	id                        uuid.UUID
	endsAt                    *time.Time
	severity, summary, annots string
	generatorURL              string
	acknowledged              bool
}

func getOpen(ctx context.Context, tx *sql.Tx, fingerprint string) (openAlert, bool, error) {
	var o openAlert
	var ends, acked sql.NullTime
	err := tx.QueryRowContext(ctx, `SELECT id, ends_at, severity, summary, annotations, generator_url, acknowledged_at FROM alerts
		WHERE fingerprint = $1 AND `+openFingerprint+` = 1`, fingerprint).Scan(&o.id, &ends, &o.severity, &o.summary, &o.annots, &o.generatorURL, &acked)
	if db.IsNoRows(err) {
		return o, false, nil
	}
	if err != nil {
		return o, false, fmt.Errorf("read open alert: %w", err)
	}
	o.endsAt, o.acknowledged = nullTime(ends), acked.Valid
	return o, true, nil
}

// lastResolved returns the newest resolved alert of a fingerprint.
func lastResolved(ctx context.Context, tx *sql.Tx, fingerprint string) (uuid.UUID, *time.Time, error) {
	var id uuid.UUID
	var ends sql.NullTime
	err := tx.QueryRowContext(ctx, `SELECT id, ends_at FROM alerts WHERE fingerprint = $1 AND status || '' = 'resolved'
		ORDER BY starts_at DESC, id DESC LIMIT 1`, fingerprint).Scan(&id, &ends)
	if db.IsNoRows(err) {
		return uuid.Nil, nil, nil
	}
	if err != nil {
		return uuid.Nil, nil, fmt.Errorf("read resolved alert: %w", err)
	}
	return id, nullTime(ends), nil
}

// row is an alert to insert.
type row struct {
	id, integrationID, serviceID uuid.UUID
	fingerprint, severity        string
	summary, labels, annotations string
	source                       Source
	dedupKey, generatorURL       string
	startsAt, now                time.Time
	endsAt                       *time.Time
}

func insertAlert(ctx context.Context, tx *sql.Tx, r row) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO alerts (id, fingerprint, status, severity, summary, labels, annotations, source,
		integration_id, service_id, dedup_key, generator_url, starts_at, ends_at, last_seen_at, refresh_count, created_at)
		VALUES ($1, $2, 'firing', $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, 1, $14)`,
		r.id, r.fingerprint, r.severity, r.summary, r.labels, r.annotations, r.source, nullID(r.integrationID), nullID(r.serviceID),
		r.dedupKey, r.generatorURL, r.startsAt, r.endsAt, r.now)
	if err != nil {
		return fmt.Errorf("insert alert: %w", err)
	}
	return queueDispatch(ctx, tx, r.id)
}

func refreshAlert(ctx context.Context, tx *sql.Tx, id uuid.UUID, now time.Time, endsAt *time.Time, severity, summary, annotations, generatorURL string) error {
	if err := updateRefresh(ctx, tx, id, now, endsAt, severity, summary, annotations, generatorURL); err != nil {
		return err
	}
	return queueDispatch(ctx, tx, id)
}

// updateRefresh writes a refresh of an open alert; the caller queues it
// for the dispatcher.
func updateRefresh(ctx context.Context, tx *sql.Tx, id uuid.UUID, now time.Time, endsAt *time.Time, severity, summary, annotations, generatorURL string) error {
	_, err := tx.ExecContext(ctx, `UPDATE alerts SET last_seen_at = $2, refresh_count = refresh_count + 1, ends_at = $3,
		severity = $4, summary = $5, annotations = $6, generator_url = $7 WHERE id = $1`, id, now, endsAt, severity, summary, annotations, generatorURL)
	if err != nil {
		return fmt.Errorf("refresh alert: %w", err)
	}
	return nil
}

// updateShown writes what a refresh changed that people or the
// dispatcher see, after touchOpen refreshed the alert; the caller queues
// it for the dispatcher.
func updateShown(ctx context.Context, tx *sql.Tx, id uuid.UUID, severity, summary, annotations, generatorURL string) error {
	_, err := tx.ExecContext(ctx, `UPDATE alerts SET severity = $2, summary = $3, annotations = $4, generator_url = $5 WHERE id = $1`,
		id, severity, summary, annotations, generatorURL)
	if err != nil {
		return fmt.Errorf("refresh alert: %w", err)
	}
	return nil
}

func resolveAlert(ctx context.Context, tx *sql.Tx, id uuid.UUID, endsAt, now time.Time) error {
	if err := resolveRow(ctx, tx, id, endsAt, now); err != nil {
		return err
	}
	return queueDispatch(ctx, tx, id)
}

// resolveRow resolves an open alert; the caller queues it for the
// dispatcher.
func resolveRow(ctx context.Context, tx *sql.Tx, id uuid.UUID, endsAt, now time.Time) error {
	_, err := tx.ExecContext(ctx, `UPDATE alerts SET status = 'resolved', ends_at = $2, last_seen_at = $3 WHERE id = $1`, id, endsAt, now)
	if err != nil {
		return fmt.Errorf("resolve alert: %w", err)
	}
	return nil
}

// acknowledgeAlert marks an open alert acknowledged. It leaves
// last_seen_at (when the alert was last received) alone: a refresh's
// lease held for the lease writer is written only over an older
// last_seen_at, and an acknowledgement from a person is no receipt.
func acknowledgeAlert(ctx context.Context, tx *sql.Tx, id uuid.UUID, now time.Time) error {
	_, err := tx.ExecContext(ctx, `UPDATE alerts SET acknowledged_at = $2 WHERE id = $1 AND acknowledged_at IS NULL`, id, now)
	if err != nil {
		return fmt.Errorf("acknowledge alert: %w", err)
	}
	return nil
}

func insertEvent(ctx context.Context, tx *sql.Tx, alertID uuid.UUID, at time.Time, kind EventKind, actor string, integrationID uuid.UUID, detail map[string]any) error {
	d := "{}"
	if len(detail) > 0 {
		b, err := json.Marshal(detail)
		if err != nil {
			return fmt.Errorf("alert event detail: %w", err)
		}
		d = string(b)
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO alert_events (id, alert_id, at, kind, actor, integration_id, detail) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		db.NewID(), alertID, at, kind, actor, nullID(integrationID), d)
	if err != nil {
		return fmt.Errorf("insert alert event: %w", err)
	}
	return nil
}

func listEvents(ctx context.Context, q db.Querier, alertID uuid.UUID) ([]Event, error) {
	rows, err := q.QueryContext(ctx, `SELECT e.id, e.at, e.kind, e.actor, COALESCE(i.name, ''), e.detail FROM alert_events e
		LEFT JOIN alert_integrations i ON i.id = e.integration_id WHERE e.alert_id = $1 ORDER BY e.at, e.id LIMIT 1000`, alertID)
	if err != nil {
		return nil, fmt.Errorf("alert history: %w", err)
	}
	defer rows.Close()
	out := []Event{}
	for rows.Next() {
		var e Event
		var detail string
		if err := rows.Scan(&e.ID, &e.At, &e.Kind, &e.Actor, &e.Integration, &detail); err != nil {
			return nil, fmt.Errorf("alert history: %w", err)
		}
		e.At = e.At.UTC()
		if detail != "" && detail != "{}" {
			if err := json.Unmarshal([]byte(detail), &e.Detail); err != nil {
				return nil, fmt.Errorf("alert history detail: %w", err)
			}
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// Filter selects and pages alerts.
type Filter struct {
	Status   Status
	Service  string // a catalog service name
	Severity string
	// Label is a matcher "name=value" (only equality for now).
	Label string
	After string // cursor: alerts with a smaller id (older) than this one
	Limit int    // default 100, at most 1000
}

func listAlerts(ctx context.Context, q db.Querier, f Filter) ([]Alert, string, error) {
	if f.Limit <= 0 {
		f.Limit = 100
	}
	f.Limit = min(f.Limit, 1000)
	var w db.Where
	if f.Status != "" {
		w.Add("a.status = ?", f.Status)
	}
	if f.Service != "" {
		w.Add("s.name = ?", f.Service)
	}
	if f.Severity != "" {
		w.Add("a.severity = ?", f.Severity)
	}
	var lname, lvalue string
	if f.Label != "" {
		var ok bool
		lname, lvalue, ok = strings.Cut(f.Label, "=")
		lname, lvalue = strings.TrimSpace(lname), strings.Trim(strings.TrimSpace(lvalue), `"`)
		if !ok || !ValidLabelName(lname) {
			return nil, "", errs.Invalidf("label", "%q is not a matcher name=value", truncate(f.Label, 100))
		}
		// Labels are stored as JSON with sorted keys; the exact match is
		// checked below (SQLite's LIKE ignores ASCII case).
		frag, _ := json.Marshal(map[string]string{lname: lvalue})
		w.Add(`a.labels LIKE ? ESCAPE '\'`, "%"+likeEscape(strings.Trim(string(frag), "{}"))+"%")
	}
	if f.After != "" {
		id, err := uuid.Parse(f.After)
		if err != nil {
			return nil, "", errs.Invalidf("cursor", "is not a cursor this API returned")
		}
		w.Add("a.id < ?", id)
	}
	rows, err := q.QueryContext(ctx, `SELECT `+alertColumns+w.SQL()+` ORDER BY a.id DESC LIMIT `+w.Next(f.Limit+1), w.Args...)
	if err != nil {
		return nil, "", fmt.Errorf("list alerts: %w", err)
	}
	defer rows.Close()
	var scanned []Alert
	for rows.Next() {
		a, err := scanAlert(rows)
		if err != nil {
			return nil, "", fmt.Errorf("list alerts: %w", err)
		}
		scanned = append(scanned, a)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("list alerts: %w", err)
	}
	next := ""
	if len(scanned) > f.Limit {
		scanned = scanned[:f.Limit]
		next = scanned[f.Limit-1].ID.String()
	}
	out := []Alert{}
	for _, a := range scanned {
		if lname != "" {
			if v, ok := a.Labels[lname]; !ok || v != lvalue {
				continue
			}
		}
		out = append(out, a)
	}
	return out, next, nil
}

func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

func nullID(id uuid.UUID) any {
	if id == uuid.Nil {
		return nil
	}
	return id
}

func nullTime(t sql.NullTime) *time.Time {
	if !t.Valid {
		return nil
	}
	u := t.Time.UTC()
	return &u
}
