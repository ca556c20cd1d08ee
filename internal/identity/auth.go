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

// Token and session secrets carry a prefix so that a leaked one is easy to
// recognise in logs and secret scanners.
const (
	tokenPrefix   = "gct_"
	sessionPrefix = "gcs_"
	setupPrefix   = "gcsetup_"
)

// ErrBadCredentials is returned for any failed login, whatever the reason,
// so that a caller cannot tell unknown users from wrong passwords.
var ErrBadCredentials = errs.Unauthorizedf("wrong user name or password")

// Login checks name and password and, when they match an enabled user,
// opens a session and returns its secret. Repeated failures for a name or
// from an address lock further attempts out for a growing period.
func (s *Service) Login(ctx context.Context, name, password, addr string) (secret string, user User, err error) {
	now := s.clock.Now()
	keys := []string{"user:" + strings.ToLower(name)}
	if addr != "" {
		keys = append(keys, "addr:"+addr)
	}
	for _, k := range keys {
		if until, err := s.lockedUntil(ctx, k, now); err != nil {
			return "", user, err
		} else if until.After(now) {
			return "", user, &errs.Error{Code: errs.TooMany, Message: fmt.Sprintf("too many failed logins; try again in %s", until.Sub(now).Round(time.Second))}
		}
	}
	var hash string
	var disabled bool
	var id uuid.UUID
	err = s.db.Reader().QueryRowContext(ctx, `SELECT id, password_hash, disabled FROM users WHERE name = $1`, name).Scan(&id, &hash, &disabled)
	if err != nil && !db.IsNoRows(err) {
		return "", user, fmt.Errorf("login: %w", err)
	}
	if err != nil || hash == "" {
		hash = dummyHash // spend the same time for an unknown user
	}
	ok := VerifyPassword(hash, password) && id != uuid.Nil && !disabled
	if !ok {
		if ferr := s.recordFailure(ctx, keys, now); ferr != nil {
			s.log.Error("record login failure", "err", ferr)
		}
		return "", user, ErrBadCredentials
	}
	err = s.db.InTx(ctx, func(tx *sql.Tx) error {
		for _, k := range keys {
			if _, err := tx.ExecContext(ctx, `DELETE FROM login_failures WHERE key = $1`, k); err != nil {
				return err
			}
		}
		var err error
		secret, err = s.newSessionTx(ctx, tx, id, addr, now)
		if err != nil {
			return err
		}
		user, err = s.GetUserTx(ctx, tx, name)
		if err != nil {
			return err
		}
		ctx := WithActor(ctx, &Actor{UserID: id, Name: name, Role: user.Role, Addr: addr})
		return s.record(ctx, tx, "login", "user", id.String(), name, nil, nil)
	})
	return secret, user, err
}

func (s *Service) lockedUntil(ctx context.Context, key string, now time.Time) (time.Time, error) {
	var until sql.NullTime
	err := s.db.Reader().QueryRowContext(ctx, `SELECT locked_until FROM login_failures WHERE key = $1`, key).Scan(&until)
	if db.IsNoRows(err) || !until.Valid {
		return time.Time{}, nil
	}
	return until.Time, err
}

