package apply

import (
	"context"
	"database/sql"

	"groundcrew.dev/groundcrew/internal/catalog"
	"groundcrew.dev/groundcrew/internal/errs"
	"groundcrew.dev/groundcrew/internal/identity"
)

// TeamSpec is the spec of a Team document.
type TeamSpec struct {
	DisplayName string   `json:"display_name,omitempty"`
	Description string   `json:"description,omitempty"`
	Email       string   `json:"email,omitempty"`
	Chat        string   `json:"chat,omitempty"`
	Members     []string `json:"members,omitempty"`
}

// UserSpec is the spec of a User document. Passwords are never part of a
// document: set them in the UI or API.
type UserSpec struct {
	DisplayName string        `json:"display_name,omitempty"`
	Email       string        `json:"email,omitempty"`
	Role        identity.Role `json:"role"`
	Disabled    bool          `json:"disabled,omitempty"`
}

func doc(kind, name string, labels map[string]string, spec any) Document {
	return Document{APIVersion: APIVersion, Kind: kind, Metadata: Metadata{Name: name, Labels: labels}, Spec: EncodeSpec(spec)}
}

// pageAll collects every page of a list function.
func pageAll[T any](list func(after string) ([]T, string, error)) ([]T, error) {
	var all []T
	after := ""
	for {
		page, next, err := list(after)
		if err != nil {
			return nil, err
		}
		all = append(all, page...)
		if next == "" {
			return all, nil
		}
		after = next
	}
}

