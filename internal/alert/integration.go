package alert

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"groundcrew.dev/groundcrew/internal/db"
	"groundcrew.dev/groundcrew/internal/errs"
	"groundcrew.dev/groundcrew/internal/identity"
	"groundcrew.dev/groundcrew/internal/names"
)

// KeyPrefix starts every integration key, so that a leaked one is easy to
// recognise in logs and secret scanners.
const KeyPrefix = "gcik_"

// Type is the kind of sender an integration is for.
type Type string

// The integration types.
const (
	TypeAlertmanager Type = "alertmanager" // Prometheus (API v2) or an Alertmanager webhook receiver
	TypePagerDuty    Type = "pagerduty"    // PagerDuty Events v2 style senders
	TypeWebhook      Type = "webhook"      // the generic JSON webhook
)

// Types lists the integration types.
var Types = []Type{TypeAlertmanager, TypePagerDuty, TypeWebhook}

// Integration is an inbound alert source with its own key.
type Integration struct {
	ID         uuid.UUID  `json:"id"`
	Name       string     `json:"name"`
	Type       Type       `json:"type" enum:"alertmanager,pagerduty,webhook"`
	Service    string     `json:"service,omitempty" doc:"alerts it sends concern this service"`
	Team       string     `json:"team,omitempty" doc:"the team that owns it"`
	KeyPrefix  string     `json:"key_prefix" doc:"the first characters of the key, to recognise it"`
	CreatedBy  string     `json:"created_by"`
	CreatedAt  time.Time  `json:"created_at"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`

	serviceID, teamID, serviceOwner uuid.UUID
}

// IntegrationInput creates an integration.
type IntegrationInput struct {
	Name    string `json:"name"`
	Type    Type   `json:"type" enum:"alertmanager,pagerduty,webhook"`
	Service string `json:"service,omitempty" doc:"the catalog service its alerts concern"`
	Team    string `json:"team,omitempty" doc:"the owning team; default the service's owner"`
}

// Validate checks the input's own fields.
func (in *IntegrationInput) Validate() error {
	if err := names.Check("name", in.Name); err != nil {
		return err
	}
	switch in.Type {
	case TypeAlertmanager, TypePagerDuty, TypeWebhook:
	case "":
		return errs.Invalidf("type", "is required: alertmanager, pagerduty or webhook")
	default:
		return errs.Invalidf("type", "%q is not a type: want alertmanager, pagerduty or webhook", in.Type)
	}
	return nil
}

// CreateIntegration creates an integration and returns it with its key,
// which is shown only this once. Operators and admins may create any;
// members one for a service or team their team owns.
func (s *Service) CreateIntegration(ctx context.Context, in IntegrationInput) (Integration, string, error) {
	if err := identity.AuthorizeWriter(ctx); err != nil {
		return Integration{}, "", err
	}
	if err := in.Validate(); err != nil {
		return Integration{}, "", err
	}
	a := identity.ActorFrom(ctx)
	now := s.clock.Now()
	key, hash := newKey()
	it := Integration{ID: db.NewID(), Name: in.Name, Type: in.Type, Service: in.Service, Team: in.Team,
		KeyPrefix: key[:len(KeyPrefix)+6], CreatedBy: a.Name, CreatedAt: now}
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		owner := uuid.Nil
		if in.Service != "" {
			id, o, _, err := s.cat.ServiceRef(ctx, tx, "service", in.Service)
			if err != nil {
				return err
			}
			it.serviceID, owner = id, o
		}
		if in.Team != "" {
			id, err := s.teams.TeamID(ctx, tx, "team", in.Team)
			if err != nil {
				return err
			}
			it.teamID = id
			if owner == uuid.Nil {
				owner = id
			}
		}
		if err := identity.Authorize(ctx, identity.PermWriteOwned, owner); err != nil {
			return err
		}
		if it.teamID != uuid.Nil && it.teamID != owner {
			if err := identity.Authorize(ctx, identity.PermWriteOwned, it.teamID); err != nil {
				return err
			}
		}
		if err := insertIntegration(ctx, tx, it, hash); err != nil {
			return err
		}
		return s.record(ctx, tx, "create", "alert-integration", it.ID.String(), it.Name, nil, it)
	})
	if err != nil {
		return Integration{}, "", err
	}
	return it, key, nil
}

// ListIntegrations returns every integration by name, revoked ones
// included.
func (s *Service) ListIntegrations(ctx context.Context) ([]Integration, error) {
	if err := identity.Authorize(ctx, identity.PermRead, uuid.Nil); err != nil {
		return nil, err
	}
	return listIntegrations(ctx, s.db.Reader(), "", nil)
}

// RevokeIntegration revokes the integration called name: its key is
// refused from now on. The integration and its alerts stay, for history.
func (s *Service) RevokeIntegration(ctx context.Context, name string) error {
	if err := identity.AuthorizeWriter(ctx); err != nil {
		return err
	}
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		list, err := listIntegrations(ctx, tx, "WHERE i.name = $1", []any{name})
		if err != nil {
			return err
		}
		if len(list) == 0 || list[0].RevokedAt != nil {
			return errs.NotFoundf("no active integration called %q", name)
		}
		it := list[0]
		owner := it.teamID
		if owner == uuid.Nil {
			owner = it.serviceOwner
		}
		if err := identity.Authorize(ctx, identity.PermWriteOwned, owner); err != nil {
			return err
		}
		now := s.clock.Now()
		if _, err := tx.ExecContext(ctx, `UPDATE alert_integrations SET revoked_at = $2 WHERE id = $1`, it.ID, now); err != nil {
			return fmt.Errorf("revoke integration: %w", err)
		}
		s.limits.forget(it.ID)
		return s.record(ctx, tx, "revoke", "alert-integration", it.ID.String(), it.Name, nil, nil)
	})
	s.keys.clear() // after the commit: a key read meanwhile is not kept
	return err
}