// recordFailure counts a failed login for each key, locking the key out
// once it reaches MaxFailures within FailureWindow.
func (s *Service) recordFailure(ctx context.Context, keys []string, now time.Time) error {
	return s.db.InTx(ctx, func(tx *sql.Tx) error {
		for _, k := range keys {
			var n int
			var first time.Time
			err := tx.QueryRowContext(ctx, `SELECT failures, first_at FROM login_failures WHERE key = $1`, k).Scan(&n, &first)
			if db.IsNoRows(err) || (err == nil && now.Sub(first) > s.opts.FailureWindow) {
				n, first = 0, now
			} else if err != nil {
				return err
			}
			n++
			var until *time.Time
			if n >= s.opts.MaxFailures {
				d := s.opts.LockoutBase << min(n-s.opts.MaxFailures, 20)
				d = min(d, s.opts.LockoutMax)
				t := now.Add(d)
				until = &t
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO login_failures (key, failures, first_at, locked_until) VALUES ($1, $2, $3, $4)
				ON CONFLICT (key) DO UPDATE SET failures = excluded.failures, first_at = excluded.first_at, locked_until = excluded.locked_until`,
				k, n, first, until); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s *Service) newSessionTx(ctx context.Context, tx *sql.Tx, user uuid.UUID, addr string, now time.Time) (string, error) {
	secret, hash := NewSecret(sessionPrefix)
	if _, err := tx.ExecContext(ctx, `INSERT INTO sessions (token_hash, user_id, created_at, expires_at, source_addr) VALUES ($1, $2, $3, $4, $5)`,
		hash, user, now, now.Add(s.opts.SessionTTL), addr); err != nil {
		return "", fmt.Errorf("create session: %w", err)
	}
	return secret, nil
}

// Logout ends the session with the given secret. Ending an unknown session
// is not an error.
func (s *Service) Logout(ctx context.Context, secret string) error {
	return s.db.InTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE token_hash = $1`, HashSecret(secret))
		return err
	})
}

// SessionActor returns the actor of a live session, or an Unauthorized
// error for an unknown or expired one.
func (s *Service) SessionActor(ctx context.Context, secret, addr string) (*Actor, error) {
	if !strings.HasPrefix(secret, sessionPrefix) {
		return nil, errs.Unauthorizedf("no session")
	}
	var id uuid.UUID
	err := s.db.Reader().QueryRowContext(ctx, `SELECT user_id FROM sessions WHERE token_hash = $1 AND expires_at > $2`,
		HashSecret(secret), s.clock.Now()).Scan(&id)
	if db.IsNoRows(err) {
		return nil, errs.Unauthorizedf("session expired; log in again")
	}
	if err != nil {
		return nil, fmt.Errorf("session: %w", err)
	}
	return s.actor(ctx, id, ScopeWrite, "session", addr)
}

func (s *Service) actor(ctx context.Context, id uuid.UUID, scope Scope, via, addr string) (*Actor, error) {
	q := s.db.Reader()
	a := &Actor{UserID: id, Scope: scope, Via: via, Addr: addr}
	var disabled bool
	if err := q.QueryRowContext(ctx, `SELECT name, role, disabled FROM users WHERE id = $1`, id).Scan(&a.Name, &a.Role, &disabled); err != nil {
		if db.IsNoRows(err) {
			return nil, errs.Unauthorizedf("user no longer exists")
		}
		return nil, fmt.Errorf("actor: %w", err)
	}
	if disabled {
		return nil, errs.Unauthorizedf("user %q is disabled", a.Name)
	}
	rows, err := q.QueryContext(ctx, `SELECT team_id FROM team_members WHERE user_id = $1`, id)
	if err != nil {
		return nil, fmt.Errorf("actor teams: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var t uuid.UUID
		if err := rows.Scan(&t); err != nil {
			return nil, err
		}
		a.TeamIDs = append(a.TeamIDs, t)
	}
	return a, rows.Err()
}

// Token is a personal API token. The secret is shown once, at creation.
type Token struct {
	ID         uuid.UUID  `json:"id"`
	User       string     `json:"user"`
	Name       string     `json:"name"`
	Prefix     string     `json:"prefix"` // the first characters of the secret, to recognise it
	Scope      Scope      `json:"scope"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  *time.Time `json:"expires_at,omitempty"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
}

// TokenInput describes a token to create.
type TokenInput struct {
	Name      string        `json:"name"`
	Scope     Scope         `json:"scope"`
	ExpiresIn time.Duration `json:"-"` // zero: the default lifetime
	NoExpiry  bool          `json:"-"` // only for tokens created by the system
}

// CreateToken creates an API token for the actor in ctx and returns it with
// its secret, which is never shown again.
func (s *Service) CreateToken(ctx context.Context, in TokenInput) (Token, string, error) {
	a := ActorFrom(ctx)
	if err := Authorize(ctx, PermManageOwnTokens, uuid.Nil); err != nil {
		return Token{}, "", err
	}
	if a.UserID == uuid.Nil {
		return Token{}, "", errs.Invalidf("user", "the system has no tokens")
	}
	if err := names.Check("name", in.Name); err != nil {
		return Token{}, "", err
	}
	if in.Scope == "" {
		in.Scope = ScopeWrite
	}
	if in.Scope != ScopeRead && in.Scope != ScopeWrite {
		return Token{}, "", errs.Invalidf("scope", "%q is not a scope: want read or write", in.Scope)
	}
	if a.Via == "token" && a.Scope == ScopeRead && in.Scope == ScopeWrite {
		return Token{}, "", errs.Forbiddenf("a read-only token cannot create a write token")
	}
	if in.ExpiresIn < 0 {
		return Token{}, "", errs.Invalidf("expires_in", "must not be negative")
	}
	now := s.clock.Now()
	t := Token{ID: db.NewID(), User: a.Name, Name: in.Name, Scope: in.Scope, CreatedAt: now}
	if !in.NoExpiry {
		d := in.ExpiresIn
		if d == 0 {
			d = s.opts.DefaultTokenTT
		}
		exp := now.Add(d)
		t.ExpiresAt = &exp
	}
	secret, hash := NewSecret(tokenPrefix)
	t.Prefix = secret[:len(tokenPrefix)+6]
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO api_tokens (id, user_id, name, token_hash, prefix, scope, created_at, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, t.ID, a.UserID, t.Name, hash, t.Prefix, t.Scope, now, t.ExpiresAt); err != nil {
			if db.IsUniqueViolation(err) {
				return errs.Invalidf("name", "you already have a token called %q", t.Name)
			}
			return fmt.Errorf("create token: %w", err)
		}
		return s.record(ctx, tx, "create", "token", t.ID.String(), a.Name+"/"+t.Name, nil, t)
	})
	return t, secret, err
}

