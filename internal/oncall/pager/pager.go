// Package pager pages people: an alert group routed to an escalation
// policy opens a page, and the pager notifies the policy's steps one after
// the other — each person through their contact methods and notification
// rules — until someone acknowledges or resolves it.
//
// Everything is durable and exactly once. A page row holds the
// escalation's state (step, round, when the next step is due) and a
// version; the pager advances a page only where the version is still the
// one it read, and writes what the step owes each person (page_sends) in
// the same transaction, so a restart or a second replica never notifies a
// step twice nor skips one. The sender bundles the due sends of a contact
// method into one message, within the method's throttle, and marks them
// sent in the transaction that queues the message (a notify delivery:
// retries, attempts and failures as for every notification).
//
// The escalation arithmetic is package escalation's; who is on call and
// how to reach them, package oncall's.
package pager

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"

	"groundcrew.dev/groundcrew/internal/clock"
	"groundcrew.dev/groundcrew/internal/db"
	"groundcrew.dev/groundcrew/internal/notify"
	"groundcrew.dev/groundcrew/internal/oncall"
	"groundcrew.dev/groundcrew/internal/signedlink"
)

// Status is a page's state.
type Status string

// The statuses.
const (
	Triggered    Status = "triggered"    // escalating: nobody acknowledged yet
	Acknowledged Status = "acknowledged" // someone is on it: escalation stopped (unless snoozed)
	Resolved     Status = "resolved"     // closed
)

// Page is one page: what it is about, where its escalation stands, and
// (from Get) its history and what it sent.
type Page struct {
	ID       uuid.UUID         `json:"id"`
	GroupKey string            `json:"group_key,omitempty" doc:"the alert group that opened it; empty for a page opened by hand"`
	Policy   string            `json:"policy" doc:"the escalation policy"`
	Service  string            `json:"service,omitempty"`
	Team     string            `json:"team,omitempty"`
	Summary  string            `json:"summary"`
	Labels   map[string]string `json:"labels,omitempty" doc:"the labels the page's alerts share"`
	Alerts   []AlertRef        `json:"alerts,omitempty" doc:"the alerts that opened or joined it"`
	Status   Status            `json:"status" enum:"triggered,acknowledged,resolved"`
	// Step and Round: the step that notified last (-1 before the first)
	// in the pass through the policy (0 is the first pass).
	Step      int        `json:"step"`
	Round     int        `json:"round"`
	NextAt    *time.Time `json:"next_at,omitempty" doc:"when the next step notifies (for an acknowledged page: when its snooze ends)"`
	Exhausted bool       `json:"exhausted,omitempty" doc:"every step of every round notified and nobody acknowledged"`

	AcknowledgedBy string     `json:"acknowledged_by,omitempty"`
	AcknowledgedAt *time.Time `json:"acknowledged_at,omitempty"`
	ResolvedBy     string     `json:"resolved_by,omitempty"`
	ResolvedAt     *time.Time `json:"resolved_at,omitempty"`
	CreatedAt      time.Time  `json:"created_at"`
	UpdatedAt      time.Time  `json:"updated_at"`

	Events []Event `json:"events,omitempty" doc:"the page's history, oldest first (only when reading one page)"`
	Sends  []Send  `json:"sends,omitempty" doc:"what each step owed each person (only when reading one page)"`

	seq     int
	version int64
}

// StepNo is the step that notified last, counted from 1 (0: none yet).
func (p Page) StepNo() int { return p.Step + 1 }

// StepNo and RoundNo are a send's step and round counted from 1.
func (s Send) StepNo() int  { return s.Step + 1 }
func (s Send) RoundNo() int { return s.Round + 1 }

// Snoozed reports whether the page is acknowledged with a snooze running.
func (p Page) Snoozed() bool { return p.Status == Acknowledged && p.NextAt != nil }

// AlertRef names an alert of a page.
type AlertRef struct {
	ID          uuid.UUID `json:"id,omitempty"`
	Fingerprint string    `json:"fingerprint,omitempty"`
	Summary     string    `json:"summary,omitempty"`
}

// Event is a step of a page's life.
type Event struct {
	At     time.Time      `json:"at"`
	Kind   string         `json:"kind" doc:"opened, alerts_added, notified, nobody_on_call, unreachable, message, message_failed, acknowledged, escalated, snoozed, snooze_ended, resolved, exhausted, policy_missing"`
	Actor  string         `json:"actor,omitempty"`
	Detail map[string]any `json:"detail,omitempty"`
}

// Send is what one step's notification owed one person through one
// contact method.
type Send struct {
	Step      int        `json:"step"`
	Round     int        `json:"round"`
	User      string     `json:"user"`
	Method    string     `json:"method" doc:"the contact method's name"`
	Type      string     `json:"type"`
	DueAt     time.Time  `json:"due_at"`
	Status    string     `json:"status" enum:"pending,sent,cancelled"`
	MessageID *uuid.UUID `json:"message_id,omitempty"`
}

// OpenInput opens a page.
type OpenInput struct {
	GroupKey string            `json:"-"`
	Policy   string            `json:"policy" maxLength:"63" doc:"the escalation policy to page"`
	Service  string            `json:"service,omitempty" maxLength:"63"`
	Team     string            `json:"team,omitempty" maxLength:"63"`
	Summary  string            `json:"summary" maxLength:"500" doc:"what is wrong, in one line"`
	Labels   map[string]string `json:"labels,omitempty"`
	Alerts   []AlertRef        `json:"-"`
}

