package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"groundcrew.dev/groundcrew/internal/errs"
	"groundcrew.dev/groundcrew/internal/identity"
)

// WhoAmI describes the caller.
type WhoAmI struct {
	Name  string         `json:"name"`
	Role  identity.Role  `json:"role"`
	Scope identity.Scope `json:"scope"`
	Via   string         `json:"via" doc:"session or token"`
	Teams []string       `json:"teams"`
}

// TokenCreate asks for a new API token.
type TokenCreate struct {
	Name      string         `json:"name" maxLength:"63" doc:"unique among your tokens"`
	Scope     identity.Scope `json:"scope,omitempty" enum:"read,write" doc:"default write"`
	ExpiresIn string         `json:"expires_in,omitempty" doc:"Go duration, e.g. 720h; default 90 days" maxLength:"20"`
}

// TokenCreated is a new token with its secret, shown only this once.
type TokenCreated struct {
	identity.Token
	Secret string `json:"secret" doc:"the token; it is not shown again"`
}

// LoginToken exchanges a user name and password for an API token (what
// `groundcrew login` does).
type LoginToken struct {
	User      string         `json:"user" maxLength:"63"`
	Password  string         `json:"password" maxLength:"512"`
	TokenName string         `json:"token_name" maxLength:"63"`
	Scope     identity.Scope `json:"scope,omitempty" enum:"read,write"`
	ExpiresIn string         `json:"expires_in,omitempty" maxLength:"20"`
}

func parseExpiry(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 || d > 5*365*24*time.Hour {
		return 0, errs.Invalidf("expires_in", "%q is not a duration between 1s and 5 years (e.g. 720h)", s)
	}
	return d, nil
}

func (a *API) registerIdentity() {
	ids := a.cfg.Identity
	huma.Register(a.huma, huma.Operation{
		OperationID: "whoami", Method: http.MethodGet, Path: "/whoami", Tags: []string{"Identity"}, Summary: "Who am I",
	}, func(ctx context.Context, _ *struct{}) (*struct{ Body WhoAmI }, error) {
		actor := identity.ActorFrom(ctx)
		if actor == nil {
			return nil, a.fail(ctx, errs.Unauthorizedf("authentication required"))
		}
		u, err := ids.GetUser(ctx, actor.Name)
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		return &struct{ Body WhoAmI }{WhoAmI{Name: actor.Name, Role: actor.Role, Scope: actor.Scope, Via: actor.Via, Teams: u.Teams}}, nil
	})
	huma.Register(a.huma, huma.Operation{
		OperationID: "login-token", Method: http.MethodPost, Path: "/auth/token", Tags: []string{"Identity"},
		Summary:       "Exchange a password for an API token",
		Description:   "Used by `groundcrew login`. Failed attempts count towards the same lock-out as the login page.",
		DefaultStatus: http.StatusCreated, MaxBodyBytes: 64 << 10, Security: []map[string][]string{},
	}, func(ctx context.Context, in *struct{ Body LoginToken }) (*struct{ Body TokenCreated }, error) {
		exp, err := parseExpiry(in.Body.ExpiresIn)
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		addr := ""
		if r, ok := ctx.Value(requestKey{}).(*http.Request); ok {
			addr = ClientAddr(r)
		}
		session, user, err := ids.Login(ctx, in.Body.User, in.Body.Password, addr)
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		defer ids.Logout(context.WithoutCancel(ctx), session)
		actor, err := ids.SessionActor(ctx, session, addr)
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		_ = user
		tok, secret, err := ids.CreateToken(identity.WithActor(ctx, actor), identity.TokenInput{Name: in.Body.TokenName, Scope: in.Body.Scope, ExpiresIn: exp})
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		return &struct{ Body TokenCreated }{TokenCreated{tok, secret}}, nil
	})
	huma.Register(a.huma, huma.Operation{
		OperationID: "list-tokens", Method: http.MethodGet, Path: "/tokens", Tags: []string{"Identity"}, Summary: "List my API tokens",
	}, func(ctx context.Context, _ *struct{}) (*PageOutput[identity.Token], error) {
		toks, err := ids.ListTokens(ctx)
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		return page(toks, ""), nil
	})
	huma.Register(a.huma, huma.Operation{
		OperationID: "create-token", Method: http.MethodPost, Path: "/tokens", Tags: []string{"Identity"},
		Summary: "Create an API token", DefaultStatus: http.StatusCreated, MaxBodyBytes: 64 << 10,
	}, func(ctx context.Context, in *struct{ Body TokenCreate }) (*struct{ Body TokenCreated }, error) {
		exp, err := parseExpiry(in.Body.ExpiresIn)
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		tok, secret, err := ids.CreateToken(ctx, identity.TokenInput{Name: in.Body.Name, Scope: in.Body.Scope, ExpiresIn: exp})
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		return &struct{ Body TokenCreated }{TokenCreated{tok, secret}}, nil
	})
	huma.Register(a.huma, huma.Operation{
		OperationID: "revoke-token", Method: http.MethodDelete, Path: "/tokens/{name}", Tags: []string{"Identity"},
		Summary: "Revoke one of my API tokens", DefaultStatus: http.StatusNoContent,
	}, func(ctx context.Context, in *NameParam) (*struct{}, error) {
		if err := ids.RevokeToken(ctx, in.Name); err != nil {
			return nil, a.fail(ctx, err)
		}
		return nil, nil
	})

	huma.Register(a.huma, huma.Operation{
		OperationID: "list-users", Method: http.MethodGet, Path: "/users", Tags: []string{"Identity"}, Summary: "List users",
	}, func(ctx context.Context, in *ListParams) (*PageOutput[identity.User], error) {
		opts, err := in.Options()
		if err != nil {
			return nil, err
		}
		items, next, err := ids.ListUsers(ctx, opts)
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		return page(items, next), nil
	})
	registerCRUD(a, crud[identity.User, identity.UserInput]{
		plural: "users", singular: "user", tag: "Identity",
		get: ids.GetUser, create: ids.CreateUser, update: ids.UpdateUser,
		delete: func(ctx context.Context, name string, _ int64) error {
			return ids.DeleteUser(ctx, name)
		},
		revision: func(u identity.User) int64 { return u.Revision },
	})
	huma.Register(a.huma, huma.Operation{
		OperationID: "list-teams", Method: http.MethodGet, Path: "/teams", Tags: []string{"Identity"}, Summary: "List teams",
	}, func(ctx context.Context, in *ListParams) (*PageOutput[identity.Team], error) {
		opts, err := in.Options()
		if err != nil {
			return nil, err
		}
		items, next, err := ids.ListTeams(ctx, opts)
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		return page(items, next), nil
	})
	registerCRUD(a, crud[identity.Team, identity.TeamInput]{
		plural: "teams", singular: "team", tag: "Identity",
		get: ids.GetTeam, create: ids.CreateTeam, update: ids.UpdateTeam, delete: ids.DeleteTeam,
		revision: func(t identity.Team) int64 { return t.Revision },
	})
}

type requestKey struct{}

// WithRequest stores the request in its context so that handlers needing
// the peer address (login throttling) can reach it.
func WithRequest(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestKey{}, r)))
	})
}
