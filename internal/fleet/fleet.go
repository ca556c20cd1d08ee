// Package fleet is groundcrew's side of the host agent: enrollment tokens
// that operators hand out, the agents enrolled with them and the
// per-agent credentials the agents then authenticate with.
//
// An agent enrolls once with a token (which names the agent's location and
// expires, optionally after a number of uses) and receives a credential of
// its own; only hashes of tokens and credentials are stored. Later the same
// agent will report host inventory; today it probes the health checks
// assigned to its location (package check does the checks' side).
package fleet

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"groundcrew.dev/groundcrew/internal/audit"
	"groundcrew.dev/groundcrew/internal/clock"
	"groundcrew.dev/groundcrew/internal/db"
	"groundcrew.dev/groundcrew/internal/errs"
	"groundcrew.dev/groundcrew/internal/identity"
	"groundcrew.dev/groundcrew/internal/names"
)

// Protocol is the version of the agent protocol this server speaks. The
// agent sends the version it speaks when it enrolls; a server refuses an
// agent it does not understand instead of misreading it.
const Protocol = 1

// Secret prefixes make a leaked secret easy to recognise.
const (
	tokenPrefix      = "gcet_" // enrollment token
	credentialPrefix = "gca_"  // agent credential
)

// Defaults and bounds of enrollment tokens.
const (
	DefaultTokenTTL = 24 * time.Hour
	MaxTokenTTL     = 30 * 24 * time.Hour
)

// EnrollToken lets agents enroll at a location until it expires.
type EnrollToken struct {
	ID     uuid.UUID `json:"id"`
	Name   string    `json:"name"`
	Prefix string    `json:"prefix" doc:"the start of the secret, to recognise it"`
	// Location is the location agents enrolling with the token probe
	// from; empty lets each agent name its own.
	Location string `json:"location,omitempty"`
	// UsesLeft is how many more agents may enroll with it; nil: any number
	// until it expires.
	UsesLeft  *int       `json:"uses_left,omitempty"`
	CreatedBy string     `json:"created_by"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt time.Time  `json:"expires_at"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
}

// TokenInput describes an enrollment token to create.
type TokenInput struct {
	Name     string `json:"name"`
	Location string `json:"location,omitempty" doc:"the location agents enrolling with it probe from; empty: each agent names its own"`
	// ExpiresIn is the token's lifetime; zero means DefaultTokenTTL.
	ExpiresIn time.Duration `json:"-"`
	// Uses bounds how many agents may enroll; zero means any number.
	Uses int `json:"uses,omitempty" minimum:"0"`
}

