package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"groundcrew.dev/groundcrew/internal/errs"
	"groundcrew.dev/groundcrew/internal/oncall"
	"groundcrew.dev/groundcrew/internal/oncall/schedule"
)

// OnCallParams select the schedules of GET /oncall: at most one of
// schedule, team and service; none means every schedule.
type OnCallParams struct {
	Schedule string    `query:"schedule" maxLength:"63" doc:"one schedule"`
	Team     string    `query:"team" maxLength:"63" doc:"every schedule the team owns"`
	Service  string    `query:"service" maxLength:"63" doc:"every schedule of the team that owns the service"`
	At       time.Time `query:"at" doc:"RFC 3339; default now"`
}

// OnCallAnswer is who is on call at an instant, per schedule.
type OnCallAnswer struct {
	At    time.Time       `json:"at"`
	Items []oncall.OnCall `json:"items" doc:"one per schedule, by name; empty shifts: nobody is on call there"`
}

// RangeParams are a [from, to) range of a schedule.
type RangeParams struct {
	NameParam
	From time.Time `query:"from" doc:"RFC 3339; default now"`
	To   time.Time `query:"to" doc:"RFC 3339; default 7 days after from; at most 400 days after it"`
}

// FeedTokenOutput is a new calendar feed: its URL, shown once.
type FeedTokenOutput struct {
	oncall.FeedToken
	URL string `json:"url" doc:"subscribe to this URL in a calendar; the secret in it is the credential and is shown only now"`
}

// ScheduleListParams filter the list of schedules and policies.
type ScheduleListParams struct {
	ListParams
	Owner string `query:"owner" maxLength:"63" doc:"only those this team owns"`
}