// ListTokens returns the tokens of the actor in ctx, newest first.
func (s *Service) ListTokens(ctx context.Context) ([]Token, error) {
	a := ActorFrom(ctx)
	if err := Authorize(ctx, PermRead, uuid.Nil); err != nil {
		return nil, err
	}
	rows, err := s.db.Reader().QueryContext(ctx, `SELECT id, name, prefix, scope, created_at, expires_at, last_used_at, revoked_at
		FROM api_tokens WHERE user_id = $1 ORDER BY created_at DESC`, a.UserID)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	defer rows.Close()
	out := []Token{}
	for rows.Next() {
		t := Token{User: a.Name}
		var exp, used, revoked sql.NullTime
		if err := rows.Scan(&t.ID, &t.Name, &t.Prefix, &t.Scope, &t.CreatedAt, &exp, &used, &revoked); err != nil {
			return nil, err
		}
		t.CreatedAt = t.CreatedAt.UTC()
		t.ExpiresAt, t.LastUsedAt, t.RevokedAt = nullTime(exp), nullTime(used), nullTime(revoked)
		out = append(out, t)
	}
	return out, rows.Err()
}

func nullTime(t sql.NullTime) *time.Time {
	if !t.Valid {
		return nil
	}
	u := t.Time.UTC()
	return &u
}

// RevokeToken revokes the actor's token called name.
func (s *Service) RevokeToken(ctx context.Context, name string) error {
	a := ActorFrom(ctx)
	if err := Authorize(ctx, PermManageOwnTokens, uuid.Nil); err != nil {
		return err
	}
	return s.db.InTx(ctx, func(tx *sql.Tx) error {
		var id uuid.UUID
		err := tx.QueryRowContext(ctx, `UPDATE api_tokens SET revoked_at = $3 WHERE user_id = $1 AND name = $2 AND revoked_at IS NULL RETURNING id`,
			a.UserID, name, s.clock.Now()).Scan(&id)
		if db.IsNoRows(err) {
			return errs.NotFoundf("no active token called %q", name)
		}
		if err != nil {
			return fmt.Errorf("revoke token: %w", err)
		}
		return s.record(ctx, tx, "revoke", "token", id.String(), a.Name+"/"+name, nil, nil)
	})
}

// TokenActor returns the actor of a valid API token, or an Unauthorized
// error for an unknown, expired or revoked one.
func (s *Service) TokenActor(ctx context.Context, secret, addr string) (*Actor, error) {
	if !strings.HasPrefix(secret, tokenPrefix) {
		return nil, errs.Unauthorizedf("not a groundcrew API token")
	}
	var id, user uuid.UUID
	var scope Scope
	var exp, revoked sql.NullTime
	err := s.db.Reader().QueryRowContext(ctx, `SELECT id, user_id, scope, expires_at, revoked_at FROM api_tokens WHERE token_hash = $1`,
		HashSecret(secret)).Scan(&id, &user, &scope, &exp, &revoked)
	if db.IsNoRows(err) {
		return nil, errs.Unauthorizedf("unknown API token")
	}
	if err != nil {
		return nil, fmt.Errorf("token: %w", err)
	}
	now := s.clock.Now()
	if revoked.Valid {
		return nil, errs.Unauthorizedf("API token was revoked")
	}
	if exp.Valid && !exp.Time.After(now) {
		return nil, errs.Unauthorizedf("API token expired")
	}
	s.touchToken(id, now)
	return s.actor(ctx, user, scope, "token", addr)
}

// touchInterval is how stale a token's last_used_at may be: recording every
// use would turn every read into a write.
const touchInterval = time.Minute

// touchToken records, at most once per touchInterval per token and in the
// background, that the token was used. It is best effort: errors are logged.
func (s *Service) touchToken(id uuid.UUID, now time.Time) {
	if last, ok := s.touched.Load(id); ok && now.Sub(last.(time.Time)) < touchInterval {
		return
	}
	s.touched.Store(id, now)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		err := s.db.InTx(ctx, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `UPDATE api_tokens SET last_used_at = $2 WHERE id = $1`, id, now)
			return err
		})
		if err != nil {
			s.log.Warn("record token use", "err", err)
		}
	}()
}

// CleanExpired deletes expired sessions and stale login-failure counters
// and reports how many sessions it removed.
func (s *Service) CleanExpired(ctx context.Context) (int64, error) {
	now := s.clock.Now()
	var n int64
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at <= $1`, now)
		if err != nil {
			return err
		}
		n, _ = res.RowsAffected()
		_, err = tx.ExecContext(ctx, `DELETE FROM login_failures WHERE first_at < $1 AND (locked_until IS NULL OR locked_until < $2)`,
			now.Add(-s.opts.FailureWindow), now)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM setup_tokens WHERE expires_at <= $1`, now)
		return err
	})
	return n, err
}

// SessionCookie is the name of the cookie holding a session secret.
const SessionCookie = "groundcrew_session"
