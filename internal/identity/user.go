package identity

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"groundcrew.dev/groundcrew/internal/db"
	"groundcrew.dev/groundcrew/internal/errs"
	"groundcrew.dev/groundcrew/internal/names"
)

// User is a person who uses groundcrew.
type User struct {
	ID          uuid.UUID `json:"id"`
	Name        string    `json:"name"`
	DisplayName string    `json:"display_name,omitempty"`
	Email       string    `json:"email,omitempty"`
	Role        Role      `json:"role"`
	Disabled    bool      `json:"disabled,omitempty"`
	HasPassword bool      `json:"has_password" doc:"false for users who cannot log in with a password yet (read-only)"`
	Teams       []string  `json:"teams"` // names of the teams the user belongs to; read-only here
	Origin      string    `json:"origin,omitempty"`
	Revision    int64     `json:"revision"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// Validate reports the first invalid field of u.
func (u *User) Validate() error {
	if err := names.Check("name", u.Name); err != nil {
		return err
	}
	if !u.Role.Valid() {
		return errs.Invalidf("role", "%q is not a role: want admin, operator, member or viewer", u.Role)
	}
	if u.Email != "" && (!strings.Contains(u.Email, "@") || len(u.Email) > 254 || strings.ContainsAny(u.Email, " \t\r\n<>")) {
		return errs.Invalidf("email", "%q is not an e-mail address", u.Email)
	}
	if len(u.DisplayName) > 200 {
		return errs.Invalidf("display_name", "must be at most 200 characters")
	}
	return nil
}

// auditView is what the audit log keeps of a user (no secrets).
func (u *User) auditView() any {
	if u == nil {
		return nil
	}
	c := *u
	c.Teams = nil
	return c
}

const userColumns = `id, name, display_name, email, role, disabled, password_hash <> '', origin, revision, created_at, updated_at`

func scanUser(sc interface{ Scan(...any) error }) (User, error) {
	var u User
	err := sc.Scan(&u.ID, &u.Name, &u.DisplayName, &u.Email, &u.Role, &u.Disabled, &u.HasPassword, &u.Origin, &u.Revision, &u.CreatedAt, &u.UpdatedAt)
	u.CreatedAt, u.UpdatedAt = u.CreatedAt.UTC(), u.UpdatedAt.UTC()
	return u, err
}

// GetUserTx returns the user called name, with its teams.
func (s *Service) GetUserTx(ctx context.Context, q db.Querier, name string) (User, error) {
	u, err := scanUser(q.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE name = $1`, name))
	if db.IsNoRows(err) {
		return u, errs.NotFoundf("user %q not found", name)
	}
	if err != nil {
		return u, fmt.Errorf("get user %s: %w", name, err)
	}
	u.Teams, err = s.userTeams(ctx, q, u.ID)
	return u, err
}

// GetUser returns the user called name.
func (s *Service) GetUser(ctx context.Context, name string) (User, error) {
	if err := Authorize(ctx, PermRead, uuid.Nil); err != nil {
		return User{}, err
	}
	return s.GetUserTx(ctx, s.db.Reader(), name)
}

func (s *Service) userTeams(ctx context.Context, q db.Querier, id uuid.UUID) ([]string, error) {
	rows, err := q.QueryContext(ctx, `SELECT t.name FROM team_members m JOIN teams t ON t.id = m.team_id WHERE m.user_id = $1 ORDER BY t.name`, id)
	if err != nil {
		return nil, fmt.Errorf("user teams: %w", err)
	}
	return scanStrings(rows)
}

