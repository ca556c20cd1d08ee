// Package alert stores alerts and takes them in from every source:
// Prometheus (Alertmanager API v2), an Alertmanager's webhook (version 4),
// PagerDuty Events v2 style senders, a generic JSON webhook, people through
// the API, and the check runner (check.AlertSink).
//
// Every alert is written before its sender gets a 2xx: a request is parsed
// and validated whole first, then all its alerts are written in one
// transaction, so a bad alert in a batch rejects the batch and nothing is
// half-written. Each accepted alert is attributable to the integration key
// (or the person, or "check") that sent it.
//
// Identity: an alert's fingerprint is a stable hash of its sorted labels
// (Alertmanager's rule: two Prometheus servers of an HA pair sending the
// same alert make one), or, for senders that give a dedup key, of the
// integration and that key. At most one alert per fingerprint is open
// (firing); a firing alert received again is refreshed (its refresh count
// goes up, never a duplicate). An alert that resolved and fires again is a
// new row whose history says "refired" and names the previous one, so
// flapping is visible.
//
// Resolution: an explicit resolve (endsAt in the past, event_action
// resolve, status resolved, a check back UP) closes the open alert. An
// endsAt in the future is Alertmanager's "resolve at": the alert resolves
// then unless refreshed. That is evaluated by a periodic sweep (Sweeper,
// every 15 s by default) and lazily on ingestion (a refresh of an alert
// whose endsAt passed starts a new alert). Alerts sent without endsAt
// resolve after Options.ResolveTimeout (5 min, as Alertmanager).
package alert

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"groundcrew.dev/groundcrew/internal/errs"
)

// Status is an alert's status.
type Status string

// The statuses.
const (
	Firing   Status = "firing"
	Resolved Status = "resolved"
)

// Severities PagerDuty-style senders may give; other sources may use any
// short word (Prometheus rules often say "page" or "ticket").
var Severities = []string{"critical", "error", "warning", "info"}

// Source says where an alert came from.
type Source string

// The sources.
const (
	SourceAlertmanager Source = "alertmanager" // Prometheus or an Alertmanager
	SourcePagerDuty    Source = "pagerduty"
	SourceWebhook      Source = "webhook"
	SourceCheck        Source = "check"
	SourceAPI          Source = "api" // a person through the API
)

// Limits on what one alert may carry.
const (
	MaxLabels        = 64
	MaxLabelValue    = 4096
	MaxAnnotation    = 16 << 10
	MaxSummary       = 1024
	MaxDedupKey      = 255
	MaxGeneratorURL  = 2048
	MaxSeverity      = 32
	MaxAlertsPerPost = 10000
)

// Alert is a stored alert.
type Alert struct {
	ID             uuid.UUID         `json:"id"`
	Fingerprint    string            `json:"fingerprint"`
	Status         Status            `json:"status" enum:"firing,resolved"`
	Severity       string            `json:"severity,omitempty"`
	Summary        string            `json:"summary,omitempty"`
	Labels         map[string]string `json:"labels"`
	Annotations    map[string]string `json:"annotations,omitempty"`
	Source         Source            `json:"source"`
	Integration    string            `json:"integration,omitempty" doc:"the integration whose key sent it"`
	Service        string            `json:"service,omitempty"`
	DedupKey       string            `json:"dedup_key,omitempty"`
	GeneratorURL   string            `json:"generator_url,omitempty"`
	StartsAt       time.Time         `json:"starts_at"`
	EndsAt         *time.Time        `json:"ends_at,omitempty" doc:"firing: when it resolves unless refreshed; resolved: when it resolved"`
	LastSeenAt     time.Time         `json:"last_seen_at"`
	RefreshCount   int64             `json:"refresh_count" doc:"how many times it was received while open"`
	AcknowledgedAt *time.Time        `json:"acknowledged_at,omitempty"`
}

// EventKind names a step in an alert's life.
type EventKind string

// The event kinds.
const (
	EventFired        EventKind = "fired"
	EventRefired      EventKind = "refired" // fired again after a resolve: flapping when it comes soon
	EventRefreshed    EventKind = "refreshed"
	EventResolved     EventKind = "resolved"
	EventExpired      EventKind = "expired" // resolved because endsAt passed without a refresh
	EventAcknowledged EventKind = "acknowledged"
	EventRouted       EventKind = "routed"   // the dispatcher sent it to a route and group
	EventMuted        EventKind = "muted"    // left out of a notification: a silence, an inhibition rule or a time interval
	EventPaged        EventKind = "paged"    // opened or joined a page of an escalation policy
	EventNotified     EventKind = "notified" // reported to a receiver (or recorded without one: "unrouted")
)

// Event is one step in an alert's history.
type Event struct {
	ID          uuid.UUID      `json:"id"`
	At          time.Time      `json:"at"`
	Kind        EventKind      `json:"kind"`
	Actor       string         `json:"actor,omitempty" doc:"who or what caused it: an integration, a user, check, system"`
	Integration string         `json:"integration,omitempty"`
	Detail      map[string]any `json:"detail,omitempty"`
}

