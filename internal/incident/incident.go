// Package incident runs incident command: declaring an incident (by hand,
// from an alert or from a ticket), its severity, status, roles and
// affected services, the append-only timeline of everything that happened,
// status updates to the public status pages, the postmortem with its
// action items, and the MTTA/MTTR reports.
//
// Other domains write into incidents only through the Service's
// transactional hooks — DeclareTx, RecordForServicesTx and
// MarkAcknowledgedTx — inside their own transactions.
package incident

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"groundcrew.dev/groundcrew/internal/errs"
	"groundcrew.dev/groundcrew/internal/names"
)

// Severity ranks an incident: SEV1 is the worst.
type Severity string

// The severities.
const (
	SEV1 Severity = "SEV1"
	SEV2 Severity = "SEV2"
	SEV3 Severity = "SEV3"
	SEV4 Severity = "SEV4"
)

// SeverityDefinition says what a severity means, so that everyone declares
// alike.
type SeverityDefinition struct {
	Severity    Severity `json:"severity" enum:"SEV1,SEV2,SEV3,SEV4"`
	Name        string   `json:"name"`
	Description string   `json:"description"`
}

// Severities are the fixed severity definitions, worst first.
var Severities = []SeverityDefinition{
	{SEV1, "Critical", "A critical customer-facing outage: the product or a core function (sign-in, payments, data) is down or losing data for many customers. All hands; status page update within 15 minutes."},
	{SEV2, "Major", "A major degradation: a core function is unavailable for some customers or badly slow for many, or a SEV1 is imminent. Respond at once, around the clock."},
	{SEV3, "Minor", "A partial degradation with a workaround, or a non-core function down; customers may notice. Respond within business hours."},
	{SEV4, "Low", "A minor issue with no customer impact yet: an internal tool down, a near miss, a risk to track."},
}

// Valid reports whether s is one of SEV1–SEV4.
func (s Severity) Valid() bool {
	return slices.ContainsFunc(Severities, func(d SeverityDefinition) bool { return d.Severity == s })
}

// Status is where an incident stands.
type Status string

// The statuses, in their usual order. Any open status may follow any
// other; resolved needs a summary and only re-opens to investigating.
const (
	Investigating Status = "investigating"
	Identified    Status = "identified"
	Monitoring    Status = "monitoring"
	Resolved      Status = "resolved"
)

// Statuses lists the statuses in order.
var Statuses = []Status{Investigating, Identified, Monitoring, Resolved}

// Valid reports whether s is a status.
func (s Status) Valid() bool { return slices.Contains(Statuses, s) }

// Open reports whether s is not resolved.
func (s Status) Open() bool { return s != Resolved }

// The built-in roles; any other valid name is a custom role.
const (
	RoleLead           = "lead"
	RoleCommunications = "communications"
	RoleScribe         = "scribe"
)

// The sources an incident can be declared from.
const (
	SourceManual = "manual"
	SourceAlert  = "alert"
	SourceTicket = "ticket"
)

// Limits on what people type.
const (
	MaxTitle    = 200
	MaxText     = 10000
	MaxServices = 50
	MaxRef      = 200
)

// Source is what an incident was declared from.
type Source struct {
	Kind string `json:"kind" enum:"manual,alert,ticket"`
	Ref  string `json:"ref,omitempty" doc:"the alert's id, or the ticket reference (free text)"`
}

// AffectedService is a catalog service an incident affects, with its owning
// team as it is now ("" when the service no longer exists).
type AffectedService struct {
	Name  string `json:"name"`
	Owner string `json:"owner,omitempty" doc:"the owning team, from the catalog"`
}

// RoleAssignment is a person holding a role in an incident.
type RoleAssignment struct {
	Role       string    `json:"role"`
	User       string    `json:"user"`
	AssignedAt time.Time `json:"assigned_at"`
}

// StatusNotice is the notice an incident posts to on one status page.
type StatusNotice struct {
	Page   string `json:"page"`
	Number int64  `json:"number" doc:"the notice's number on that page"`
}