func scanStrings(rows *sql.Rows) ([]string, error) {
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// ListOptions selects and pages a list of named objects.
type ListOptions struct {
	Query string // case-insensitive substring of name or display name
	After string // cursor: names after this one
	Limit int    // default 100, at most 1000
}

// Normalize applies the defaults and bounds of l.
func (l ListOptions) Normalize() ListOptions {
	if l.Limit <= 0 {
		l.Limit = 100
	}
	l.Limit = min(l.Limit, 1000)
	return l
}

// ListUsers returns users by name; next is the cursor for the next page, or
// "" on the last page.
func (s *Service) ListUsers(ctx context.Context, opts ListOptions) (users []User, next string, err error) {
	if err := Authorize(ctx, PermRead, uuid.Nil); err != nil {
		return nil, "", err
	}
	opts = opts.Normalize()
	q := s.db.Reader()
	rows, err := q.QueryContext(ctx, `SELECT `+userColumns+` FROM users
		WHERE name > $1 AND ($2 = '' OR lower(name) LIKE $3 ESCAPE '\' OR lower(display_name) LIKE $3 ESCAPE '\')
		ORDER BY name LIMIT $4`, opts.After, opts.Query, db.Contains(opts.Query), opts.Limit+1)
	if err != nil {
		return nil, "", fmt.Errorf("list users: %w", err)
	}
	users, next, err = db.CollectPage(rows, opts.Limit, func(r *sql.Rows) (User, error) { return scanUser(r) }, func(u User) string { return u.Name })
	if err != nil {
		return nil, "", err
	}
	for i := range users {
		if users[i].Teams, err = s.userTeams(ctx, q, users[i].ID); err != nil {
			return nil, "", err
		}
	}
	return users, next, nil
}

// UserInput is what a caller may set on a user.
type UserInput struct {
	Name        string `json:"name,omitempty" doc:"required on create; fixed afterwards"`
	DisplayName string `json:"display_name,omitempty"`
	Email       string `json:"email,omitempty"`
	Role        Role   `json:"role"`
	Disabled    bool   `json:"disabled,omitempty"`
	Password    string `json:"password,omitempty"` // only on create or to reset; never returned
}

// CreateUser creates a user. Only admins may.
func (s *Service) CreateUser(ctx context.Context, in UserInput) (User, error) {
	if err := Authorize(ctx, PermManageUsers, uuid.Nil); err != nil {
		return User{}, err
	}
	var out User
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = s.PutUserTx(ctx, tx, in, "", 0, true)
		return err
	})
	return out, err
}

// UpdateUser replaces the settable fields of the user called name. When
// ifRevision is not zero it must match the stored revision.
func (s *Service) UpdateUser(ctx context.Context, name string, in UserInput, ifRevision int64) (User, error) {
	if err := Authorize(ctx, PermManageUsers, uuid.Nil); err != nil {
		return User{}, err
	}
	if in.Name != "" && in.Name != name {
		return User{}, errs.Invalidf("name", "cannot be changed (was %q)", name)
	}
	in.Name = name
	var out User
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		if _, err := s.GetUserTx(ctx, tx, name); err != nil {
			return err
		}
		var err error
		out, err = s.PutUserTx(ctx, tx, in, "", ifRevision, false)
		return err
	})
	return out, err
}

