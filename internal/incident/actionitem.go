package incident

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"groundcrew.dev/groundcrew/internal/db"
	"groundcrew.dev/groundcrew/internal/errs"
	"groundcrew.dev/groundcrew/internal/identity"
	"groundcrew.dev/groundcrew/internal/names"
)

// The statuses of an action item.
const (
	ActionOpen = "open"
	ActionDone = "done"
)

// dateLayout is how due dates are written.
const dateLayout = "2006-01-02"

// ActionItem is a follow-up of a postmortem, owned by a team and due on
// a date, tracked to done.
type ActionItem struct {
	ID          uuid.UUID  `json:"id"`
	Incident    int64      `json:"incident" doc:"the incident's number"`
	IncidentKey string     `json:"incident_key" doc:"INC-7"`
	Title       string     `json:"title"`
	Team        string     `json:"team" doc:"the owning team"`
	Due         string     `json:"due" doc:"YYYY-MM-DD"`
	Status      string     `json:"status" enum:"open,done"`
	Overdue     bool       `json:"overdue" doc:"open and due before today (UTC)"`
	DoneBy      string     `json:"done_by,omitempty"`
	DoneAt      *time.Time `json:"done_at,omitempty"`
	CreatedBy   string     `json:"created_by"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
}

// ActionItemInput adds an action item.
type ActionItemInput struct {
	Title string `json:"title" maxLength:"200"`
	Team  string `json:"team" maxLength:"63" doc:"the owning team; must exist"`
	Due   string `json:"due" maxLength:"10" doc:"YYYY-MM-DD, today or later"`
}

// ActionItemUpdate changes an action item; empty fields stay as they are.
type ActionItemUpdate struct {
	Title  string `json:"title,omitempty" maxLength:"200"`
	Team   string `json:"team,omitempty" maxLength:"63"`
	Due    string `json:"due,omitempty" maxLength:"10" doc:"YYYY-MM-DD"`
	Status string `json:"status,omitempty" enum:"open,done" doc:"done records who and when; open re-opens it"`
}

// ActionItemFilter narrows a list of action items.
type ActionItemFilter struct {
	Team     string // owning team
	Status   string // open or done; empty: both
	Overdue  bool   // only open items due before today
	Incident int64  // only this incident's
	After    string // cursor
	Limit    int    // default 100, at most 1000

	incidentID uuid.UUID
}

func checkDue(field, due string) (time.Time, error) {
	d, err := time.Parse(dateLayout, due)
	if err != nil {
		return d, errs.Invalidf(field, "%q is not a date such as 2026-04-30", due)
	}
	return d, nil
}

// today is the current date in UTC, as due dates are compared.
func (s *Service) today() string { return s.clock.Now().UTC().Format(dateLayout) }

// AddActionItem adds an action item to incident number's postmortem (the
// postmortem need not exist yet).
func (s *Service) AddActionItem(ctx context.Context, number int64, in ActionItemInput) (ActionItem, error) {
	if err := identity.AuthorizeWriter(ctx); err != nil {
		return ActionItem{}, err
	}
	if err := checkLine("title", in.Title, MaxTitle, true); err != nil {
		return ActionItem{}, err
	}
	if err := names.Check("team", in.Team); err != nil {
		return ActionItem{}, err
	}
	if _, err := checkDue("due", in.Due); err != nil {
		return ActionItem{}, err
	}
	if in.Due < s.today() {
		return ActionItem{}, errs.Invalidf("due", "%s is in the past", in.Due)
	}
	var out ActionItem
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		id, err := incidentID(ctx, tx, number)
		if err != nil {
			return err
		}
		if err := authorizeWrite(ctx, tx, id, number); err != nil {
			return err
		}
		team, err := s.dir.TeamID(ctx, tx, "team", in.Team)
		if err != nil {
			return err
		}
		now, who := s.now(), actorName(ctx)
		item := ActionItem{ID: db.NewID(), Title: strings.TrimSpace(in.Title), Due: in.Due, Status: ActionOpen, CreatedBy: who, CreatedAt: now, UpdatedAt: now}
		if _, err := tx.ExecContext(ctx, `INSERT INTO incident_action_items (id, incident_id, title, owner_team_id, due_date, status, created_by, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)`, item.ID, id, item.Title, team, item.Due, item.Status, who, now); err != nil {
			return fmt.Errorf("add action item: %w", err)
		}
		if _, err := appendEntry(ctx, tx, id, Entry{At: now, Kind: KindActionItemAdded, Actor: who,
			Text:   fmt.Sprintf("Action item for team %s, due %s: %s", in.Team, in.Due, item.Title),
			Detail: map[string]any{"action_item": item.ID.String(), "team": in.Team, "due": in.Due}}); err != nil {
			return err
		}
		if out, err = s.getActionItem(ctx, tx, item.ID); err != nil {
			return err
		}
		return s.record(ctx, tx, "create", "action-item", out.ID, out.IncidentKey+": "+out.Title, nil, out)
	})
	return out, err
}

// UpdateActionItem changes action item id. Whoever may change its
// incident may change it, and so may members of its owner team.
func (s *Service) UpdateActionItem(ctx context.Context, id uuid.UUID, in ActionItemUpdate) (ActionItem, error) {
	if err := identity.AuthorizeWriter(ctx); err != nil {
		return ActionItem{}, err
	}
	if in.Title != "" {
		if err := checkLine("title", in.Title, MaxTitle, true); err != nil {
			return ActionItem{}, err
		}
	}
	if in.Due != "" {
		if _, err := checkDue("due", in.Due); err != nil {
			return ActionItem{}, err
		}
	}
	if in.Status != "" && in.Status != ActionOpen && in.Status != ActionDone {
		return ActionItem{}, errs.Invalidf("status", "%q is not open or done", in.Status)
	}
	if in == (ActionItemUpdate{}) {
		return ActionItem{}, errs.Invalidf("status", "nothing to change: give a title, team, due date or status")
	}
	var out ActionItem
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		before, err := s.getActionItem(ctx, tx, id)
		if err != nil {
			return err
		}
		var incID, team uuid.UUID
		if err := tx.QueryRowContext(ctx, `SELECT incident_id, owner_team_id FROM incident_action_items WHERE id = $1`, id).Scan(&incID, &team); err != nil {
			return fmt.Errorf("action item: %w", err)
		}
		if a := identity.ActorFrom(ctx); !a.Can(identity.PermWriteOwned, team) {
			if err := authorizeWrite(ctx, tx, incID, before.Incident); err != nil {
				return err
			}
		}
		after := before
		if in.Team != "" && in.Team != before.Team {
			if team, err = s.dir.TeamID(ctx, tx, "team", in.Team); err != nil {
				return err
			}
			after.Team = in.Team
		}
		if t := strings.TrimSpace(in.Title); t != "" {
			after.Title = t
		}
		if in.Due != "" {
			after.Due = in.Due
		}
		now, who := s.now(), actorName(ctx)
		var changes []string
		if in.Status != "" && in.Status != before.Status {
			after.Status = in.Status
			if in.Status == ActionDone {
				after.DoneBy, after.DoneAt = who, &now
				changes = append(changes, "done")
			} else {
				after.DoneBy, after.DoneAt = "", nil
				changes = append(changes, "re-opened")
			}
		}
		if after.Team != before.Team {
			changes = append(changes, "team "+after.Team)
		}
		if after.Due != before.Due {
			changes = append(changes, "due "+after.Due)
		}
		if after.Title != before.Title {
			changes = append(changes, fmt.Sprintf("title %q", after.Title))
		}
		if len(changes) == 0 {
			out = before
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE incident_action_items SET title = $2, owner_team_id = $3, due_date = $4, status = $5,
			done_by = $6, done_at = $7, updated_at = $8 WHERE id = $1`, id, after.Title, team, after.Due, after.Status, after.DoneBy, timeOrNil(after.DoneAt), now); err != nil {
			return fmt.Errorf("update action item: %w", err)
		}
		if _, err := appendEntry(ctx, tx, incID, Entry{At: now, Kind: KindActionItemChanged, Actor: who,
			Text:   fmt.Sprintf("Action item %q: %s", before.Title, strings.Join(changes, ", ")),
			Detail: map[string]any{"action_item": id.String(), "status": after.Status}}); err != nil {
			return err
		}
		if out, err = s.getActionItem(ctx, tx, id); err != nil {
			return err
		}
		return s.record(ctx, tx, "update", "action-item", id, out.IncidentKey+": "+out.Title, before, out)
	})
	return out, err
}

