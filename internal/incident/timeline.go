package incident

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/google/uuid"

	"groundcrew.dev/groundcrew/internal/db"
	"groundcrew.dev/groundcrew/internal/errs"
	"groundcrew.dev/groundcrew/internal/identity"
)

// The kinds of timeline entry this package writes.
const (
	KindDeclared          = "declared"
	KindTitleChanged      = "title_changed"
	KindSeverityChanged   = "severity_changed"
	KindStatusChanged     = "status_changed"
	KindSummaryChanged    = "summary_changed"
	KindRoleAssigned      = "role_assigned"
	KindRoleUnassigned    = "role_unassigned"
	KindServiceAdded      = "service_added"
	KindServiceRemoved    = "service_removed"
	KindNote              = "note"
	KindStatusUpdate      = "status_update_posted"
	KindAcknowledged      = "acknowledged"
	KindPostmortem        = "postmortem"
	KindActionItemAdded   = "action_item_added"
	KindActionItemChanged = "action_item_changed"
)

// The kinds of timeline entry other domains add through RecordForServicesTx
// (any kind matching [a-z][a-z0-9_]* is accepted; these are the known ones).
const (
	KindAlertFired         = "alert_fired"
	KindAlertResolved      = "alert_resolved"
	KindPageOpened         = "page_opened"
	KindPageAcknowledged   = "page_acknowledged"
	KindCheckStateChanged  = "check_state_changed"
	KindAccessGranted      = "access_granted"
	KindPageEscalated      = "page_escalated"
	KindPageResolved       = "page_resolved"
	KindAlertAttached      = "alert_attached"
	KindAccessGrantRevoked = "access_revoked"
)

var entryKind = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)

// Entry is one line of an incident's timeline. Entries are append-only.
type Entry struct {
	ID   uuid.UUID `json:"id"`
	Seq  int64     `json:"seq" doc:"the order entries were added in"`
	At   time.Time `json:"at" doc:"when it happened"`
	Kind string    `json:"kind" doc:"declared, status_changed, note, alert_fired, page_acknowledged, …"`
	// Actor is who did it: a user's name, or "system".
	Actor  string         `json:"actor"`
	Text   string         `json:"text"`
	Detail map[string]any `json:"detail,omitempty" doc:"structured facts: ids, old and new values"`
}

// validate checks an entry a hook adds and fills its defaults: now for a
// zero At, "system" for an empty Actor.
func (e *Entry) validate(now time.Time) error {
	if !entryKind.MatchString(e.Kind) {
		return errs.Invalidf("kind", "%q is not an entry kind: lowercase letters, digits and _", e.Kind)
	}
	if strings.TrimSpace(e.Text) == "" {
		return errs.Invalidf("text", "is required")
	}
	if err := checkText("text", e.Text); err != nil {
		return err
	}
	if e.At.IsZero() {
		e.At = now
	}
	if e.Actor == "" {
		e.Actor = "system"
	}
	return nil
}

// actorName returns who acts in ctx as the timeline names them.
func actorName(ctx context.Context) string {
	if a := identity.ActorFrom(ctx); a != nil && a.Name != "" {
		return a.Name
	}
	return "system"
}