// keyCacheTTL is how long an authenticated key is trusted without reading
// it again: a key revoked on another replica is refused within it (on
// the replica that revoked it, at once).
const keyCacheTTL = 5 * time.Second

// keyCache holds recently authenticated integrations by key hash: reading
// the key for every request cost a twentieth of the server's CPU while
// ingesting. Safe for concurrent use; the zero value is empty.
type keyCache struct {
	mu  sync.Mutex
	m   map[string]cachedKey
	gen uint64 // bumped by clear: a key read before it is not kept
}

type cachedKey struct {
	it      Integration
	expires time.Time
}

// get returns the cached integration of hash, or the generation to pass
// to put after reading it.
func (c *keyCache) get(hash string) (Integration, uint64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k, ok := c.m[hash]
	if !ok || time.Now().After(k.expires) {
		return Integration{}, c.gen, false
	}
	return k.it, c.gen, true
}

// put keeps it unless the cache was cleared since get returned gen.
func (c *keyCache) put(hash string, it Integration, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if c.m == nil || len(c.m) >= 10000 {
		c.m = map[string]cachedKey{}
	}
	c.m[hash] = cachedKey{it: it, expires: time.Now().Add(keyCacheTTL)}
}

func (c *keyCache) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m = nil
	c.gen++
}

// Authenticate returns the active integration whose key is key, or an
// Unauthorized error for an unknown or revoked key, or a TooMany error
// (with RetryAfter) when the key sent more than its rate allows.
func (s *Service) Authenticate(ctx context.Context, key string) (Integration, error) {
	key = strings.TrimSpace(key)
	if !strings.HasPrefix(key, KeyPrefix) || len(key) > 200 {
		return Integration{}, errs.Unauthorizedf("not a groundcrew integration key (gcik_…)")
	}
	hash := hashKey(key)
	it, gen, ok := s.keys.get(hash)
	if !ok {
		list, err := listIntegrations(ctx, s.db.Reader(), "WHERE i.key_hash = $1", []any{hash})
		if err != nil {
			return Integration{}, err
		}
		if len(list) == 0 {
			return Integration{}, errs.Unauthorizedf("unknown integration key")
		}
		it = list[0]
		if it.RevokedAt != nil {
			return Integration{}, errs.Unauthorizedf("integration %q was revoked", it.Name)
		}
		s.keys.put(hash, it, gen)
	}
	if wait, ok := s.limits.allow(it.ID, s.clock.Now()); !ok {
		return Integration{}, &RateLimited{Integration: it.Name, RetryAfter: wait}
	}
	return it, nil
}

// RateLimited is the error of a key that sent too much: the sender should
// wait RetryAfter. Its code is errs.TooMany.
type RateLimited struct {
	Integration string
	RetryAfter  time.Duration
}

// Error says which integration is throttled and when to retry.
func (e *RateLimited) Error() string {
	return fmt.Sprintf("integration %q sends too fast; retry in %s", e.Integration, e.RetryAfter.Round(time.Millisecond))
}

// Unwrap gives the coded error, so errs.CodeOf reports TooMany.
func (e *RateLimited) Unwrap() error { return &errs.Error{Code: errs.TooMany, Message: e.Error()} }

func newKey() (key, hash string) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	key = KeyPrefix + base64.RawURLEncoding.EncodeToString(b)
	return key, hashKey(key)
}

func hashKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// limiter is a token bucket per integration, in memory: each replica
// limits what it receives. Safe for concurrent use.
type limiter struct {
	rate  float64 // tokens per second
	burst float64
	mu    sync.Mutex
	b     map[uuid.UUID]*bucket
}

type bucket struct {
	tokens float64
	at     time.Time
}

func newLimiter(rate float64, burst int) *limiter {
	return &limiter{rate: rate, burst: float64(burst), b: map[uuid.UUID]*bucket{}}
}

// allow takes a token for id at now, or reports how long until one is
// available.
func (l *limiter) allow(id uuid.UUID, now time.Time) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.b[id]
	if b == nil {
		if len(l.b) > 100000 { // bounded memory: forget everyone, start full
			clear(l.b)
		}
		b = &bucket{tokens: l.burst, at: now}
		l.b[id] = b
	}
	if el := now.Sub(b.at).Seconds(); el > 0 {
		b.tokens = math.Min(l.burst, b.tokens+el*l.rate)
		b.at = now
	}
	if b.tokens >= 1 {
		b.tokens--
		return 0, true
	}
	wait := time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
	return max(wait, time.Millisecond), false
}

func (l *limiter) forget(id uuid.UUID) {
	l.mu.Lock()
	delete(l.b, id)
	l.mu.Unlock()
}