// RegisterCore registers the kinds of the foundation: Team, User,
// Environment, Service, Tool.
func RegisterCore(r *Registry, ids *identity.Service, cat *catalog.Catalog) {
	requireWrite := func(ctx context.Context) error {
		return identity.Authorize(ctx, identity.PermWriteCatalog, [16]byte{})
	}
	r.Register(&Kind{
		Name: "User", Table: "users", Plural: "users", Aliases: []string{"user"}, Order: 10,
		Columns: []Column{{"ROLE", "spec.role"}, {"EMAIL", "spec.email"}, {"DISPLAY NAME", "spec.display_name"}},
		Put: func(ctx context.Context, tx *sql.Tx, d Document, origin string) (string, error) {
			if err := identity.Authorize(ctx, identity.PermManageUsers, [16]byte{}); err != nil {
				return "", err
			}
			var spec UserSpec
			if err := DecodeSpec(d, &spec); err != nil {
				return "", err
			}
			before, err := ids.GetUserTx(ctx, tx, d.Metadata.Name)
			if err != nil && !errs.Is(err, errs.NotFound) {
				return "", err
			}
			u, err := ids.PutUserTx(ctx, tx, identity.UserInput{Name: d.Metadata.Name, DisplayName: spec.DisplayName, Email: spec.Email,
				Role: spec.Role, Disabled: spec.Disabled}, origin, 0, false)
			if err != nil {
				return "", err
			}
			return Action(u.Revision != before.Revision, u.Revision), nil
		},
		Delete: func(ctx context.Context, tx *sql.Tx, name string) error {
			if err := identity.Authorize(ctx, identity.PermManageUsers, [16]byte{}); err != nil {
				return err
			}
			return ids.DeleteUserTx(ctx, tx, name)
		},
		Export: func(ctx context.Context) ([]Document, error) {
			users, err := pageAll(func(after string) ([]identity.User, string, error) {
				return ids.ListUsers(identity.WithActor(ctx, identity.System()), identity.ListOptions{After: after, Limit: 1000})
			})
			out := make([]Document, len(users))
			for i, u := range users {
				out[i] = doc("User", u.Name, nil, UserSpec{DisplayName: u.DisplayName, Email: u.Email, Role: u.Role, Disabled: u.Disabled})
			}
			return out, err
		},
	})
	r.Register(&Kind{
		Name: "Team", Table: "teams", Plural: "teams", Aliases: []string{"team", "group"}, Order: 20,
		Columns: []Column{{"DISPLAY NAME", "spec.display_name"}, {"MEMBERS", "spec.members"}, {"CHAT", "spec.chat"}},
		Put: func(ctx context.Context, tx *sql.Tx, d Document, origin string) (string, error) {
			var spec TeamSpec
			if err := DecodeSpec(d, &spec); err != nil {
				return "", err
			}
			before, err := ids.GetTeamTx(ctx, tx, d.Metadata.Name)
			switch {
			case errs.Is(err, errs.NotFound):
				err = requireWrite(ctx)
			case err == nil:
				err = identity.Authorize(ctx, identity.PermWriteOwned, before.ID)
			}
			if err != nil {
				return "", err
			}
			t, err := ids.PutTeamTx(ctx, tx, identity.TeamInput{Name: d.Metadata.Name, DisplayName: spec.DisplayName, Description: spec.Description,
				Email: spec.Email, Chat: spec.Chat, Members: spec.Members, Labels: d.Metadata.Labels}, origin, 0, false)
			if err != nil {
				return "", err
			}
			return Action(t.Revision != before.Revision, t.Revision), nil
		},
		Delete: func(ctx context.Context, tx *sql.Tx, name string) error {
			if err := requireWrite(ctx); err != nil {
				return err
			}
			return ids.DeleteTeamTx(ctx, tx, name, 0)
		},
		Export: func(ctx context.Context) ([]Document, error) {
			teams, err := pageAll(func(after string) ([]identity.Team, string, error) {
				return ids.ListTeams(identity.WithActor(ctx, identity.System()), identity.ListOptions{After: after, Limit: 1000})
			})
			out := make([]Document, len(teams))
			for i, t := range teams {
				out[i] = doc("Team", t.Name, t.Labels, TeamSpec{DisplayName: t.DisplayName, Description: t.Description, Email: t.Email,
					Chat: t.Chat, Members: t.Members})
			}
			return out, err
		},
	})
	r.Register(&Kind{
		Name: "Environment", Table: "environments", Plural: "environments", Aliases: []string{"environment", "env", "envs"}, Order: 30,
		Columns: []Column{{"CRITICALITY", "spec.criticality"}, {"DISPLAY NAME", "spec.display_name"}},
		Put: func(ctx context.Context, tx *sql.Tx, d Document, origin string) (string, error) {
			if err := requireWrite(ctx); err != nil {
				return "", err
			}
			var spec catalog.EnvironmentSpec
			if err := DecodeSpec(d, &spec); err != nil {
				return "", err
			}
			e, changed, err := cat.PutEnvironmentTx(ctx, tx, catalog.EnvironmentInput{Name: d.Metadata.Name, Labels: d.Metadata.Labels, EnvironmentSpec: spec}, origin, 0, false)
			return Action(changed, e.Revision), err
		},
		Delete: func(ctx context.Context, tx *sql.Tx, name string) error {
			if err := requireWrite(ctx); err != nil {
				return err
			}
			return cat.DeleteEnvironmentTx(ctx, tx, name, 0)
		},
		Export: func(ctx context.Context) ([]Document, error) {
			envs, err := pageAll(func(after string) ([]catalog.Environment, string, error) {
				return cat.ListEnvironments(identity.WithActor(ctx, identity.System()), catalog.ListOptions{After: after, Limit: 1000})
			})
			out := make([]Document, len(envs))
			for i, e := range envs {
				out[i] = doc("Environment", e.Name, e.Labels, e.EnvironmentSpec)
			}
			return out, err
		},
	})
	r.Register(&Kind{
		Name: "Tool", Table: "tools", Plural: "tools", Aliases: []string{"tool"}, Order: 40,
		Columns: []Column{{"TYPE", "spec.type"}, {"OWNER", "spec.owner"}, {"URL", "spec.url"}},
		Put: func(ctx context.Context, tx *sql.Tx, d Document, origin string) (string, error) {
			var spec catalog.ToolSpec
			if err := DecodeSpec(d, &spec); err != nil {
				return "", err
			}
			x, changed, err := cat.PutToolTx(ctx, tx, catalog.ToolInput{Name: d.Metadata.Name, Labels: d.Metadata.Labels, ToolSpec: spec}, origin, 0, false)
			return Action(changed, x.Revision), err
		},
		Delete: func(ctx context.Context, tx *sql.Tx, name string) error { return cat.DeleteToolTx(ctx, tx, name, 0) },
		Export: func(ctx context.Context) ([]Document, error) {
			tools, err := pageAll(func(after string) ([]catalog.Tool, string, error) {
				return cat.ListTools(identity.WithActor(ctx, identity.System()), catalog.ListOptions{After: after, Limit: 1000}, "")
			})
			out := make([]Document, len(tools))
			for i, x := range tools {
				out[i] = doc("Tool", x.Name, x.Labels, x.ToolSpec)
			}
			return out, err
		},
	})
	r.Register(&Kind{
		Name: "Service", Table: "services", Plural: "services", Aliases: []string{"service", "svc"}, Order: 50,
		Columns: []Column{{"OWNER", "spec.owner"}, {"TIER", "spec.tier"}, {"LIFECYCLE", "spec.lifecycle"}, {"ENVIRONMENTS", "spec.environments"}},
		Put: func(ctx context.Context, tx *sql.Tx, d Document, origin string) (string, error) {
			var spec catalog.ServiceSpec
			if err := DecodeSpec(d, &spec); err != nil {
				return "", err
			}
			s, changed, err := cat.PutServiceTx(ctx, tx, catalog.ServiceInput{Name: d.Metadata.Name, Labels: d.Metadata.Labels, ServiceSpec: spec}, origin, 0, false)
			return Action(changed, s.Revision), err
		},
		Delete: func(ctx context.Context, tx *sql.Tx, name string) error { return cat.DeleteServiceTx(ctx, tx, name, 0) },
		Export: func(ctx context.Context) ([]Document, error) {
			svcs, err := pageAll(func(after string) ([]catalog.Service, string, error) {
				return cat.ListServices(identity.WithActor(ctx, identity.System()), catalog.ListOptions{After: after, Limit: 1000}, catalog.ServiceFilter{})
			})
			out := make([]Document, len(svcs))
			for i, s := range svcs {
				out[i] = doc("Service", s.Name, s.Labels, s.ServiceSpec)
			}
			return out, err
		},
	})
}