// RegisterOnCall registers the on-call operations: schedules and
// escalation policies, who is on call, shifts, gaps, and calendar feeds.
func (a *API) RegisterOnCall(svc *oncall.Service) {
	tags := []string{"On call"}
	filter := func(in *ScheduleListParams) (oncall.Filter, error) {
		opts, err := in.Options()
		return oncall.Filter{Owner: in.Owner, Query: opts.Query, After: opts.After, Limit: opts.Limit}, err
	}
	huma.Register(a.huma, huma.Operation{
		OperationID: "list-schedules", Method: http.MethodGet, Path: "/schedules", Tags: tags,
		Summary: "List on-call schedules", Description: "Sorted by name, paged; filter by search and owning team.",
	}, func(ctx context.Context, in *ScheduleListParams) (*PageOutput[oncall.Schedule], error) {
		f, err := filter(in)
		if err != nil {
			return nil, err
		}
		items, next, err := svc.ListSchedules(ctx, f)
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		return page(items, next), nil
	})
	registerCRUD(a, crud[oncall.Schedule, oncall.ScheduleInput]{
		plural: "schedules", singular: "schedule", tag: "On call",
		get: svc.GetSchedule, create: svc.CreateSchedule, update: svc.UpdateSchedule, delete: svc.DeleteSchedule,
		revision: func(s oncall.Schedule) int64 { return s.Revision },
	})
	huma.Register(a.huma, huma.Operation{
		OperationID: "list-schedule-shifts", Method: http.MethodGet, Path: "/schedules/{name}/shifts", Tags: tags,
		Summary:     "The final calendar of a schedule",
		Description: "Shifts over [from, to), one per person and source for each unbroken stretch, by start then user.",
	}, func(ctx context.Context, in *RangeParams) (*PageOutput[schedule.Shift], error) {
		out, err := svc.Shifts(ctx, in.Name, in.From, in.To)
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		return page(out, ""), nil
	})
	huma.Register(a.huma, huma.Operation{
		OperationID: "list-schedule-gaps", Method: http.MethodGet, Path: "/schedules/{name}/gaps", Tags: tags,
		Summary: "Coverage gaps of a schedule", Description: "The parts of [from, to) when nobody is on call, in order.",
	}, func(ctx context.Context, in *RangeParams) (*PageOutput[schedule.Interval], error) {
		out, err := svc.Gaps(ctx, in.Name, in.From, in.To)
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		return page(out, ""), nil
	})
	huma.Register(a.huma, huma.Operation{
		OperationID: "get-oncall", Method: http.MethodGet, Path: "/oncall", Tags: tags,
		Summary:     "Who is on call",
		Description: "At an instant (default now), for one schedule, a team's schedules, the schedules of a service's owning team, or every schedule.",
	}, func(ctx context.Context, in *OnCallParams) (*struct{ Body OnCallAnswer }, error) {
		var items []oncall.OnCall
		var err error
		switch n := btoi(in.Schedule != "") + btoi(in.Team != "") + btoi(in.Service != ""); {
		case n > 1:
			err = errs.Invalidf("schedule", "give at most one of schedule, team and service")
		case in.Schedule != "":
			var oc oncall.OnCall
			if oc, err = svc.OnCall(ctx, in.Schedule, in.At); err == nil {
				items = []oncall.OnCall{oc}
			}
		case in.Team != "":
			items, err = svc.OnCallForTeam(ctx, in.Team, in.At)
		case in.Service != "":
			items, err = svc.OnCallForService(ctx, in.Service, in.At)
		default:
			items, err = svc.OnCallAll(ctx, in.At)
		}
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		at := svc.Instant(in.At)
		if len(items) > 0 {
			at = items[0].At
		}
		return &struct{ Body OnCallAnswer }{OnCallAnswer{At: at, Items: items}}, nil
	})
	huma.Register(a.huma, huma.Operation{
		OperationID: "list-oncall-gaps", Method: http.MethodGet, Path: "/oncall/gaps", Tags: tags,
		Summary:     "Upcoming coverage gaps",
		Description: "Every schedule's gaps from now on, by start: \"nobody is on call for payments-primary (team payments) Sat 28 Mar 02:00–08:00 Europe/Berlin\".",
	}, func(ctx context.Context, in *struct {
		Within string `query:"within" maxLength:"10" doc:"how far ahead: a Go duration or days, e.g. 48h or 14d; default 7d, at most 90d"`
	}) (*PageOutput[oncall.Gap], error) {
		within, err := parseDays(in.Within)
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		out, err := svc.UpcomingGaps(ctx, within)
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		return page(out, ""), nil
	})

	huma.Register(a.huma, huma.Operation{
		OperationID: "list-escalation-policies", Method: http.MethodGet, Path: "/escalation-policies", Tags: tags,
		Summary: "List escalation policies", Description: "Sorted by name, paged; filter by search and owning team.",
	}, func(ctx context.Context, in *ScheduleListParams) (*PageOutput[oncall.EscalationPolicy], error) {
		f, err := filter(in)
		if err != nil {
			return nil, err
		}
		items, next, err := svc.ListPolicies(ctx, f)
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		return page(items, next), nil
	})
	registerCRUD(a, crud[oncall.EscalationPolicy, oncall.PolicyInput]{
		plural: "escalation-policies", singular: "escalation-policy", tag: "On call",
		get: svc.GetPolicy, create: svc.CreatePolicy, update: svc.UpdatePolicy, delete: svc.DeletePolicy,
		revision: func(p oncall.EscalationPolicy) int64 { return p.Revision },
	})

	huma.Register(a.huma, huma.Operation{
		OperationID: "create-ical-token", Method: http.MethodPost, Path: "/ical-tokens", Tags: tags,
		Summary:       "Create your calendar feed",
		Description:   "Returns the secret URL of an iCalendar feed of your shifts in every schedule, shown only once. A new feed replaces the old one: its URL stops working.",
		DefaultStatus: http.StatusCreated,
	}, func(ctx context.Context, _ *struct{}) (*struct{ Body FeedTokenOutput }, error) {
		t, secret, err := svc.CreateFeedToken(ctx)
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		base := strings.TrimSuffix(a.pingURL(ctx, ""), Prefix+"/ping/")
		return &struct{ Body FeedTokenOutput }{FeedTokenOutput{FeedToken: t, URL: base + ICalPath + secret + ".ics"}}, nil
	})
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// parseDays reads a span written as a Go duration ("48h") or in days
// ("14d"); empty is zero.
func parseDays(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	if n, err := strconv.Atoi(strings.TrimSuffix(s, "d")); err == nil && strings.HasSuffix(s, "d") && n > 0 {
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, errs.Invalidf("within", "%q is not a span such as 48h or 14d", s)
	}
	return d, nil
}

// ICalPath is where calendar feeds are served: ICalPath + secret + ".ics".
const ICalPath = "/ical/"

// ICalFeed serves GET /ical/{secret}.ics, a person's shifts as an
// iCalendar feed. The secret in the URL is the credential, so the handler
// needs no session; an unknown secret is a plain 404. Mount it at
// "GET /ical/{file}".
func ICalFeed(svc *oncall.Service, log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Referrer-Policy", "no-referrer")
		secret, ok := strings.CutSuffix(r.PathValue("file"), ".ics")
		if !ok {
			http.NotFound(w, r)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
		defer cancel()
		cal, err := svc.Feed(ctx, secret)
		switch {
		case errs.Is(err, errs.NotFound):
			http.NotFound(w, r)
			return
		case err != nil:
			if !errors.Is(err, context.Canceled) {
				log.Error("calendar feed", "err", err)
			}
			http.Error(w, "the calendar could not be rendered", http.StatusInternalServerError)
			return
		}
		h := w.Header()
		h.Set("Content-Type", "text/calendar; charset=utf-8")
		h.Set("Content-Disposition", `inline; filename="oncall.ics"`)
		// Calendar clients poll; a few minutes of staleness is fine, but the
		// feed is personal, so no shared cache may keep it.
		h.Set("Cache-Control", "private, max-age=300")
		h.Set("X-Content-Type-Options", "nosniff")
		w.Write(cal)
	})
}