// Directory is what the pager needs of package oncall; *oncall.Service
// implements it.
type Directory interface {
	PolicyTx(ctx context.Context, q db.Querier, name string) (oncall.EscalationPolicy, error)
	ContactsTx(ctx context.Context, q db.Querier, user string) ([]oncall.Contact, error)
	Recipients(ctx context.Context, step oncall.Step, at time.Time) ([]string, error)
}

var _ Directory = (*oncall.Service)(nil)

// Notifier queues a message to one address; *notify.Service implements it.
type Notifier interface {
	EnqueueDirect(ctx context.Context, tx *sql.Tx, t notify.Target, n *notify.Notification) (notify.Delivery, error)
}

var _ Notifier = (*notify.Service)(nil)

// Leader says whether this replica runs the pager now; jobs.Leader
// implements it.
type Leader interface {
	Held(ctx context.Context) bool
	Release(ctx context.Context)
}

// Signer signs and verifies action links; secret.Box implements it.
type Signer = signedlink.Signer

// Incidents hears what pages do, for the timelines of the open incidents
// of their services; the server adapts incident.Service to it. Record
// returns the incidents it wrote to.
type Incidents interface {
	RecordTx(ctx context.Context, tx *sql.Tx, services []string, kind, text string, detail map[string]any, at time.Time, actor string) ([]int64, error)
	AcknowledgedTx(ctx context.Context, tx *sql.Tx, numbers []int64, at time.Time, by string) error
}

// Throttle bounds the messages one contact method receives: at most
// Messages within any Window. Pages due meanwhile wait and go out bundled
// in the next message.
type Throttle struct {
	Messages int
	Window   time.Duration
}

// DefaultThrottle: one message a minute per contact method, as GoAlert
// does. A window's allowance spent in a burst would hold every later page
// for the rest of the window; one a minute bounds how long a page waits
// for its message (a minute and the bundling wait) and how many messages a
// long storm sends (60 an hour, each bundling what came meanwhile).
var DefaultThrottle = Throttle{Messages: 1, Window: time.Minute}

// Options configure a Pager. The zero value is a safe default for one
// replica.
type Options struct {
	Clock  clock.Clock
	Logger *slog.Logger
	// Leader, if set, decides which replica pages; nil means this one.
	Leader Leader
	// Tick is how often due steps and sends are looked at; default 1 s.
	Tick time.Duration
	// BundleWait is how long a contact method's first due send waits for
	// others to join its message; default 2 s.
	BundleWait time.Duration
	// Throttle per contact method; zero: DefaultThrottle.
	Throttle Throttle
	// Mailer names the receiver whose e-mail channel sends page e-mail.
	Mailer string
	// BaseURL is groundcrew's address, for links in messages.
	BaseURL string
	// Signer signs the acknowledge and resolve links; nil: no links.
	Signer Signer
	// Incidents, if set, hears of pages opened, acknowledged, escalated
	// and resolved (an acknowledgement also starts MTTA of the open
	// incidents of the page's service).
	Incidents Incidents
}

// Pager opens pages and drives their escalation. Safe for concurrent use.
type Pager struct {
	db     *db.DB
	dir    Directory
	notify Notifier
	opts   Options
	log    *slog.Logger
	wake   chan struct{}

	cancel context.CancelFunc
	done   chan struct{}
}

// New returns a pager.
func New(d *db.DB, dir Directory, n Notifier, opts Options) *Pager {
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Tick <= 0 {
		opts.Tick = time.Second
	}
	if opts.BundleWait <= 0 {
		opts.BundleWait = 2 * time.Second
	}
	if opts.Throttle.Messages <= 0 || opts.Throttle.Window <= 0 {
		opts.Throttle = DefaultThrottle
	}
	return &Pager{db: d, dir: dir, notify: n, opts: opts, log: opts.Logger, wake: make(chan struct{}, 1)}
}

// errConflict is returned when a page changed under an operation (another
// replica or request got there first); the operation did nothing.
var errConflict = errors.New("pager: the page changed meanwhile")

// details is the details column.
type details struct {
	Labels map[string]string `json:"labels,omitempty"`
	Alerts []AlertRef        `json:"alerts,omitempty"`
}

func marshalDetail(v any) string {
	if v == nil {
		return "{}"
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "{}"
	}
	return string(b)
}

// maxAlertsPerPage bounds the alerts a page lists (a storm joins one page).
const maxAlertsPerPage = 100

// tellIncidents records a page's event on the timelines of the open
// incidents of its service; ack marks their first acknowledgement.
func (p *Pager) tellIncidents(ctx context.Context, tx *sql.Tx, pg *Page, kind, text, actor string, ack bool) error {
	if p.opts.Incidents == nil || pg.Service == "" {
		return nil
	}
	now := p.opts.Clock.Now()
	nums, err := p.opts.Incidents.RecordTx(ctx, tx, []string{pg.Service}, kind, text,
		map[string]any{"page": pg.ID, "policy": pg.Policy}, now, actor)
	if err != nil || !ack || len(nums) == 0 {
		return err
	}
	return p.opts.Incidents.AcknowledgedTx(ctx, tx, nums, now, actor)
}

func fmtStep(step, round int) string {
	if round == 0 {
		return fmt.Sprintf("step %d", step+1)
	}
	return fmt.Sprintf("step %d (round %d)", step+1, round+1)
}