// Incident is a declared incident.
type Incident struct {
	ID       uuid.UUID `json:"id"`
	Number   int64     `json:"number" doc:"sequential per installation"`
	Key      string    `json:"key" doc:"how people say it: INC-7"`
	Title    string    `json:"title"`
	Severity Severity  `json:"severity" enum:"SEV1,SEV2,SEV3,SEV4"`
	Status   Status    `json:"status" enum:"investigating,identified,monitoring,resolved"`
	Summary  string    `json:"summary,omitempty" doc:"what happened; required to resolve"`
	Source   Source    `json:"source"`
	// Lead is the incident lead: there is always exactly one.
	Lead           string            `json:"lead"`
	Roles          []RoleAssignment  `json:"roles" doc:"by role: lead first, then communications, scribe and custom roles"`
	Services       []AffectedService `json:"services" doc:"affected catalog services, by name"`
	Teams          []string          `json:"teams" doc:"the affected services' owning teams, by name"`
	StatusNotices  []StatusNotice    `json:"status_notices,omitempty" doc:"where status updates were posted"`
	DeclaredBy     string            `json:"declared_by"`
	DeclaredAt     time.Time         `json:"declared_at"`
	AcknowledgedAt *time.Time        `json:"acknowledged_at,omitempty" doc:"the first acknowledgement (of a page), for MTTA"`
	AcknowledgedBy string            `json:"acknowledged_by,omitempty"`
	MitigatedAt    *time.Time        `json:"mitigated_at,omitempty" doc:"when it first reached monitoring or resolved"`
	ResolvedAt     *time.Time        `json:"resolved_at,omitempty"`
	Revision       int64             `json:"revision"`
	UpdatedAt      time.Time         `json:"updated_at"`
}

// Key returns how people say incident number n: "INC-7".
func Key(n int64) string { return "INC-" + strconv.FormatInt(n, 10) }

