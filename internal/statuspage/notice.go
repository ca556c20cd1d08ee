package statuspage

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"groundcrew.dev/groundcrew/internal/errs"
	"groundcrew.dev/groundcrew/internal/names"
)

// NoticeKind says whether a notice tells of an incident or of maintenance.
type NoticeKind string

// The notice kinds.
const (
	Incident    NoticeKind = "incident"
	Maintenance NoticeKind = "maintenance"
)

// NoticeStatus is where a notice stands. Incidents go investigating →
// identified → monitoring → resolved; maintenance scheduled → in_progress
// → completed. Any order is allowed: people skip steps and reopen.
type NoticeStatus string

// The notice statuses.
const (
	Investigating NoticeStatus = "investigating"
	Identified    NoticeStatus = "identified"
	Monitoring    NoticeStatus = "monitoring"
	Resolved      NoticeStatus = "resolved"
	Scheduled     NoticeStatus = "scheduled"
	InProgress    NoticeStatus = "in_progress"
	Completed     NoticeStatus = "completed"
)

// Statuses returns the statuses of notices of kind k, in their usual order.
func (k NoticeKind) Statuses() []NoticeStatus {
	switch k {
	case Incident:
		return []NoticeStatus{Investigating, Identified, Monitoring, Resolved}
	case Maintenance:
		return []NoticeStatus{Scheduled, InProgress, Completed}
	}
	return nil
}

// Closed returns the status that closes a notice of kind k.
func (k NoticeKind) Closed() NoticeStatus {
	if k == Maintenance {
		return Completed
	}
	return Resolved
}

// Word returns the status as the public reads it.
func (s NoticeStatus) Word() string {
	switch s {
	case InProgress:
		return "In progress"
	case "":
		return ""
	}
	return strings.ToUpper(string(s[:1])) + string(s[1:])
}

// Limits on notices.
const (
	MaxNoticeTitle   = 200
	MaxNoticeMessage = 10000
	MaxRef           = 100
	// MaxMaintenance bounds a maintenance window.
	MaxMaintenance = 31 * 24 * time.Hour
)

// Update is one entry of a notice's public timeline.
type Update struct {
	ID      uuid.UUID    `json:"id"`
	At      time.Time    `json:"at"`
	Status  NoticeStatus `json:"status"`
	Message string       `json:"message"`
	Author  string       `json:"author,omitempty" doc:"who posted it; never shown on the public page"`
}

// Notice is an incident or maintenance notice on a status page.
type Notice struct {
	ID     uuid.UUID    `json:"id"`
	Page   string       `json:"page"`
	Number int64        `json:"number" doc:"numbered per page from 1"`
	Kind   NoticeKind   `json:"kind" enum:"incident,maintenance"`
	Title  string       `json:"title"`
	Status NoticeStatus `json:"status" enum:"investigating,identified,monitoring,resolved,scheduled,in_progress,completed"`
	// Components names the affected components of the page.
	Components []string   `json:"components"`
	StartsAt   time.Time  `json:"starts_at" doc:"when the incident began or the maintenance starts"`
	EndsAt     *time.Time `json:"ends_at,omitempty" doc:"maintenance: when the window ends"`
	ClosedAt   *time.Time `json:"closed_at,omitempty" doc:"when it was resolved or completed"`
	Ref        string     `json:"ref,omitempty" doc:"what it is about inside groundcrew, e.g. INC-42; never shown publicly"`
	Updates    []Update   `json:"updates" doc:"newest first"`
	Revision   int64      `json:"revision"`
	CreatedAt  time.Time  `json:"created_at"`
	UpdatedAt  time.Time  `json:"updated_at"`
}

// Open reports whether the notice is neither resolved nor completed.
func (n Notice) Open() bool { return n.ClosedAt == nil }

// NoticeInput creates a notice. Message is its first update.
type NoticeInput struct {
	Kind       NoticeKind   `json:"kind" enum:"incident,maintenance"`
	Title      string       `json:"title" maxLength:"200"`
	Status     NoticeStatus `json:"status,omitempty" doc:"default investigating (incident) or scheduled (maintenance)"`
	Components []string     `json:"components,omitempty" doc:"names of the page's affected components"`
	StartsAt   *time.Time   `json:"starts_at,omitempty" doc:"incident: when it began (default now); maintenance: required"`
	EndsAt     *time.Time   `json:"ends_at,omitempty" doc:"maintenance: required, after starts_at; incidents have none"`
	Message    string       `json:"message" doc:"what the public reads first"`
	Ref        string       `json:"ref,omitempty" maxLength:"100" doc:"e.g. INC-42; never shown publicly"`
}

