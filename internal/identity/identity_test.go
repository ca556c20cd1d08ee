package identity_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"groundcrew.dev/groundcrew/internal/clock"
	"groundcrew.dev/groundcrew/internal/db"
	"groundcrew.dev/groundcrew/internal/db/dbtest"
	"groundcrew.dev/groundcrew/internal/errs"
	"groundcrew.dev/groundcrew/internal/identity"
)

func TestPassword(t *testing.T) {
	h, err := identity.HashPassword("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Errorf("hash %q is not argon2id with the expected parameters", h)
	}
	if !identity.VerifyPassword(h, "correct horse battery") || identity.VerifyPassword(h, "correct horse batterx") {
		t.Error("VerifyPassword accepts the wrong password or refuses the right one")
	}
	if _, err := identity.HashPassword("short"); errs.FieldOf(err) != "password" {
		t.Errorf("short password: %v, want invalid password", err)
	}
	for _, bad := range []string{"", "$argon2id$", "$argon2id$v=19$m=x$a$b", h[:len(h)-3]} {
		if identity.VerifyPassword(bad, "correct horse battery") {
			t.Errorf("VerifyPassword(%q) = true", bad)
		}
	}
}

func TestActor_Can(t *testing.T) {
	team := uuid.New()
	other := uuid.New()
	perms := []identity.Permission{identity.PermRead, identity.PermWriteOwned, identity.PermWriteCatalog, identity.PermManageUsers, identity.PermReadAudit, identity.PermManageOwnTokens}
	// want[role] lists, per permission in perms order, whether it is
	// allowed on an object owned by the actor's own team.
	want := map[identity.Role][]bool{
		identity.RoleAdmin:    {true, true, true, true, true, true},
		identity.RoleOperator: {true, true, true, false, true, true},
		identity.RoleMember:   {true, true, false, false, false, true},
		identity.RoleViewer:   {true, false, false, false, false, true},
	}
	for role, allowed := range want {
		a := &identity.Actor{Role: role, TeamIDs: []uuid.UUID{team}, Scope: identity.ScopeWrite}
		for i, p := range perms {
			if got := a.Can(p, team); got != allowed[i] {
				t.Errorf("%s Can(%s, own team) = %v, want %v", role, p, got, allowed[i])
			}
		}
		if role == identity.RoleMember && a.Can(identity.PermWriteOwned, other) {
			t.Errorf("member may write another team's object")
		}
		ro := *a
		ro.Scope = identity.ScopeRead
		for _, p := range perms {
			if ro.Can(p, team) && p != identity.PermRead && p != identity.PermReadAudit {
				t.Errorf("%s with a read token Can(%s)", role, p)
			}
		}
	}
	var nobody *identity.Actor
	if nobody.Can(identity.PermRead, uuid.Nil) {
		t.Error("nil actor can read")
	}
}

func newService(t *testing.T, d *db.DB) (*identity.Service, *clock.Fake, context.Context) {
	clk := clock.NewFake(time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC))
	s := identity.NewService(d, clk, nil, identity.Options{MaxFailures: 3, LockoutBase: time.Minute})
	if _, err := s.Bootstrap(context.Background(), "admin-password-1"); err != nil {
		t.Fatal(err)
	}
	return s, clk, identity.WithActor(context.Background(), identity.System())
}

func TestLogin_Throttling(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		s, clk, ctx := newService(t, d)
		for i := range 3 {
			if _, _, err := s.Login(ctx, "admin", "wrong-password", "10.0.0.1"); !errs.Is(err, errs.Unauthorized) {
				t.Fatalf("attempt %d: %v, want unauthorized", i, err)
			}
		}
		if _, _, err := s.Login(ctx, "admin", "admin-password-1", "10.0.0.2"); !errs.Is(err, errs.TooMany) {
			t.Fatalf("right password during lock-out: %v, want too many", err)
		}
		clk.Advance(61 * time.Second)
		secret, u, err := s.Login(ctx, "admin", "admin-password-1", "10.0.0.1")
		if err != nil || u.Name != "admin" {
			t.Fatalf("after lock-out: %v", err)
		}
		a, err := s.SessionActor(ctx, secret, "10.0.0.1")
		if err != nil || a.Role != identity.RoleAdmin {
			t.Fatalf("session actor = %+v, %v", a, err)
		}
		clk.Advance(13 * time.Hour)
		if _, err := s.SessionActor(ctx, secret, ""); !errs.Is(err, errs.Unauthorized) {
			t.Fatalf("expired session: %v, want unauthorized", err)
		}
		if _, _, err := s.Login(ctx, "nobody", "whatever-password", ""); err != identity.ErrBadCredentials {
			t.Fatalf("unknown user: %v, want the same error as a wrong password", err)
		}
	})
}

