package fleet_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"groundcrew.dev/groundcrew/internal/audit"
	"groundcrew.dev/groundcrew/internal/clock"
	"groundcrew.dev/groundcrew/internal/db"
	"groundcrew.dev/groundcrew/internal/db/dbtest"
	"groundcrew.dev/groundcrew/internal/errs"
	"groundcrew.dev/groundcrew/internal/fleet"
	"groundcrew.dev/groundcrew/internal/identity"
)

func as(role identity.Role, scope identity.Scope) context.Context {
	return identity.WithActor(context.Background(), &identity.Actor{UserID: uuid.New(), Name: string(role), Role: role, Scope: scope, Via: "session"})
}

func TestEnrollment(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		clk := clock.NewFake(time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC))
		svc := fleet.NewService(d, clk, fleet.Options{})
		op := as(identity.RoleOperator, identity.ScopeWrite)
		ctx := context.Background()

		// Who may create tokens, and what is refused.
		for _, ctx := range []context.Context{as(identity.RoleMember, identity.ScopeWrite), as(identity.RoleViewer, identity.ScopeWrite), as(identity.RoleOperator, identity.ScopeRead), ctx} {
			if _, _, err := svc.CreateToken(ctx, fleet.TokenInput{Name: "x", Location: "eu"}); err == nil {
				t.Fatal("a token created without the right")
			}
		}
		for _, bad := range []struct {
			in    fleet.TokenInput
			field string
		}{
			{fleet.TokenInput{Name: "Bad Name"}, "name"},
			{fleet.TokenInput{Name: "a", Location: "local"}, "location"},
			{fleet.TokenInput{Name: "a", ExpiresIn: 60 * 24 * time.Hour}, "expires_in"},
			{fleet.TokenInput{Name: "a", Uses: -1}, "uses"},
		} {
			if _, _, err := svc.CreateToken(op, bad.in); errs.FieldOf(err) != bad.field {
				t.Errorf("CreateToken(%+v) = %v, want an error naming %s", bad.in, err, bad.field)
			}
		}

		tok, secret, err := svc.CreateToken(op, fleet.TokenInput{Name: "eu-hosts", Location: "eu", ExpiresIn: time.Hour, Uses: 2})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(secret, "gcet_") || !strings.HasPrefix(secret, tok.Prefix) || *tok.UsesLeft != 2 {
			t.Fatalf("token %+v, secret %q", tok, secret)
		}
		if _, _, err := svc.CreateToken(op, fleet.TokenInput{Name: "eu-hosts"}); !errs.Is(err, errs.Conflict) {
			t.Fatalf("duplicate name: %v", err)
		}

		enroll := func(name, loc string) (fleet.Enrolled, error) {
			return svc.Enroll(ctx, fleet.Enrollment{Token: secret, Name: name, Location: loc, Protocol: fleet.Protocol})
		}
		a1, err := enroll("edge-1", "")
		if err != nil {
			t.Fatal(err)
		}
		if a1.Agent.Location != "eu" || !strings.HasPrefix(a1.Credential, "gca_") {
			t.Fatalf("enrolled = %+v", a1)
		}
		if _, err := enroll("edge-2", "us"); errs.FieldOf(err) != "location" {
			t.Fatalf("enrolling elsewhere than the token's location: %v", err)
		}
		if _, err := enroll("edge-1", "eu"); !errs.Is(err, errs.Conflict) {
			t.Fatalf("a second agent under a taken name: %v", err)
		}
		if _, err := enroll("edge-2", "eu"); err != nil {
			t.Fatal(err)
		}
		if _, err := enroll("edge-3", "eu"); !errs.Is(err, errs.Unauthorized) {
			t.Fatalf("a used-up token: %v", err)
		}

		got, err := svc.Authenticate(ctx, a1.Credential)
		if err != nil || got.Name != "edge-1" || got.Location != "eu" {
			t.Fatalf("Authenticate = %+v, %v", got, err)
		}
		for _, bad := range []string{"", "gca_nope", "gct_other-kind", strings.Repeat("gca_", 100)} {
			if _, err := svc.Authenticate(ctx, bad); !errs.Is(err, errs.Unauthorized) {
				t.Errorf("Authenticate(%q) = %v", bad, err)
			}
		}

		// Revoked agents are refused; their name is free again.
		if err := svc.RevokeAgent(as(identity.RoleMember, identity.ScopeWrite), "edge-1"); !errs.Is(err, errs.Forbidden) {
			t.Fatalf("a member revoking an agent: %v", err)
		}
		if err := svc.RevokeAgent(op, "edge-1"); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Authenticate(ctx, a1.Credential); !errs.Is(err, errs.Unauthorized) {
			t.Fatalf("revoked credential: %v", err)
		}

		// Expired and revoked tokens are refused alike.
		tok2, secret2, err := svc.CreateToken(op, fleet.TokenInput{Name: "any-location", ExpiresIn: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		if tok2.UsesLeft != nil || tok2.Location != "" {
			t.Fatalf("token = %+v", tok2)
		}
		if _, err := svc.Enroll(ctx, fleet.Enrollment{Token: secret2, Name: "edge-1", Protocol: fleet.Protocol}); errs.FieldOf(err) != "location" {
			t.Fatalf("no location anywhere: %v", err)
		}
		re, err := svc.Enroll(ctx, fleet.Enrollment{Token: secret2, Name: "edge-1", Location: "ap", Protocol: fleet.Protocol})
		if err != nil || re.Agent.Location != "ap" {
			t.Fatalf("re-enrolling a revoked agent's name: %+v, %v", re, err)
		}
		clk.Advance(time.Hour)
		if _, err := svc.Enroll(ctx, fleet.Enrollment{Token: secret2, Name: "edge-9", Location: "ap", Protocol: fleet.Protocol}); !errs.Is(err, errs.Unauthorized) {
			t.Fatalf("expired token: %v", err)
		}
		if err := svc.RevokeToken(op, "eu-hosts"); err != nil {
			t.Fatal(err)
		}
		if err := svc.RevokeToken(op, "eu-hosts"); !errs.Is(err, errs.NotFound) {
			t.Fatalf("revoking twice: %v", err)
		}

		list, err := svc.ListAgents(as(identity.RoleViewer, identity.ScopeRead))
		if err != nil || len(list) != 2 {
			t.Fatalf("ListAgents = %+v, %v", list, err)
		}
		toks, err := svc.ListTokens(as(identity.RoleViewer, identity.ScopeRead))
		if err != nil || len(toks) != 2 || toks[0].Name != "any-location" || toks[1].RevokedAt == nil || *toks[1].UsesLeft != 0 {
			t.Fatalf("ListTokens = %+v, %v", toks, err)
		}
		// Every change is in the audit log, and the chain holds.
		recs, err := audit.List(ctx, d.Reader(), audit.Filter{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		var kinds []string
		for _, r := range recs {
			kinds = append(kinds, r.Action+" "+r.ObjectKind)
		}
		joined := strings.Join(kinds, ",")
		for _, want := range []string{"create enroll-token", "enroll agent", "revoke agent", "revoke enroll-token"} {
			if !strings.Contains(joined, want) {
				t.Errorf("audit lacks %q: %s", want, joined)
			}
		}
		if rep, err := audit.Verify(ctx, d.Reader()); err != nil || !rep.OK {
			t.Fatalf("audit verify: %+v, %v", rep, err)
		}
	})
}