// Validate reports the first invalid field and fills the defaults; now is
// the default start of an incident.
func (in *NoticeInput) Validate(now time.Time) error {
	if in.Kind != Incident && in.Kind != Maintenance {
		return errs.Invalidf("kind", "%q is not a notice kind: want incident or maintenance", in.Kind)
	}
	if err := checkLine("title", in.Title, MaxNoticeTitle, true); err != nil {
		return err
	}
	if in.Status == "" {
		in.Status = in.Kind.Statuses()[0]
	}
	if err := checkStatus("status", in.Kind, in.Status); err != nil {
		return err
	}
	if strings.TrimSpace(in.Message) == "" {
		return errs.Invalidf("message", "is required: say what the public should know")
	}
	if err := checkText("message", in.Message, MaxNoticeMessage); err != nil {
		return err
	}
	if err := checkLine("ref", in.Ref, MaxRef, false); err != nil {
		return err
	}
	var err error
	if in.Components, err = checkComponentNames(in.Components); err != nil {
		return err
	}
	switch in.Kind {
	case Incident:
		if in.EndsAt != nil {
			return errs.Invalidf("ends_at", "an incident ends when it is resolved; only maintenance has a planned end")
		}
		if in.StartsAt == nil {
			in.StartsAt = &now
		}
	case Maintenance:
		if in.StartsAt == nil {
			return errs.Invalidf("starts_at", "is required for maintenance")
		}
		if in.EndsAt == nil {
			return errs.Invalidf("ends_at", "is required for maintenance")
		}
		if err := checkWindow(*in.StartsAt, *in.EndsAt); err != nil {
			return err
		}
	}
	return nil
}

// UpdateInput posts an update to a notice. Message adds an entry to the
// public timeline; the other fields, when set, change the notice. An
// update without a message may only change fields (to fix a typo without
// telling the world).
type UpdateInput struct {
	Status     NoticeStatus `json:"status,omitempty" doc:"default: unchanged"`
	Message    string       `json:"message,omitempty" doc:"the timeline entry; required unless the update only changes title, components or window"`
	Title      string       `json:"title,omitempty" maxLength:"200" doc:"default: unchanged"`
	Components []string     `json:"components,omitempty" doc:"default: unchanged"`
	StartsAt   *time.Time   `json:"starts_at,omitempty" doc:"maintenance: move the window"`
	EndsAt     *time.Time   `json:"ends_at,omitempty" doc:"maintenance: extend or shorten the window"`
}

// apply validates in against n and returns n changed by it, and whether it
// adds a timeline entry.
func (in UpdateInput) apply(n Notice) (Notice, bool, error) {
	changed, statusChanged := false, false
	if in.Status != "" && in.Status != n.Status {
		if err := checkStatus("status", n.Kind, in.Status); err != nil {
			return n, false, err
		}
		n.Status, changed, statusChanged = in.Status, true, true
	}
	if in.Title != "" && in.Title != n.Title {
		if err := checkLine("title", in.Title, MaxNoticeTitle, true); err != nil {
			return n, false, err
		}
		n.Title, changed = in.Title, true
	}
	if in.Components != nil {
		cs, err := checkComponentNames(in.Components)
		if err != nil {
			return n, false, err
		}
		if !slices.Equal(cs, n.Components) {
			n.Components, changed = cs, true
		}
	}
	if in.StartsAt != nil || in.EndsAt != nil {
		if n.Kind != Maintenance {
			field := "starts_at"
			if in.StartsAt == nil {
				field = "ends_at"
			}
			return n, false, errs.Invalidf(field, "only maintenance has a window")
		}
		start, end := n.StartsAt, *n.EndsAt
		if in.StartsAt != nil {
			start = in.StartsAt.UTC()
		}
		if in.EndsAt != nil {
			end = in.EndsAt.UTC()
		}
		if err := checkWindow(start, end); err != nil {
			return n, false, err
		}
		if !start.Equal(n.StartsAt) || !end.Equal(*n.EndsAt) {
			n.StartsAt, n.EndsAt, changed = start, &end, true
		}
	}
	if err := checkText("message", in.Message, MaxNoticeMessage); err != nil {
		return n, false, err
	}
	entry := strings.TrimSpace(in.Message) != ""
	if !entry && statusChanged {
		return n, false, errs.Invalidf("message", "is required when the status changes: say what changed")
	}
	if !entry && !changed {
		return n, false, errs.Invalidf("message", "is required")
	}
	return n, entry, nil
}

func checkStatus(field string, k NoticeKind, s NoticeStatus) error {
	if !slices.Contains(k.Statuses(), s) {
		var want []string
		for _, x := range k.Statuses() {
			want = append(want, string(x))
		}
		return errs.Invalidf(field, "%q is not a status of %s notices: want %s", s, k, strings.Join(want, ", "))
	}
	return nil
}

func checkWindow(start, end time.Time) error {
	if !end.After(start) {
		return errs.Invalidf("ends_at", "must be after starts_at")
	}
	if end.Sub(start) > MaxMaintenance {
		return errs.Invalidf("ends_at", "a maintenance window lasts at most 31 days")
	}
	return nil
}

// checkComponentNames validates names of components; whether the page has
// them is checked by the service.
func checkComponentNames(list []string) ([]string, error) {
	if len(list) > MaxComponents {
		return nil, errs.Invalidf("components", "at most %d components", MaxComponents)
	}
	for i, n := range list {
		if err := names.Check(fmt.Sprintf("components[%d]", i), n); err != nil {
			return nil, err
		}
	}
	out := slices.Compact(slices.Sorted(slices.Values(list)))
	if out == nil {
		out = []string{}
	}
	return out, nil
}