func TestTokens(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		s, clk, ctx := newService(t, d)
		secret, _, err := s.Login(ctx, "admin", "admin-password-1", "")
		if err != nil {
			t.Fatal(err)
		}
		admin, _ := s.SessionActor(ctx, secret, "")
		actx := identity.WithActor(context.Background(), admin)
		tok, tsecret, err := s.CreateToken(actx, identity.TokenInput{Name: "ci", Scope: identity.ScopeRead, ExpiresIn: time.Hour})
		if err != nil || !strings.HasPrefix(tsecret, tok.Prefix) {
			t.Fatalf("create token = %+v, %v", tok, err)
		}
		if _, _, err := s.CreateToken(actx, identity.TokenInput{Name: "ci"}); errs.FieldOf(err) != "name" {
			t.Fatalf("duplicate token name: %v, want invalid name", err)
		}
		a, err := s.TokenActor(ctx, tsecret, "")
		if err != nil || a.Scope != identity.ScopeRead || a.Name != "admin" {
			t.Fatalf("token actor = %+v, %v", a, err)
		}
		deadline := time.Now().Add(5 * time.Second)
		for {
			toks, _ := s.ListTokens(actx)
			if len(toks) == 1 && toks[0].LastUsedAt != nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("token use not recorded: %+v", toks)
			}
			time.Sleep(20 * time.Millisecond)
		}
		if _, err := s.TokenActor(ctx, tsecret+"x", ""); !errs.Is(err, errs.Unauthorized) {
			t.Fatalf("wrong token: %v", err)
		}
		clk.Advance(time.Hour)
		if _, err := s.TokenActor(ctx, tsecret, ""); !errs.Is(err, errs.Unauthorized) {
			t.Fatalf("expired token: %v, want unauthorized", err)
		}
		_, w, _ := s.CreateToken(actx, identity.TokenInput{Name: "deploy"})
		if err := s.RevokeToken(actx, "deploy"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.TokenActor(ctx, w, ""); !errs.Is(err, errs.Unauthorized) {
			t.Fatalf("revoked token: %v, want unauthorized", err)
		}
		toks, err := s.ListTokens(actx)
		if err != nil || len(toks) != 2 || toks[0].RevokedAt == nil {
			t.Fatalf("list tokens = %+v, %v", toks, err)
		}
	})
}

func TestBootstrap_SetupLink(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		s := identity.NewService(d, clock.Real{}, nil, identity.Options{})
		ctx := context.Background()
		link, err := s.Bootstrap(ctx, "")
		if err != nil || link == "" {
			t.Fatalf("bootstrap without password = %q, %v; want a setup secret", link, err)
		}
		if !s.SetupValid(ctx, link) || s.SetupValid(ctx, link+"x") {
			t.Fatal("SetupValid wrong")
		}
		if _, err := s.CompleteSetup(ctx, link, "short", ""); errs.FieldOf(err) != "password" {
			t.Fatalf("short password: %v", err)
		}
		if _, err := s.CompleteSetup(ctx, link, "a-good-long-password", ""); err != nil {
			t.Fatal(err)
		}
		if _, err := s.CompleteSetup(ctx, link, "a-good-long-password", ""); !errs.Is(err, errs.Forbidden) {
			t.Fatalf("second use of the link: %v, want forbidden", err)
		}
		if again, _ := s.Bootstrap(ctx, ""); again != "" {
			t.Fatal("bootstrap with an admin present returned a setup link")
		}
	})
}

func TestUsers_LastAdminIsKept(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		s, _, ctx := newService(t, d)
		for _, change := range []identity.UserInput{{Role: identity.RoleOperator}, {Role: identity.RoleAdmin, Disabled: true}} {
			if _, err := s.UpdateUser(ctx, "admin", change, 0); !errs.Is(err, errs.Conflict) {
				t.Fatalf("demote or disable the last admin (%+v): %v, want conflict", change, err)
			}
		}
		if _, err := s.CreateUser(ctx, identity.UserInput{Name: "second", Role: identity.RoleAdmin}); err != nil {
			t.Fatal(err)
		}
		u, err := s.UpdateUser(ctx, "admin", identity.UserInput{Role: identity.RoleOperator}, 0)
		if err != nil || u.Role != identity.RoleOperator || !u.HasPassword {
			t.Fatalf("demote with another admin present = %+v, %v", u, err)
		}
		if err := s.DeleteUser(ctx, "second"); !errs.Is(err, errs.Conflict) {
			t.Fatalf("delete the last admin: %v, want conflict", err)
		}
	})
}