// Agent is an enrolled agent.
type Agent struct {
	ID         uuid.UUID  `json:"id"`
	Name       string     `json:"name"`
	Location   string     `json:"location"`
	Prefix     string     `json:"prefix"`
	Hostname   string     `json:"hostname,omitempty"`
	Version    string     `json:"version,omitempty"`
	Protocol   int        `json:"protocol"`
	Token      string     `json:"token" doc:"the enrollment token it joined with"`
	EnrolledAt time.Time  `json:"enrolled_at"`
	LastSeenAt *time.Time `json:"last_seen_at,omitempty"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
}

// Enrollment is what an agent sends to enroll.
type Enrollment struct {
	Token string `json:"token"`
	Name  string `json:"name" doc:"the agent's name, unique; usually the host name"`
	// Location is where the agent probes from: required when the token
	// names none, else it must be the token's (or empty).
	Location string `json:"location,omitempty"`
	Hostname string `json:"hostname,omitempty"`
	Version  string `json:"version,omitempty"`
	Protocol int    `json:"protocol"`
}

// Enrolled is the server's answer to an enrollment: the agent's identity
// and its credential, which is never shown again.
type Enrolled struct {
	Agent      Agent  `json:"agent"`
	Credential string `json:"credential"`
	Protocol   int    `json:"protocol"`
}

// Options configure the Service. The zero value is a safe default.
type Options struct {
	Logger *slog.Logger
}

// Service manages enrollment tokens and agents. Safe for concurrent use.
//
// Operators and admins create and revoke tokens and revoke agents; every
// signed-in user may list them. Enrolling needs no account (the token is
// the credential), and agents authenticate with their own credential.
type Service struct {
	db    *db.DB
	clock clock.Clock
	log   *slog.Logger

	seenMu sync.Mutex
	seen   map[uuid.UUID]time.Time // last-seen times recorded, to write them at most once a minute
}

// NewService returns a fleet service.
func NewService(d *db.DB, c clock.Clock, opts Options) *Service {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{db: d, clock: c, log: log, seen: map[uuid.UUID]time.Time{}}
}

func (s *Service) record(ctx context.Context, tx *sql.Tx, actor audit.Actor, action, kind string, id uuid.UUID, name string, before, after any) error {
	return audit.Append(ctx, tx, s.clock.Now(), audit.Entry{
		Actor: actor, Action: action, ObjectKind: kind,
		ObjectID: id.String(), ObjectName: name, Before: before, After: after,
	})
}

// CreateToken creates an enrollment token and returns it with its secret,
// which is never shown again.
func (s *Service) CreateToken(ctx context.Context, in TokenInput) (EnrollToken, string, error) {
	if err := identity.Authorize(ctx, identity.PermWriteCatalog, uuid.Nil); err != nil {
		return EnrollToken{}, "", err
	}
	if err := names.Check("name", in.Name); err != nil {
		return EnrollToken{}, "", err
	}
	if in.Location != "" {
		if err := checkLocation("location", in.Location); err != nil {
			return EnrollToken{}, "", err
		}
	}
	ttl := in.ExpiresIn
	if ttl == 0 {
		ttl = DefaultTokenTTL
	}
	if ttl < time.Minute || ttl > MaxTokenTTL {
		return EnrollToken{}, "", errs.Invalidf("expires_in", "must be between 1m and %s", MaxTokenTTL)
	}
	if in.Uses < 0 || in.Uses > 100_000 {
		return EnrollToken{}, "", errs.Invalidf("uses", "must be 0 (any number) to 100000")
	}
	now := s.clock.Now()
	actor := identity.ActorFrom(ctx).Audit()
	t := EnrollToken{ID: db.NewID(), Name: in.Name, Location: in.Location, CreatedBy: actor.Name,
		CreatedAt: now, ExpiresAt: now.Add(ttl)}
	if in.Uses > 0 {
		t.UsesLeft = &in.Uses
	}
	secret, hash := identity.NewSecret(tokenPrefix)
	t.Prefix = secret[:len(tokenPrefix)+6]
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO agent_enroll_tokens
			(id, name, token_hash, prefix, location, uses_left, created_by, created_at, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			t.ID, t.Name, hash, t.Prefix, t.Location, t.UsesLeft, t.CreatedBy, now, t.ExpiresAt); err != nil {
			if db.IsUniqueViolation(err) {
				return errs.Conflictf("an enrollment token called %q exists", t.Name)
			}
			return fmt.Errorf("create enrollment token: %w", err)
		}
		return s.record(ctx, tx, actor, "create", "enroll-token", t.ID, t.Name, nil, t)
	})
	if err != nil {
		return EnrollToken{}, "", err
	}
	return t, secret, nil
}

// ListTokens returns the enrollment tokens, newest first, revoked and
// expired ones included.
func (s *Service) ListTokens(ctx context.Context) ([]EnrollToken, error) {
	if err := identity.Authorize(ctx, identity.PermRead, uuid.Nil); err != nil {
		return nil, err
	}
	rows, err := s.db.Reader().QueryContext(ctx, `SELECT id, name, prefix, location, uses_left, created_by, created_at, expires_at, revoked_at
		FROM agent_enroll_tokens ORDER BY created_at DESC, id DESC LIMIT 1000`)
	if err != nil {
		return nil, fmt.Errorf("list enrollment tokens: %w", err)
	}
	defer rows.Close()
	var out []EnrollToken
	for rows.Next() {
		var t EnrollToken
		var uses sql.NullInt64
		var revoked sql.NullTime
		if err := rows.Scan(&t.ID, &t.Name, &t.Prefix, &t.Location, &uses, &t.CreatedBy, &t.CreatedAt, &t.ExpiresAt, &revoked); err != nil {
			return nil, fmt.Errorf("list enrollment tokens: %w", err)
		}
		if uses.Valid {
			n := int(uses.Int64)
			t.UsesLeft = &n
		}
		t.RevokedAt = timePtr(revoked)
		out = append(out, t)
	}
	return out, rows.Err()
}

// RevokeToken revokes an enrollment token: no agent can enroll with it
// any more. Agents already enrolled with it keep working.
func (s *Service) RevokeToken(ctx context.Context, name string) error {
	if err := identity.Authorize(ctx, identity.PermWriteCatalog, uuid.Nil); err != nil {
		return err
	}
	now := s.clock.Now()
	return s.db.InTx(ctx, func(tx *sql.Tx) error {
		var id uuid.UUID
		err := tx.QueryRowContext(ctx, `UPDATE agent_enroll_tokens SET revoked_at = $1 WHERE name = $2 AND revoked_at IS NULL RETURNING id`, now, name).Scan(&id)
		if db.IsNoRows(err) {
			return errs.NotFoundf("no enrollment token %q that is not revoked", name)
		}
		if err != nil {
			return fmt.Errorf("revoke enrollment token: %w", err)
		}
		return s.record(ctx, tx, identity.ActorFrom(ctx).Audit(), "revoke", "enroll-token", id, name, nil, nil)
	})
}

// errBadToken is returned for any refused enrollment, whatever the reason,
// so that a caller cannot probe for tokens.
var errBadToken = errs.Unauthorizedf("the enrollment token is unknown, expired, used up or revoked")

// Enroll enrolls an agent with an enrollment token and returns its
// credential. A name already taken by an agent that is not revoked is a
// conflict (revoke the old agent to enroll a replacement).
func (s *Service) Enroll(ctx context.Context, in Enrollment) (Enrolled, error) {
	if in.Protocol != Protocol {
		return Enrolled{}, errs.Invalidf("protocol", "this server speaks agent protocol %d, the agent %d: upgrade the older of the two", Protocol, in.Protocol)
	}
	if err := names.Check("name", in.Name); err != nil {
		return Enrolled{}, err
	}
	if len(in.Hostname) > 253 || len(in.Version) > 100 {
		return Enrolled{}, errs.Invalidf("hostname", "hostname and version must be at most 253 and 100 characters")
	}
	if in.Location != "" {
		if err := checkLocation("location", in.Location); err != nil {
			return Enrolled{}, err
		}
	}
	if !strings.HasPrefix(in.Token, tokenPrefix) || len(in.Token) > 100 {
		return Enrolled{}, errBadToken
	}
	now := s.clock.Now()
	secret, hash := identity.NewSecret(credentialPrefix)
	a := Agent{ID: db.NewID(), Name: in.Name, Prefix: secret[:len(credentialPrefix)+6], Hostname: in.Hostname,
		Version: in.Version, Protocol: in.Protocol, EnrolledAt: now}
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		var tokID uuid.UUID
		var uses sql.NullInt64
		var expires time.Time
		var revoked sql.NullTime
		err := tx.QueryRowContext(ctx, `SELECT id, name, location, uses_left, expires_at, revoked_at FROM agent_enroll_tokens WHERE token_hash = $1`,
			identity.HashSecret(in.Token)).Scan(&tokID, &a.Token, &a.Location, &uses, &expires, &revoked)
		if db.IsNoRows(err) {
			return errBadToken
		}
		if err != nil {
			return fmt.Errorf("enroll: %w", err)
		}
		if revoked.Valid || !now.Before(expires) || uses.Valid && uses.Int64 <= 0 {
			return errBadToken
		}
		switch {
		case a.Location != "" && in.Location != "" && in.Location != a.Location:
			return errs.Invalidf("location", "the enrollment token is for location %q, not %q", a.Location, in.Location)
		case a.Location == "" && in.Location == "":
			return errs.Invalidf("location", "required: the enrollment token names no location")
		case a.Location == "":
			a.Location = in.Location
		}
		if uses.Valid {
			if _, err := tx.ExecContext(ctx, `UPDATE agent_enroll_tokens SET uses_left = uses_left - 1 WHERE id = $1`, tokID); err != nil {
				return fmt.Errorf("enroll: %w", err)
			}
		}
		var taken bool
		if err := tx.QueryRowContext(ctx, `SELECT revoked_at IS NULL FROM agents WHERE name = $1`, a.Name).Scan(&taken); err == nil {
			if taken {
				return errs.Conflictf("an agent called %q is enrolled: revoke it first, or enroll under another name", a.Name)
			}
			// A revoked agent's name is free again: drop the old row.
			if _, err := tx.ExecContext(ctx, `DELETE FROM agents WHERE name = $1`, a.Name); err != nil {
				return fmt.Errorf("enroll: %w", err)
			}
		} else if !db.IsNoRows(err) {
			return fmt.Errorf("enroll: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO agents (id, name, location, credential_hash, prefix, hostname, version, protocol, token_name, enrolled_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
			a.ID, a.Name, a.Location, hash, a.Prefix, a.Hostname, a.Version, a.Protocol, a.Token, now); err != nil {
			return fmt.Errorf("enroll: %w", err)
		}
		return s.record(ctx, tx, audit.Actor{Name: "agent:" + a.Name}, "enroll", "agent", a.ID, a.Name, nil, a)
	})
	if err != nil {
		return Enrolled{}, err
	}
	s.log.Info("agent enrolled", "agent", a.Name, "location", a.Location, "token", a.Token)
	return Enrolled{Agent: a, Credential: secret, Protocol: Protocol}, nil
}

// errBadCredential is returned for any refused agent credential.
var errBadCredential = errs.Unauthorizedf("unknown or revoked agent credential: enroll the agent again")

// Authenticate returns the agent a credential belongs to, or an
// Unauthorized error when it is unknown or revoked. It records when the
// agent was last seen (at most once a minute per agent).
func (s *Service) Authenticate(ctx context.Context, credential string) (Agent, error) {
	if !strings.HasPrefix(credential, credentialPrefix) || len(credential) > 100 {
		return Agent{}, errBadCredential
	}
	a, err := scanAgent(s.db.Reader().QueryRowContext(ctx, agentColumns+` WHERE credential_hash = $1`, identity.HashSecret(credential)))
	if db.IsNoRows(err) || err == nil && a.RevokedAt != nil {
		return Agent{}, errBadCredential
	}
	if err != nil {
		return Agent{}, fmt.Errorf("authenticate agent: %w", err)
	}
	now := s.clock.Now()
	s.seenMu.Lock()
	last, ok := s.seen[a.ID]
	touch := !ok || now.Sub(last) >= time.Minute
	if touch {
		s.seen[a.ID] = now
	}
	s.seenMu.Unlock()
	if touch {
		if _, err := s.db.Writer().ExecContext(ctx, `UPDATE agents SET last_seen_at = $1 WHERE id = $2`, now, a.ID); err != nil {
			s.log.Warn("record agent last seen", "agent", a.Name, "err", err)
		}
	}
	return a, nil
}

const agentColumns = `SELECT id, name, location, prefix, hostname, version, protocol, token_name, enrolled_at, last_seen_at, revoked_at FROM agents`

func scanAgent(sc interface{ Scan(...any) error }) (Agent, error) {
	var a Agent
	var seen, revoked sql.NullTime
	err := sc.Scan(&a.ID, &a.Name, &a.Location, &a.Prefix, &a.Hostname, &a.Version, &a.Protocol, &a.Token, &a.EnrolledAt, &seen, &revoked)
	a.LastSeenAt, a.RevokedAt = timePtr(seen), timePtr(revoked)
	return a, err
}

// ListAgents returns the enrolled agents by name, revoked ones included.
func (s *Service) ListAgents(ctx context.Context) ([]Agent, error) {
	if err := identity.Authorize(ctx, identity.PermRead, uuid.Nil); err != nil {
		return nil, err
	}
	rows, err := s.db.Reader().QueryContext(ctx, agentColumns+` ORDER BY name LIMIT 10000`)
	if err != nil {
		return nil, fmt.Errorf("list agents: %w", err)
	}
	defer rows.Close()
	var out []Agent
	for rows.Next() {
		a, err := scanAgent(rows)
		if err != nil {
			return nil, fmt.Errorf("list agents: %w", err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// RevokeAgent revokes an agent's credential: its next request is refused.
func (s *Service) RevokeAgent(ctx context.Context, name string) error {
	if err := identity.Authorize(ctx, identity.PermWriteCatalog, uuid.Nil); err != nil {
		return err
	}
	now := s.clock.Now()
	return s.db.InTx(ctx, func(tx *sql.Tx) error {
		var id uuid.UUID
		err := tx.QueryRowContext(ctx, `UPDATE agents SET revoked_at = $1 WHERE name = $2 AND revoked_at IS NULL RETURNING id`, now, name).Scan(&id)
		if db.IsNoRows(err) {
			return errs.NotFoundf("no enrolled agent %q that is not revoked", name)
		}
		if err != nil {
			return fmt.Errorf("revoke agent: %w", err)
		}
		return s.record(ctx, tx, identity.ActorFrom(ctx).Audit(), "revoke", "agent", id, name, nil, nil)
	})
}

// checkLocation validates a location name: a DNS label other than the
// server's own "local" and heartbeats' "ping".
func checkLocation(field, name string) error {
	if err := names.Check(field, name); err != nil {
		return err
	}
	if name == "local" || name == "ping" {
		return errs.Invalidf(field, "%q is reserved for the server itself", name)
	}
	return nil
}

func timePtr(t sql.NullTime) *time.Time {
	if !t.Valid {
		return nil
	}
	v := t.Time
	return &v
}