const actionItemColumns = `a.id, i.number, a.title, t.name, a.due_date, a.status, a.done_by, a.done_at, a.created_by, a.created_at, a.updated_at`

const actionItemFrom = ` FROM incident_action_items a JOIN incidents i ON i.id = a.incident_id JOIN teams t ON t.id = a.owner_team_id`

func (s *Service) scanActionItem(sc interface{ Scan(...any) error }) (ActionItem, error) {
	var a ActionItem
	var done sql.NullTime
	if err := sc.Scan(&a.ID, &a.Incident, &a.Title, &a.Team, &a.Due, &a.Status, &a.DoneBy, &done, &a.CreatedBy, &a.CreatedAt, &a.UpdatedAt); err != nil {
		return a, err
	}
	a.IncidentKey = Key(a.Incident)
	a.DoneAt = nullTime(done)
	a.CreatedAt, a.UpdatedAt = a.CreatedAt.UTC(), a.UpdatedAt.UTC()
	a.Overdue = a.Status == ActionOpen && a.Due < s.today()
	return a, nil
}

func (s *Service) getActionItem(ctx context.Context, q db.Querier, id uuid.UUID) (ActionItem, error) {
	a, err := s.scanActionItem(q.QueryRowContext(ctx, `SELECT `+actionItemColumns+actionItemFrom+` WHERE a.id = $1`, id))
	if db.IsNoRows(err) {
		return a, errs.NotFoundf("action item %s not found", id)
	}
	if err != nil {
		return a, fmt.Errorf("action item %s: %w", id, err)
	}
	return a, nil
}

