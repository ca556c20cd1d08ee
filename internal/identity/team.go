package identity

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"groundcrew.dev/groundcrew/internal/db"
	"groundcrew.dev/groundcrew/internal/errs"
	"groundcrew.dev/groundcrew/internal/names"
)

// Team is a group of people that owns services and tools.
type Team struct {
	ID          uuid.UUID         `json:"id"`
	Name        string            `json:"name"`
	DisplayName string            `json:"display_name,omitempty"`
	Description string            `json:"description,omitempty"`
	Email       string            `json:"email,omitempty"`
	Chat        string            `json:"chat,omitempty"` // chat channel, e.g. "#payments"
	Members     []string          `json:"members"`        // user names, sorted
	Labels      map[string]string `json:"labels,omitempty"`
	Origin      string            `json:"origin,omitempty"`
	Revision    int64             `json:"revision"`
	CreatedAt   time.Time         `json:"created_at"`
	UpdatedAt   time.Time         `json:"updated_at"`
}

// TeamInput is what a caller may set on a team.
type TeamInput struct {
	Name        string            `json:"name,omitempty" doc:"required on create; fixed afterwards"`
	DisplayName string            `json:"display_name,omitempty"`
	Description string            `json:"description,omitempty"`
	Email       string            `json:"email,omitempty"`
	Chat        string            `json:"chat,omitempty"`
	Members     []string          `json:"members,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
}

// Validate reports the first invalid field of in.
func (in *TeamInput) Validate() error {
	if err := names.Check("name", in.Name); err != nil {
		return err
	}
	if len(in.DisplayName) > 200 {
		return errs.Invalidf("display_name", "must be at most 200 characters")
	}
	if len(in.Description) > 4000 {
		return errs.Invalidf("description", "must be at most 4000 characters")
	}
	for i, m := range in.Members {
		if err := names.Check(fmt.Sprintf("members[%d]", i), m); err != nil {
			return err
		}
	}
	return CheckLabels("labels", in.Labels)
}

// CheckLabels validates a label map: keys are names (optionally with a
// "prefix/" of a DNS name), values at most 253 characters.
func CheckLabels(field string, labels map[string]string) error {
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		key := k
		if i := strings.LastIndexByte(k, '/'); i > 0 {
			key = k[i+1:]
		}
		if !names.Valid(key) && !validLabelKey(key) {
			return errs.Invalidf(field+"."+k, "is not a valid label key")
		}
		if len(labels[k]) > 253 {
			return errs.Invalidf(field+"."+k, "value must be at most 253 characters")
		}
	}
	return nil
}

func validLabelKey(k string) bool {
	if k == "" || len(k) > 63 {
		return false
	}
	for _, r := range k {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}

const teamColumns = `id, name, display_name, description, email, chat, labels, origin, revision, created_at, updated_at`

func scanTeam(sc interface{ Scan(...any) error }) (Team, error) {
	var t Team
	var labels string
	err := sc.Scan(&t.ID, &t.Name, &t.DisplayName, &t.Description, &t.Email, &t.Chat, &labels, &t.Origin, &t.Revision, &t.CreatedAt, &t.UpdatedAt)
	if err != nil {
		return t, err
	}
	t.CreatedAt, t.UpdatedAt = t.CreatedAt.UTC(), t.UpdatedAt.UTC()
	if err := json.Unmarshal([]byte(labels), &t.Labels); err != nil {
		return t, fmt.Errorf("team %s labels: %w", t.Name, err)
	}
	if len(t.Labels) == 0 {
		t.Labels = nil
	}
	return t, nil
}

// GetTeamTx returns the team called name, with its members.
func (s *Service) GetTeamTx(ctx context.Context, q db.Querier, name string) (Team, error) {
	t, err := scanTeam(q.QueryRowContext(ctx, `SELECT `+teamColumns+` FROM teams WHERE name = $1`, name))
	if db.IsNoRows(err) {
		return t, errs.NotFoundf("team %q not found", name)
	}
	if err != nil {
		return t, fmt.Errorf("get team %s: %w", name, err)
	}
	t.Members, err = s.teamMembers(ctx, q, t.ID)
	return t, err
}

// GetTeam returns the team called name.
func (s *Service) GetTeam(ctx context.Context, name string) (Team, error) {
	if err := Authorize(ctx, PermRead, uuid.Nil); err != nil {
		return Team{}, err
	}
	return s.GetTeamTx(ctx, s.db.Reader(), name)
}

// TeamID returns the id of the team called name, or a NotFound error
// naming field.
func (s *Service) TeamID(ctx context.Context, q db.Querier, field, name string) (uuid.UUID, error) {
	var id uuid.UUID
	err := q.QueryRowContext(ctx, `SELECT id FROM teams WHERE name = $1`, name).Scan(&id)
	if db.IsNoRows(err) {
		return id, &errs.Error{Code: errs.Invalid, Field: field, Message: fmt.Sprintf("team %q does not exist", name)}
	}
	return id, err
}

func (s *Service) teamMembers(ctx context.Context, q db.Querier, id uuid.UUID) ([]string, error) {
	rows, err := q.QueryContext(ctx, `SELECT u.name FROM team_members m JOIN users u ON u.id = m.user_id WHERE m.team_id = $1 ORDER BY u.name`, id)
	if err != nil {
		return nil, fmt.Errorf("team members: %w", err)
	}
	return scanStrings(rows)
}

// ListTeams returns teams by name; next is the cursor of the next page.
func (s *Service) ListTeams(ctx context.Context, opts ListOptions) (teams []Team, next string, err error) {
	if err := Authorize(ctx, PermRead, uuid.Nil); err != nil {
		return nil, "", err
	}
	opts = opts.Normalize()
	q := s.db.Reader()
	rows, err := q.QueryContext(ctx, `SELECT `+teamColumns+` FROM teams
		WHERE name > $1 AND ($2 = '' OR lower(name) LIKE $3 ESCAPE '\' OR lower(display_name) LIKE $3 ESCAPE '\')
		ORDER BY name LIMIT $4`, opts.After, opts.Query, db.Contains(opts.Query), opts.Limit+1)
	if err != nil {
		return nil, "", fmt.Errorf("list teams: %w", err)
	}
	teams, next, err = db.CollectPage(rows, opts.Limit, func(r *sql.Rows) (Team, error) { return scanTeam(r) }, func(t Team) string { return t.Name })
	if err != nil {
		return nil, "", err
	}
	for i := range teams {
		if teams[i].Members, err = s.teamMembers(ctx, q, teams[i].ID); err != nil {
			return nil, "", err
		}
	}
	return teams, next, nil
}

// CreateTeam creates a team. Operators and admins may.
func (s *Service) CreateTeam(ctx context.Context, in TeamInput) (Team, error) {
	if err := Authorize(ctx, PermWriteCatalog, uuid.Nil); err != nil {
		return Team{}, err
	}
	var out Team
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = s.PutTeamTx(ctx, tx, in, "", 0, true)
		return err
	})
	return out, err
}

// UpdateTeam replaces the team called name. Operators, admins and the
// team's own members may; ifRevision, when not zero, must match.
func (s *Service) UpdateTeam(ctx context.Context, name string, in TeamInput, ifRevision int64) (Team, error) {
	if in.Name != "" && in.Name != name {
		return Team{}, errs.Invalidf("name", "cannot be changed (was %q)", name)
	}
	in.Name = name
	var out Team
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		cur, err := s.GetTeamTx(ctx, tx, name)
		if err != nil {
			return err
		}
		if err := Authorize(ctx, PermWriteOwned, cur.ID); err != nil {
			return err
		}
		out, err = s.PutTeamTx(ctx, tx, in, "", ifRevision, false)
		return err
	})
	return out, err
}

// PutTeamTx creates or updates a team and its members in tx, recording the
// change in the audit log. Unknown members are an Invalid error naming the
// member. The caller authorizes.
func (s *Service) PutTeamTx(ctx context.Context, tx *sql.Tx, in TeamInput, origin string, ifRevision int64, mustCreate bool) (Team, error) {
	if err := in.Validate(); err != nil {
		return Team{}, err
	}
	members := slices.Clone(in.Members)
	slices.Sort(members)
	members = slices.Compact(members)
	memberIDs := make([]uuid.UUID, len(members))
	for i, m := range members {
		if err := tx.QueryRowContext(ctx, `SELECT id FROM users WHERE name = $1`, m).Scan(&memberIDs[i]); err != nil {
			if db.IsNoRows(err) {
				return Team{}, errs.Invalidf(fmt.Sprintf("members[%d]", slices.Index(in.Members, m)), "user %q does not exist", m)
			}
			return Team{}, err
		}
	}
	labels := in.Labels
	if len(labels) == 0 {
		labels = nil
	}
	t := Team{Name: in.Name, DisplayName: in.DisplayName, Description: in.Description, Email: in.Email, Chat: in.Chat,
		Members: members, Labels: labels, Origin: origin}
	labelJSON, _ := json.Marshal(orEmpty(labels))
	now := s.clock.Now()
	before, err := s.GetTeamTx(ctx, tx, in.Name)
	action := "update"
	switch {
	case errs.Is(err, errs.NotFound):
		action = "create"
		t.ID, t.Revision, t.CreatedAt, t.UpdatedAt = db.NewID(), 1, now, now
		if _, err := tx.ExecContext(ctx, `INSERT INTO teams (id, name, display_name, description, email, chat, labels, origin, revision, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1, $9, $9)`,
			t.ID, t.Name, t.DisplayName, t.Description, t.Email, t.Chat, string(labelJSON), t.Origin, now); err != nil {
			return t, fmt.Errorf("insert team: %w", err)
		}
	case err != nil:
		return t, err
	case mustCreate:
		return t, errs.Conflictf("team %q already exists", in.Name)
	default:
		if ifRevision != 0 && ifRevision != before.Revision {
			return t, errs.Preconditionf("team %q was changed by someone else (revision %d, you have %d); reload and retry", in.Name, before.Revision, ifRevision)
		}
		// The origin says who created the object; an update never takes it
		// over, so prune only ever deletes what its own apply set created.
		t.Origin = before.Origin
		t.ID, t.CreatedAt = before.ID, before.CreatedAt
		if sameTeam(before, t) {
			return before, nil
		}
		t.Revision, t.UpdatedAt = before.Revision+1, now
		if _, err := tx.ExecContext(ctx, `UPDATE teams SET display_name = $2, description = $3, email = $4, chat = $5, labels = $6,
			origin = $7, revision = $8, updated_at = $9 WHERE id = $1`,
			t.ID, t.DisplayName, t.Description, t.Email, t.Chat, string(labelJSON), t.Origin, t.Revision, now); err != nil {
			return t, fmt.Errorf("update team: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM team_members WHERE team_id = $1`, t.ID); err != nil {
			return t, fmt.Errorf("update team members: %w", err)
		}
	}
	for _, id := range memberIDs {
		if _, err := tx.ExecContext(ctx, `INSERT INTO team_members (team_id, user_id) VALUES ($1, $2)`, t.ID, id); err != nil {
			return t, fmt.Errorf("add team member: %w", err)
		}
	}
	var b any
	if action == "update" {
		b = before
	}
	return t, s.record(ctx, tx, action, "team", t.ID.String(), t.Name, b, t)
}

