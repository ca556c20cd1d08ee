package route

import (
	"errors"
	"strings"
	"time"

	"groundcrew.dev/groundcrew/internal/alert/matcher"
	"groundcrew.dev/groundcrew/internal/errs"
)

// Muter reports whether notifications for an alert are suppressed at an
// instant. Silences and the Inhibitor are Muters, so a notification
// pipeline stage can take either.
type Muter interface {
	Mutes(labels map[string]string, at time.Time) bool
}

var (
	_ Muter = Silence{}
	_ Muter = Silences(nil)
	_ Muter = (*Inhibitor)(nil)
)

// Silence mutes the alerts its matchers match during [StartsAt, EndsAt).
type Silence struct {
	ID        string           `json:"id,omitempty"`
	Matchers  matcher.Matchers `json:"matchers"`
	StartsAt  time.Time        `json:"starts_at"`
	EndsAt    time.Time        `json:"ends_at"`
	CreatedBy string           `json:"created_by"`
	Comment   string           `json:"comment"`
}

// Validate reports the first bad field. A silence needs at least one
// matcher, and its matchers must not match an alert without labels (such a
// silence would mute everything — Alertmanager refuses it too); it needs a
// start, an end after the start, a creator and a comment.
func (s Silence) Validate() error {
	if len(s.Matchers) == 0 {
		return errs.Invalidf("matchers", "at least one matcher is required")
	}
	if err := s.Matchers.Validate(); err != nil {
		return indexField("matchers", err)
	}
	if s.Matchers.MatchesEmpty() {
		return errs.Invalidf("matchers", "%s would silence every alert; add a matcher that requires a label value", s.Matchers)
	}
	switch {
	case s.StartsAt.IsZero():
		return errs.Invalidf("starts_at", "is required")
	case s.EndsAt.IsZero():
		return errs.Invalidf("ends_at", "is required")
	case !s.EndsAt.After(s.StartsAt):
		return errs.Invalidf("ends_at", "must be after starts_at")
	case strings.TrimSpace(s.CreatedBy) == "":
		return errs.Invalidf("created_by", "is required")
	case strings.TrimSpace(s.Comment) == "":
		return errs.Invalidf("comment", "is required: say why")
	}
	return nil
}

// Active reports whether the silence is in force at instant at.
func (s Silence) Active(at time.Time) bool {
	return !at.Before(s.StartsAt) && at.Before(s.EndsAt)
}

// Mutes reports whether the silence is active at at and matches labels.
func (s Silence) Mutes(labels map[string]string, at time.Time) bool {
	return s.Active(at) && s.Matchers.Matches(labels)
}

// Silences is a set of silences. Read-only use is safe concurrently.
type Silences []Silence

// Mutes reports whether any silence mutes labels at at.
func (ss Silences) Mutes(labels map[string]string, at time.Time) bool {
	for i := range ss {
		if ss[i].Mutes(labels, at) {
			return true
		}
	}
	return false
}

// MutedBy returns the IDs of the silences that mute labels at at, in order.
func (ss Silences) MutedBy(labels map[string]string, at time.Time) []string {
	var ids []string
	for i := range ss {
		if ss[i].Mutes(labels, at) {
			ids = append(ids, ss[i].ID)
		}
	}
	return ids
}

// indexField prefixes err's field with name, without a dot before an index
// ("matchers" + "[1]" = "matchers[1]").
func indexField(name string, err error) error {
	var e *errs.Error
	if !errors.As(err, &e) || !strings.HasPrefix(e.Field, "[") {
		return errs.WithField(name, err)
	}
	c := *e
	c.Field = name + e.Field
	return &c
}