// PutUserTx creates or updates a user in tx and records it in the audit log.
// With mustCreate an existing user is a Conflict. The password is only
// changed when in.Password is set.
func (s *Service) PutUserTx(ctx context.Context, tx *sql.Tx, in UserInput, origin string, ifRevision int64, mustCreate bool) (User, error) {
	u := User{Name: in.Name, DisplayName: in.DisplayName, Email: in.Email, Role: in.Role, Disabled: in.Disabled, Origin: origin}
	if err := u.Validate(); err != nil {
		return u, err
	}
	var hash string
	if in.Password != "" {
		var err error
		if hash, err = HashPassword(in.Password); err != nil {
			return u, err
		}
	}
	now := s.clock.Now()
	before, err := s.GetUserTx(ctx, tx, in.Name)
	switch {
	case errs.Is(err, errs.NotFound):
		u.ID, u.Revision, u.CreatedAt, u.UpdatedAt = db.NewID(), 1, now, now
		if _, err := tx.ExecContext(ctx, `INSERT INTO users (id, name, display_name, email, role, password_hash, disabled, origin, revision, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1, $9, $9)`,
			u.ID, u.Name, u.DisplayName, u.Email, u.Role, hash, u.Disabled, u.Origin, now); err != nil {
			return u, fmt.Errorf("insert user: %w", err)
		}
		u.Teams, u.HasPassword = []string{}, hash != ""
		return u, s.record(ctx, tx, "create", "user", u.ID.String(), u.Name, nil, u.auditView())
	case err != nil:
		return u, err
	case mustCreate:
		return u, errs.Conflictf("user %q already exists", in.Name)
	}
	if ifRevision != 0 && ifRevision != before.Revision {
		return u, errs.Preconditionf("user %q was changed by someone else (revision %d, you have %d); reload and retry", in.Name, before.Revision, ifRevision)
	}
	// The origin says who created the object; an update never takes it
	// over, so prune only ever deletes what its own apply set created.
	u.Origin = before.Origin
	u.ID, u.CreatedAt, u.Teams, u.HasPassword = before.ID, before.CreatedAt, before.Teams, before.HasPassword || hash != ""
	if sameUser(before, u) && hash == "" {
		return before, nil
	}
	if before.Role == RoleAdmin && !before.Disabled && (u.Role != RoleAdmin || u.Disabled) {
		if err := lastAdminGuard(ctx, tx, before.ID); err != nil {
			return u, err
		}
	}
	u.Revision, u.UpdatedAt = before.Revision+1, now
	if _, err := tx.ExecContext(ctx, `UPDATE users SET display_name = $2, email = $3, role = $4, disabled = $5, origin = $6,
		revision = $7, updated_at = $8, password_hash = CASE WHEN $9 = '' THEN password_hash ELSE $9 END WHERE id = $1`,
		u.ID, u.DisplayName, u.Email, u.Role, u.Disabled, u.Origin, u.Revision, now, hash); err != nil {
		return u, fmt.Errorf("update user: %w", err)
	}
	if u.Disabled && !before.Disabled {
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = $1`, u.ID); err != nil {
			return u, fmt.Errorf("end sessions: %w", err)
		}
	}
	action := "update"
	if hash != "" && sameUser(before, u) {
		action = "set-password"
	}
	return u, s.record(ctx, tx, action, "user", u.ID.String(), u.Name, before.auditView(), u.auditView())
}

// lastAdminGuard returns a Conflict when id is the only enabled admin:
// demoting, disabling or deleting it would leave nobody able to manage users.
func lastAdminGuard(ctx context.Context, q db.Querier, id uuid.UUID) error {
	var others int
	if err := q.QueryRowContext(ctx, `SELECT count(*) FROM users WHERE role = 'admin' AND NOT disabled AND id <> $1`, id).Scan(&others); err != nil {
		return fmt.Errorf("count admins: %w", err)
	}
	if others == 0 {
		return errs.Conflictf("this is the last enabled administrator: make someone else admin first")
	}
	return nil
}

func sameUser(a, b User) bool {
	return a.DisplayName == b.DisplayName && a.Email == b.Email && a.Role == b.Role && a.Disabled == b.Disabled && a.Origin == b.Origin
}

// ChangePassword sets the password of the actor in ctx, who must give the
// current one.
func (s *Service) ChangePassword(ctx context.Context, current, next string) error {
	a := ActorFrom(ctx)
	if a == nil || a.UserID == uuid.Nil {
		return errs.Unauthorizedf("authentication required")
	}
	if a.Scope == ScopeRead {
		return errs.Forbiddenf("this API token is read-only")
	}
	hash, err := HashPassword(next)
	if err != nil {
		return err
	}
	return s.db.InTx(ctx, func(tx *sql.Tx) error {
		var old string
		if err := tx.QueryRowContext(ctx, `SELECT password_hash FROM users WHERE id = $1`, a.UserID).Scan(&old); err != nil {
			return fmt.Errorf("change password: %w", err)
		}
		if !VerifyPassword(old, current) {
			return errs.Invalidf("current_password", "is not correct")
		}
		if _, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = $2, updated_at = $3 WHERE id = $1`, a.UserID, hash, s.clock.Now()); err != nil {
			return fmt.Errorf("change password: %w", err)
		}
		return s.record(ctx, tx, "set-password", "user", a.UserID.String(), a.Name, nil, nil)
	})
}

// CountUsers returns how many users exist.
func (s *Service) CountUsers(ctx context.Context) (int, error) {
	var n int
	err := s.db.Reader().QueryRowContext(ctx, `SELECT count(*) FROM users`).Scan(&n)
	return n, err
}