func sameTeam(a, b Team) bool {
	return a.DisplayName == b.DisplayName && a.Description == b.Description && a.Email == b.Email && a.Chat == b.Chat &&
		slices.Equal(a.Members, b.Members) && maps.Equal(a.Labels, b.Labels) && a.Origin == b.Origin
}

func orEmpty(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// DeleteTeam deletes the team called name. A team that still owns services
// or tools cannot be deleted (Conflict).
func (s *Service) DeleteTeam(ctx context.Context, name string, ifRevision int64) error {
	if err := Authorize(ctx, PermWriteCatalog, uuid.Nil); err != nil {
		return err
	}
	return s.db.InTx(ctx, func(tx *sql.Tx) error { return s.DeleteTeamTx(ctx, tx, name, ifRevision) })
}

// DeleteTeamTx deletes a team in tx and records it. The caller authorizes.
func (s *Service) DeleteTeamTx(ctx context.Context, tx *sql.Tx, name string, ifRevision int64) error {
	before, err := s.GetTeamTx(ctx, tx, name)
	if err != nil {
		return err
	}
	if ifRevision != 0 && ifRevision != before.Revision {
		return errs.Preconditionf("team %q was changed by someone else (revision %d, you have %d); reload and retry", name, before.Revision, ifRevision)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM teams WHERE id = $1`, before.ID); err != nil {
		if db.IsForeignKeyViolation(err) {
			return errs.Conflictf("team %q still owns services or tools; give them another owner first", name)
		}
		return fmt.Errorf("delete team: %w", err)
	}
	return s.record(ctx, tx, "delete", "team", before.ID.String(), name, before, nil)
}

// DeleteUserTx deletes a user in tx and records it. The caller authorizes.
func (s *Service) DeleteUserTx(ctx context.Context, tx *sql.Tx, name string) error {
	before, err := s.GetUserTx(ctx, tx, name)
	if err != nil {
		return err
	}
	if before.Role == RoleAdmin && !before.Disabled {
		if err := lastAdminGuard(ctx, tx, before.ID); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM users WHERE id = $1`, before.ID); err != nil {
		return fmt.Errorf("delete user: %w", err)
	}
	return s.record(ctx, tx, "delete", "user", before.ID.String(), name, before.auditView(), nil)
}

// DeleteUser deletes the user called name (admins). Deleting oneself is
// refused so that an instance cannot lose its last administrator by mistake.
func (s *Service) DeleteUser(ctx context.Context, name string) error {
	if err := Authorize(ctx, PermManageUsers, uuid.Nil); err != nil {
		return err
	}
	if a := ActorFrom(ctx); a != nil && a.Name == name {
		return errs.Conflictf("you cannot delete yourself")
	}
	return s.db.InTx(ctx, func(tx *sql.Tx) error { return s.DeleteUserTx(ctx, tx, name) })
}
