// Package identity holds users, teams, roles, sessions and API tokens, the
// Actor that every request carries in its context, and the authorization
// rules that every service asks before it acts.
package identity

import (
	"context"
	"slices"

	"github.com/google/uuid"

	"groundcrew.dev/groundcrew/internal/audit"
	"groundcrew.dev/groundcrew/internal/errs"
)

// Role is what a user may do across groundcrew.
type Role string

// The roles, from most to least powerful.
const (
	RoleAdmin    Role = "admin"    // everything, including users and roles
	RoleOperator Role = "operator" // the Ops team: changes anything in the catalog
	RoleMember   Role = "member"   // developers: change what their teams own
	RoleViewer   Role = "viewer"   // read only
)

// Roles lists every role, most powerful first.
var Roles = []Role{RoleAdmin, RoleOperator, RoleMember, RoleViewer}

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return slices.Contains(Roles, r) }

// Scope limits what an API token may do, whatever its owner's role.
type Scope string

// The token scopes.
const (
	ScopeRead  Scope = "read"
	ScopeWrite Scope = "write"
)

// Actor is who performs an operation: a person (through a session or an API
// token) or the system itself (jobs, start-up configuration).
type Actor struct {
	UserID  uuid.UUID
	Name    string
	Role    Role
	TeamIDs []uuid.UUID
	Scope   Scope  // ScopeWrite for sessions and the system
	Via     string // "session", "token", "system"
	Addr    string // source address of the request
}

// System returns the actor for work groundcrew does on its own behalf.
func System() *Actor {
	return &Actor{Name: "system", Role: RoleAdmin, Scope: ScopeWrite, Via: "system"}
}

// InTeam reports whether the actor is a member of team.
func (a *Actor) InTeam(team uuid.UUID) bool { return slices.Contains(a.TeamIDs, team) }

// Audit returns the actor as the audit log records it.
func (a *Actor) Audit() audit.Actor {
	if a == nil {
		return audit.Actor{Name: "anonymous"}
	}
	id := ""
	if a.UserID != uuid.Nil {
		id = a.UserID.String()
	}
	return audit.Actor{ID: id, Name: a.Name, Addr: a.Addr}
}

type actorKey struct{}

// WithActor returns ctx carrying a.
func WithActor(ctx context.Context, a *Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFrom returns the actor in ctx, or nil.
func ActorFrom(ctx context.Context) *Actor {
	a, _ := ctx.Value(actorKey{}).(*Actor)
	return a
}

// Permission names an operation that authorization decides on.
type Permission string

// The permissions. Each service asks Authorize for one before it acts.
const (
	PermRead            Permission = "read"              // read the catalog, teams, users
	PermWriteOwned      Permission = "write-owned"       // change an object owned by a team (members: their own teams)
	PermWriteCatalog    Permission = "write-catalog"     // change shared catalog objects: environments, teams
	PermManageUsers     Permission = "manage-users"      // create users, change roles
	PermReadAudit       Permission = "read-audit"        // read the audit log
	PermManageOwnTokens Permission = "manage-own-tokens" // create and revoke one's own API tokens
)

// Can reports whether the actor may exercise perm on an object owned by
// owner (uuid.Nil when the object has no owning team). A read-scoped token
// may only read.
func (a *Actor) Can(perm Permission, owner uuid.UUID) bool {
	if a == nil {
		return false
	}
	if a.Scope == ScopeRead && perm != PermRead && perm != PermReadAudit {
		return false
	}
	switch a.Role {
	case RoleAdmin:
		return true
	case RoleOperator:
		return perm != PermManageUsers
	case RoleMember:
		switch perm {
		case PermRead, PermManageOwnTokens:
			return true
		case PermWriteOwned:
			return owner != uuid.Nil && a.InTeam(owner)
		}
		return false
	case RoleViewer:
		return perm == PermRead || perm == PermManageOwnTokens
	}
	return false
}

// AuthorizeWriter returns an error unless the actor in ctx may change at
// least something (a role above viewer and a write-scoped credential). It
// lets services refuse a viewer with 403 before validating the input.
func AuthorizeWriter(ctx context.Context) error {
	a := ActorFrom(ctx)
	switch {
	case a == nil:
		return errs.Unauthorizedf("authentication required")
	case a.Scope == ScopeRead:
		return errs.Forbiddenf("this API token is read-only")
	case a.Role == RoleViewer:
		return errs.Forbiddenf("role viewer may not change anything")
	}
	return nil
}

// Authorize returns nil when the actor in ctx may exercise perm on an
// object owned by owner, an Unauthorized error when there is no actor, and
// a Forbidden error otherwise.
func Authorize(ctx context.Context, perm Permission, owner uuid.UUID) error {
	a := ActorFrom(ctx)
	if a == nil {
		return errs.Unauthorizedf("authentication required")
	}
	if !a.Can(perm, owner) {
		if a.Scope == ScopeRead && perm != PermRead {
			return errs.Forbiddenf("this API token is read-only")
		}
		return errs.Forbiddenf("role %s may not %s", a.Role, perm)
	}
	return nil
}