// ListActionItems returns action items across incidents by due date, then
// id; next is the cursor of the next page or "".
func (s *Service) ListActionItems(ctx context.Context, f ActionItemFilter) ([]ActionItem, string, error) {
	if err := identity.Authorize(ctx, identity.PermRead, uuid.Nil); err != nil {
		return nil, "", err
	}
	if f.Status != "" && f.Status != ActionOpen && f.Status != ActionDone {
		return nil, "", errs.Invalidf("status", "%q is not open or done", f.Status)
	}
	if f.Incident > 0 {
		id, err := incidentID(ctx, s.db.Reader(), f.Incident)
		if err != nil {
			return nil, "", err
		}
		f.incidentID = id
	}
	return s.listActionItems(ctx, s.db.Reader(), f)
}

func (s *Service) listActionItems(ctx context.Context, q db.Querier, f ActionItemFilter) ([]ActionItem, string, error) {
	if f.Limit <= 0 {
		f.Limit = 100
	}
	f.Limit = min(f.Limit, 1000)
	var w db.Where
	if f.incidentID != uuid.Nil {
		w.Add("a.incident_id = ?", f.incidentID)
	}
	if f.Team != "" {
		w.Add("t.name = ?", f.Team)
	}
	if f.Status != "" {
		w.Add("a.status = ?", f.Status)
	}
	if f.Overdue {
		w.AddPlain("a.status = 'open'")
		w.Add("a.due_date < ?", s.today())
	}
	if f.After != "" {
		due, id, ok := strings.Cut(f.After, "|")
		uid, err := uuid.Parse(id)
		if !ok || err != nil {
			return nil, "", errs.Invalidf("cursor", "is not a cursor this API returned")
		}
		d := w.Next(due)
		w.AddPlain("(a.due_date > " + d + " OR (a.due_date = " + d + " AND a.id > " + w.Next(uid) + "))")
	}
	rows, err := q.QueryContext(ctx, `SELECT `+actionItemColumns+actionItemFrom+w.SQL()+` ORDER BY a.due_date, a.id LIMIT `+w.Next(f.Limit+1), w.Args...)
	if err != nil {
		return nil, "", fmt.Errorf("list action items: %w", err)
	}
	out, next, err := db.CollectPage(rows, f.Limit, func(r *sql.Rows) (ActionItem, error) { return s.scanActionItem(r) },
		func(a ActionItem) string { return a.Due + "|" + a.ID.String() })
	if err != nil {
		return nil, "", fmt.Errorf("list action items: %w", err)
	}
	if out == nil {
		out = []ActionItem{}
	}
	return out, next, nil
}