// appendEntry adds e to the timeline of incident id in tx. Bumping the
// incident's timeline_seq gives the entry its seq and serializes writers of
// the same incident.
func appendEntry(ctx context.Context, tx *sql.Tx, id uuid.UUID, e Entry) (Entry, error) {
	if err := tx.QueryRowContext(ctx, `UPDATE incidents SET timeline_seq = timeline_seq + 1 WHERE id = $1 RETURNING timeline_seq`, id).Scan(&e.Seq); err != nil {
		return e, fmt.Errorf("timeline: %w", err)
	}
	e.ID = db.NewID()
	e.At = e.At.UTC().Truncate(time.Microsecond)
	detail := "{}"
	if len(e.Detail) > 0 {
		b, err := json.Marshal(e.Detail)
		if err != nil {
			return e, fmt.Errorf("timeline detail: %w", err)
		}
		detail = string(b)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO incident_timeline (id, incident_id, seq, at, kind, actor, text, detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		e.ID, id, e.Seq, e.At, e.Kind, e.Actor, e.Text, detail); err != nil {
		return e, fmt.Errorf("timeline: %w", err)
	}
	return e, nil
}

// listEntries returns the timeline of incident id, oldest first.
func listEntries(ctx context.Context, q db.Querier, id uuid.UUID) ([]Entry, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, seq, at, kind, actor, text, detail FROM incident_timeline WHERE incident_id = $1 ORDER BY at, seq`, id)
	if err != nil {
		return nil, fmt.Errorf("timeline: %w", err)
	}
	defer rows.Close()
	out := []Entry{}
	for rows.Next() {
		var e Entry
		var detail string
		if err := rows.Scan(&e.ID, &e.Seq, &e.At, &e.Kind, &e.Actor, &e.Text, &detail); err != nil {
			return nil, fmt.Errorf("timeline: %w", err)
		}
		e.At = e.At.UTC()
		if detail != "" && detail != "{}" {
			if err := json.Unmarshal([]byte(detail), &e.Detail); err != nil {
				return nil, fmt.Errorf("timeline detail: %w", err)
			}
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// NoteInput adds a note to the timeline.
type NoteInput struct {
	Text string `json:"text" maxLength:"10000"`
}

// AddNote adds a note to incident number's timeline. Anyone who may change
// something in groundcrew (members and up, with a write credential) may
// add notes to any incident: responders from other teams bring facts.
func (s *Service) AddNote(ctx context.Context, number int64, in NoteInput) (Entry, error) {
	if err := identity.AuthorizeWriter(ctx); err != nil {
		return Entry{}, err
	}
	if strings.TrimSpace(in.Text) == "" {
		return Entry{}, errs.Invalidf("text", "is required")
	}
	if err := checkText("text", in.Text); err != nil {
		return Entry{}, err
	}
	var e Entry
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		id, err := incidentID(ctx, tx, number)
		if err != nil {
			return err
		}
		e, err = appendEntry(ctx, tx, id, Entry{At: s.clock.Now(), Kind: KindNote, Actor: actorName(ctx), Text: strings.TrimSpace(in.Text)})
		return err
	})
	return e, err
}

// Timeline returns incident number's timeline, oldest first.
func (s *Service) Timeline(ctx context.Context, number int64) ([]Entry, error) {
	if err := identity.Authorize(ctx, identity.PermRead, uuid.Nil); err != nil {
		return nil, err
	}
	id, err := incidentID(ctx, s.db.Reader(), number)
	if err != nil {
		return nil, err
	}
	return listEntries(ctx, s.db.Reader(), id)
}

// RecordForServicesTx appends e to the timeline of every open incident
// that affects any of services, in the caller's transaction, and returns
// the numbers of the incidents it touched (ascending; none is not an
// error). It is the hook through which alerts, pages, checks and access
// grants reach incident timelines: e.Kind is one of the Kind… constants
// (or another [a-z][a-z0-9_]* word), e.Text the line people read, e.Detail
// structured facts (ids), e.Actor who did it (default "system") and e.At
// when (default now). The caller authorizes; this does not.
func (s *Service) RecordForServicesTx(ctx context.Context, tx *sql.Tx, services []string, e Entry) ([]int64, error) {
	if err := e.validate(s.clock.Now()); err != nil {
		return nil, err
	}
	if len(services) == 0 {
		return []int64{}, nil
	}
	var w db.Where
	w.AddPlain("i.status <> 'resolved'")
	ph := make([]string, len(services))
	for i, svc := range services {
		ph[i] = w.Next(svc)
	}
	w.AddPlain("isv.service IN (" + strings.Join(ph, ", ") + ")")
	rows, err := tx.QueryContext(ctx, `SELECT DISTINCT i.id, i.number FROM incidents i JOIN incident_services isv ON isv.incident_id = i.id`+w.SQL()+` ORDER BY i.number`, w.Args...)
	if err != nil {
		return nil, fmt.Errorf("open incidents of services: %w", err)
	}
	type hit struct {
		id     uuid.UUID
		number int64
	}
	var hits []hit
	for rows.Next() {
		var h hit
		if err := rows.Scan(&h.id, &h.number); err != nil {
			rows.Close()
			return nil, fmt.Errorf("open incidents of services: %w", err)
		}
		hits = append(hits, h)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("open incidents of services: %w", err)
	}
	out := []int64{}
	for _, h := range hits {
		if _, err := appendEntry(ctx, tx, h.id, e); err != nil {
			return nil, err
		}
		out = append(out, h.number)
	}
	return out, nil
}

// TimelineText renders entries as lines "2026-03-30 10:04 UTC  ana  text",
// the way a postmortem copies them.
func TimelineText(entries []Entry) string {
	var b strings.Builder
	for _, e := range entries {
		fmt.Fprintf(&b, "%s  %s  %s\n", e.At.UTC().Format("2006-01-02 15:04 MST"), e.Actor, e.Text)
	}
	return b.String()
}