// ParseKey reads "INC-7", "inc-7" or "7".
func ParseKey(s string) (int64, error) {
	t := strings.TrimSpace(s)
	if len(t) > 4 && strings.EqualFold(t[:4], "INC-") {
		t = t[4:]
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n <= 0 {
		return 0, errs.Invalidf("number", "%q is not an incident such as INC-7 or 7", s)
	}
	return n, nil
}

// DeclareInput declares an incident.
type DeclareInput struct {
	Title    string   `json:"title" maxLength:"200"`
	Severity Severity `json:"severity" enum:"SEV1,SEV2,SEV3,SEV4"`
	Services []string `json:"services,omitempty" maxItems:"50" doc:"affected catalog services"`
	Lead     string   `json:"lead,omitempty" doc:"the incident lead; default whoever declares"`
	Summary  string   `json:"summary,omitempty" maxLength:"10000"`
	Message  string   `json:"message,omitempty" maxLength:"10000" doc:"what is known so far; the first timeline entry"`
	// AlertID declares from an alert (source alert); TicketRef from a
	// ticket. At most one.
	AlertID   string `json:"alert_id,omitempty" maxLength:"200" doc:"declare from this alert"`
	TicketRef string `json:"ticket_ref,omitempty" maxLength:"200" doc:"declare from this ticket (free text for now)"`
	// DeclaredAt and DeclaredBy are for hooks (an alert that started
	// earlier, a system caller); people's declarations take now and the
	// actor.
	DeclaredAt time.Time `json:"-"`
	DeclaredBy string    `json:"-"`
}

// Validate reports the first invalid field and normalizes the services
// (sorted, without duplicates).
func (in *DeclareInput) Validate() error {
	if err := checkLine("title", in.Title, MaxTitle, true); err != nil {
		return err
	}
	if !in.Severity.Valid() {
		return errs.Invalidf("severity", "%q is not a severity: want SEV1, SEV2, SEV3 or SEV4", in.Severity)
	}
	var err error
	if in.Services, err = checkServices("services", in.Services); err != nil {
		return err
	}
	if in.Lead != "" {
		if err := names.Check("lead", in.Lead); err != nil {
			return err
		}
	}
	if err := checkText("summary", in.Summary); err != nil {
		return err
	}
	if err := checkText("message", in.Message); err != nil {
		return err
	}
	if in.AlertID != "" && in.TicketRef != "" {
		return errs.Invalidf("ticket_ref", "declare from an alert or a ticket, not both")
	}
	if err := checkLine("alert_id", in.AlertID, MaxRef, false); err != nil {
		return err
	}
	return checkLine("ticket_ref", in.TicketRef, MaxRef, false)
}

func (in DeclareInput) source() Source {
	switch {
	case in.AlertID != "":
		return Source{Kind: SourceAlert, Ref: in.AlertID}
	case in.TicketRef != "":
		return Source{Kind: SourceTicket, Ref: in.TicketRef}
	}
	return Source{Kind: SourceManual}
}

// UpdateInput changes an incident; empty fields stay as they are.
type UpdateInput struct {
	Title    string   `json:"title,omitempty" maxLength:"200"`
	Severity Severity `json:"severity,omitempty" enum:"SEV1,SEV2,SEV3,SEV4"`
	Status   Status   `json:"status,omitempty" enum:"investigating,identified,monitoring,resolved"`
	Message  string   `json:"message,omitempty" maxLength:"10000" doc:"why: recorded with the status or severity change"`
	Summary  string   `json:"summary,omitempty" maxLength:"10000" doc:"what happened; required to resolve (here or before)"`
}

// Validate reports the first invalid field.
func (in UpdateInput) Validate() error {
	if in.Title != "" {
		if err := checkLine("title", in.Title, MaxTitle, true); err != nil {
			return err
		}
	}
	if in.Severity != "" && !in.Severity.Valid() {
		return errs.Invalidf("severity", "%q is not a severity: want SEV1, SEV2, SEV3 or SEV4", in.Severity)
	}
	if in.Status != "" && !in.Status.Valid() {
		return errs.Invalidf("status", "%q is not a status: want investigating, identified, monitoring or resolved", in.Status)
	}
	if err := checkText("message", in.Message); err != nil {
		return err
	}
	if err := checkText("summary", in.Summary); err != nil {
		return err
	}
	if in == (UpdateInput{}) {
		return errs.Invalidf("status", "nothing to change: give a title, severity, status or summary")
	}
	if in.Message != "" && in.Status == "" && in.Severity == "" {
		return errs.Invalidf("message", "goes with a status or severity change; add a note for anything else")
	}
	return nil
}

// checkTransition reports whether an incident may move from one status to
// another, naming the field "status".
func checkTransition(from, to Status, summary string) error {
	switch {
	case from == to:
		return nil
	case from == Resolved && to != Investigating:
		return errs.Invalidf("status", "a resolved incident re-opens to investigating, not %s", to)
	case to == Resolved && strings.TrimSpace(summary) == "":
		return errs.Invalidf("summary", "is required to resolve: say what happened and what fixed it")
	}
	return nil
}

var roleName = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// checkRole validates a role name: a built-in or a custom name.
func checkRole(role string) error {
	if !roleName.MatchString(role) {
		return errs.Invalidf("role", "%q is not a role: lead, communications, scribe, or a custom name of lowercase letters, digits and dashes", role)
	}
	return nil
}

// roleRank orders roles: the built-ins first, then custom ones by name.
func roleRank(role string) int {
	switch role {
	case RoleLead:
		return 0
	case RoleCommunications:
		return 1
	case RoleScribe:
		return 2
	}
	return 3
}

func checkServices(field string, list []string) ([]string, error) {
	if len(list) > MaxServices {
		return nil, errs.Invalidf(field, "at most %d services", MaxServices)
	}
	for i, s := range list {
		if err := names.Check(fmt.Sprintf("%s[%d]", field, i), s); err != nil {
			return nil, err
		}
	}
	out := slices.Compact(slices.Sorted(slices.Values(list)))
	if out == nil {
		out = []string{}
	}
	return out, nil
}

// checkLine validates a one-line text field.
func checkLine(field, s string, max int, required bool) error {
	switch {
	case required && strings.TrimSpace(s) == "":
		return errs.Invalidf(field, "is required")
	case len(s) > max:
		return errs.Invalidf(field, "must be at most %d characters", max)
	case strings.ContainsAny(s, "\r\n"):
		return errs.Invalidf(field, "must be one line")
	}
	return nil
}

func checkText(field, s string) error {
	if len(s) > MaxText {
		return errs.Invalidf(field, "must be at most %d characters", MaxText)
	}
	return nil
}
