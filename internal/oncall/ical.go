package oncall

import (
	"bytes"
	"context"
	"database/sql"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"groundcrew.dev/groundcrew/internal/errs"
	"groundcrew.dev/groundcrew/internal/identity"
	"groundcrew.dev/groundcrew/internal/oncall/schedule"
)

// The span a calendar feed covers, around the moment it is fetched.
const (
	FeedPast   = 30 * 24 * time.Hour
	FeedFuture = 180 * 24 * time.Hour
)

// icalPrefix starts every feed secret, so a leaked one is recognisable.
const icalPrefix = "gcical_"

// FeedToken is a person's calendar feed: the secret is part of the URL and
// shown only once, at creation.
type FeedToken struct {
	User      string    `json:"user"`
	Prefix    string    `json:"prefix" doc:"the first characters of the secret, to recognise it"`
	CreatedAt time.Time `json:"created_at"`
}

// CreateFeedToken creates the calendar feed of the actor in ctx and
// returns it with its secret, which is never shown again. A person has one
// feed: creating a new one makes the old URL stop working.
func (s *Service) CreateFeedToken(ctx context.Context) (FeedToken, string, error) {
	if err := identity.Authorize(ctx, identity.PermManageOwnTokens, uuid.Nil); err != nil {
		return FeedToken{}, "", err
	}
	a := identity.ActorFrom(ctx)
	if a.UserID == uuid.Nil {
		return FeedToken{}, "", errs.Invalidf("user", "the system has no calendar")
	}
	secret, hash := identity.NewSecret(icalPrefix)
	t := FeedToken{User: a.Name, Prefix: secret[:len(icalPrefix)+6], CreatedAt: s.clock.Now().UTC()}
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		if err := putICalToken(ctx, tx, a.UserID, hash, t.Prefix, t.CreatedAt); err != nil {
			return err
		}
		return s.record(ctx, tx, "create", "calendar feed", a.UserID, a.Name, nil, t)
	})
	return t, secret, err
}

// Feed renders the calendar of the person whose feed secret is secret: one
// event per shift in any schedule, from 30 days ago to 180 days ahead,
// times in UTC. The secret is the credential; an unknown one (or one of a
// disabled user) is NotFound.
func (s *Service) Feed(ctx context.Context, secret string) ([]byte, error) {
	if !strings.HasPrefix(secret, icalPrefix) || len(secret) > 100 {
		return nil, errs.NotFoundf("no such calendar feed")
	}
	person, err := icalUser(ctx, s.db.Reader(), identity.HashSecret(secret))
	if err != nil {
		return nil, err
	}
	now := s.clock.Now().UTC()
	from, to := now.Add(-FeedPast), now.Add(FeedFuture)
	opts := schedule.ICSOptions{Name: "groundcrew on call", Stamp: now}
	cal := schedule.ICS(nil, person, opts) // the frame, with no events
	var events []byte
	err = s.eachSchedule(ctx, uuid.Nil, func(sc Schedule, c *schedule.Schedule) {
		if _, users := sc.Spec.people(); !slices.Contains(users, person) {
			return
		}
		one := schedule.ICS(c.Shifts(from, to), person, schedule.ICSOptions{Name: sc.Name, Stamp: now})
		events = append(events, scopedEvents(one, sc.ID)...)
	})
	if err != nil {
		return nil, err
	}
	end := []byte("END:VCALENDAR\r\n")
	i := bytes.LastIndex(cal, end)
	return slices.Concat(cal[:i], events, end), nil
}

// scopedEvents returns the VEVENTs of one schedule's calendar with their
// UIDs made unique to the schedule: the core's UID depends on the person,
// source and times only, which two schedules can share.
func scopedEvents(cal []byte, id uuid.UUID) []byte {
	i := bytes.Index(cal, []byte("BEGIN:VEVENT\r\n"))
	j := bytes.LastIndex(cal, []byte("END:VCALENDAR\r\n"))
	if i < 0 || j < i {
		return nil
	}
	// The random end of a UUIDv7: its start is a time stamp.
	scope := "." + strings.ReplaceAll(id.String(), "-", "")[20:] + "@groundcrew\r\n"
	lines := strings.SplitAfter(string(cal[i:j]), "\r\n")
	for k, l := range lines {
		if strings.HasPrefix(l, "UID:") {
			lines[k] = strings.TrimSuffix(l, "@groundcrew\r\n") + scope
		}
	}
	return []byte(strings.Join(lines, ""))
}
