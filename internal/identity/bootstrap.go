package identity

import (
	"context"
	"database/sql"
	"fmt"

	"groundcrew.dev/groundcrew/internal/errs"
)

// AdminName is the name of the administrator created on first start.
const AdminName = "admin"

// Bootstrap prepares the first administrator on a database without users.
// With a password it creates the user "admin" and returns "". Without one it
// returns a one-time setup secret (valid for SetupTokenTTL) for a link that
// lets the first person choose the admin password. On a database that has
// users it does nothing and returns "".
func (s *Service) Bootstrap(ctx context.Context, password string) (setupSecret string, err error) {
	ctx = WithActor(ctx, System())
	err = s.db.InTx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM users`).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return nil
		}
		if password != "" {
			_, err := s.PutUserTx(ctx, tx, UserInput{Name: AdminName, DisplayName: "Administrator", Role: RoleAdmin, Password: password}, "", 0, true)
			if err != nil {
				return fmt.Errorf("create admin from GROUNDCREW_ADMIN_PASSWORD: %w", err)
			}
			return nil
		}
		var hash string
		setupSecret, hash = NewSecret(setupPrefix)
		now := s.clock.Now()
		_, err := tx.ExecContext(ctx, `INSERT INTO setup_tokens (token_hash, created_at, expires_at) VALUES ($1, $2, $3)`,
			hash, now, now.Add(s.opts.SetupTokenTTL))
		return err
	})
	return setupSecret, err
}

// SetupValid reports whether secret is an unused, unexpired setup secret
// and no user exists yet.
func (s *Service) SetupValid(ctx context.Context, secret string) bool {
	var n int
	err := s.db.Reader().QueryRowContext(ctx, `SELECT count(*) FROM setup_tokens WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2`,
		HashSecret(secret), s.clock.Now()).Scan(&n)
	if err != nil || n == 0 {
		return false
	}
	users, err := s.CountUsers(ctx)
	return err == nil && users == 0
}

// CompleteSetup uses a setup secret to create the admin with password and
// opens a session for it.
func (s *Service) CompleteSetup(ctx context.Context, secret, password, addr string) (session string, err error) {
	if err := CheckPassword(password); err != nil {
		return "", err
	}
	sys := WithActor(ctx, System())
	err = s.db.InTx(sys, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE setup_tokens SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2`,
			HashSecret(secret), s.clock.Now())
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return errs.Forbiddenf("this setup link is invalid, used or expired; restart the server for a new one")
		}
		var users int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM users`).Scan(&users); err != nil {
			return err
		}
		if users > 0 {
			return errs.Conflictf("the administrator already exists")
		}
		u, err := s.PutUserTx(sys, tx, UserInput{Name: AdminName, DisplayName: "Administrator", Role: RoleAdmin, Password: password}, "", 0, true)
		if err != nil {
			return err
		}
		session, err = s.newSessionTx(ctx, tx, u.ID, addr, s.clock.Now())
		return err
	})
	return session, err
}