// Incoming is one alert as a sender gave it, in any format, before it is
// stored. The parsers fill it; Validate checks it.
type Incoming struct {
	Labels       map[string]string
	Annotations  map[string]string
	Summary      string
	Severity     string
	DedupKey     string // for PagerDuty-style and webhook senders: identity instead of the labels
	GeneratorURL string
	StartsAt     time.Time // zero: when received
	// EndsAt zero means "no end given"; in the past: resolved; in the
	// future: resolves then unless refreshed.
	EndsAt time.Time
	// Resolve marks an explicit resolve (PagerDuty resolve, webhook status
	// resolved), whatever EndsAt says.
	Resolve bool
	// Acknowledge marks a PagerDuty acknowledge: the open alert is
	// acknowledged, nothing fires.
	Acknowledge bool
	// KeepOpen makes a firing alert without EndsAt stay open until
	// resolved, even from an integration whose alerts otherwise expire
	// (an Alertmanager webhook re-sends only every repeat_interval).
	KeepOpen bool
	Service  string // a catalog service name the sender named ("" none)
}

// Validate checks the alert as a whole; field names are relative to the
// alert ("labels.job", "startsAt").
func (in *Incoming) Validate(now time.Time, maxFuture time.Duration) error {
	if len(in.Labels) == 0 && in.DedupKey == "" {
		return errs.Invalidf("labels", "must not be empty")
	}
	if err := checkLabelSet("labels", in.Labels, MaxLabelValue); err != nil {
		return err
	}
	if err := checkLabelSet("annotations", in.Annotations, MaxAnnotation); err != nil {
		return err
	}
	if err := checkText("summary", in.Summary, MaxSummary); err != nil {
		return err
	}
	if err := checkText("severity", in.Severity, MaxSeverity); err != nil {
		return err
	}
	if err := checkText("dedup_key", in.DedupKey, MaxDedupKey); err != nil {
		return err
	}
	if err := checkText("generatorURL", in.GeneratorURL, MaxGeneratorURL); err != nil {
		return err
	}
	if !in.StartsAt.IsZero() && in.StartsAt.After(now.Add(maxFuture)) {
		return errs.Invalidf("startsAt", "%s is too far in the future", in.StartsAt.UTC().Format(time.RFC3339))
	}
	if !in.StartsAt.IsZero() && !in.EndsAt.IsZero() && in.EndsAt.Before(in.StartsAt) {
		return errs.Invalidf("endsAt", "must not be before startsAt")
	}
	if !in.StartsAt.IsZero() && in.StartsAt.Year() < 1970 {
		return errs.Invalidf("startsAt", "is before 1970")
	}
	return nil
}

// checkLabelSet checks names against Prometheus's label name rule and
// values for UTF-8 and length.
func checkLabelSet(field string, m map[string]string, maxValue int) error {
	if len(m) > MaxLabels {
		return errs.Invalidf(field, "at most %d entries", MaxLabels)
	}
	var buf [16]string
	for _, k := range sortedKeys(m, buf[:0]) {
		if !ValidLabelName(k) {
			return errs.Invalidf(field, "%q is not a valid label name: want [a-zA-Z_][a-zA-Z0-9_]*", truncate(k, 100))
		}
		if err := checkText(field+"."+k, m[k], maxValue); err != nil {
			return err
		}
	}
	return nil
}

func checkText(field, s string, max int) error {
	if len(s) > max {
		return errs.Invalidf(field, "must be at most %d bytes", max)
	}
	if !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
		return errs.Invalidf(field, "must be valid UTF-8 without NUL")
	}
	return nil
}

// ValidLabelName reports whether s matches [a-zA-Z_][a-zA-Z0-9_]*, the
// label names Prometheus and Alertmanager accept.
func ValidLabelName(s string) bool {
	if s == "" || len(s) > 256 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9' {
			continue
		}
		return false
	}
	return true
}

// Fingerprint returns the stable identity of a label set: a hash of the
// labels sorted by name, independent of map order.
func Fingerprint(labels map[string]string) string {
	h := sha256.New()
	var buf [16]string
	for _, k := range sortedKeys(labels, buf[:0]) {
		h.Write([]byte(k))
		h.Write([]byte{0xff})
		h.Write([]byte(labels[k]))
		h.Write([]byte{0xff})
	}
	return hex.EncodeToString(h.Sum(nil)[:12])
}

// DedupFingerprint returns the identity of an alert a sender names by a
// dedup key, scoped to scope (an integration id, or "check").
func DedupFingerprint(scope, key string) string {
	sum := sha256.Sum256([]byte("dedup\x00" + scope + "\x00" + key))
	return "d" + hex.EncodeToString(sum[:12])
}

// sortedKeys appends the keys of m to buf, sorted: with a buffer on the
// caller's stack, without allocating for the usual few labels.
func sortedKeys(m map[string]string, buf []string) []string {
	for k := range m {
		buf = append(buf, k)
	}
	slices.Sort(buf)
	return buf
}

// truncate cuts s to at most n bytes at a character boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// indexed prefixes the field of a validation error with "alerts[i]".
func indexed(prefix string, i int, err error) error {
	return errs.WithField(fmt.Sprintf("%s[%d]", prefix, i), err)
}
