package main

import (
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"groundcrew.dev/groundcrew/internal/client"
)

// parseAt reads --at: an RFC 3339 time, or an offset from now ("+12h",
// "-30m"); empty is now (zero).
func parseAt(s string) (time.Time, error) {
	if s == "" || s == "now" {
		return time.Time{}, nil
	}
	if s[0] == '+' || s[0] == '-' {
		d, err := time.ParseDuration(s)
		if err != nil {
			return time.Time{}, fmt.Errorf("--at %q: want an RFC 3339 time or an offset such as +12h", s)
		}
		return now().Add(d), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("--at %q: want an RFC 3339 time such as 2026-04-04T03:00:00Z, or an offset such as +12h", s)
	}
	return t, nil
}

// inZone formats t in the IANA zone (the schedule's), else locally.
func inZone(t time.Time, zone string) string {
	if loc, err := time.LoadLocation(zone); err == nil {
		t = t.In(loc)
	} else {
		t = t.Local()
	}
	return t.Format("2006-01-02 15:04 MST")
}

func (c *cli) newOnCallCmd() *cobra.Command {
	var q client.OnCallQuery
	var at string
	cmd := &cobra.Command{
		Use:   "oncall [--schedule S | --team T | --service S] [--at TIME]",
		Short: "Show who is on call now or at a time",
		Long: "Shows who is on call in one schedule, in every schedule a team owns, for a service (the schedules of its owning team),\n" +
			"or in every schedule, with since and until when, in the schedule's time zone.",
		Example: `  groundcrew oncall --team payments
  groundcrew oncall --service payments-api --at 2026-04-04T03:00:00Z
  groundcrew oncall --schedule payments-primary --at +12h
  groundcrew oncall gaps --within 14d
  groundcrew oncall feed`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			n := 0
			for _, s := range []string{q.Schedule, q.Team, q.Service} {
				if s != "" {
					n++
				}
			}
			if n > 1 {
				return errors.New("give at most one of --schedule, --team and --service")
			}
			var err error
			if q.At, err = parseAt(at); err != nil {
				return err
			}
			cl, err := c.client()
			if err != nil {
				return err
			}
			ans, err := cl.OnCall(cmd.Context(), q)
			if err != nil {
				return err
			}
			if len(ans.Items) == 0 {
				fmt.Fprintln(c.stderr, "No schedules.")
				return nil
			}
			w := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(w, "SCHEDULE\tUSER\tSINCE\tUNTIL\tFROM")
			for _, oc := range ans.Items {
				if len(oc.Shifts) == 0 {
					fmt.Fprintf(w, "%s\tnobody\t\t\t\n", oc.Schedule)
					continue
				}
				for _, s := range oc.Shifts {
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", oc.Schedule, s.User, inZone(s.Start, oc.TimeZone), inZone(s.End, oc.TimeZone), s.Source())
				}
			}
			return w.Flush()
		},
	}
	cmd.Flags().StringVar(&q.Schedule, "schedule", "", "one schedule")
	cmd.Flags().StringVar(&q.Team, "team", "", "every schedule the team owns")
	cmd.Flags().StringVar(&q.Service, "service", "", "the schedules of the team that owns the service")
	cmd.Flags().StringVar(&at, "at", "", "RFC 3339 time or offset from now (+12h); default now")

	var within string
	gaps := &cobra.Command{
		Use:   "gaps [--within 7d]",
		Short: "List upcoming times when nobody is on call, across every schedule",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, err := c.client()
			if err != nil {
				return err
			}
			gs, err := cl.UpcomingGaps(cmd.Context(), within)
			if err != nil {
				return err
			}
			if len(gs) == 0 {
				fmt.Fprintln(c.stderr, "No gaps: someone is on call in every schedule.")
			}
			for _, g := range gs {
				fmt.Fprintln(c.stdout, g.Message)
			}
			return nil
		},
	}
	gaps.Flags().StringVar(&within, "within", "", "how far ahead, e.g. 48h or 14d (default 7d, at most 90d)")
	feed := &cobra.Command{
		Use:   "feed",
		Short: "Create your personal calendar feed URL (shown once; replaces the old one)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, err := c.client()
			if err != nil {
				return err
			}
			t, err := cl.CreateFeedToken(cmd.Context())
			if err != nil {
				return err
			}
			fmt.Fprintln(c.stdout, t.URL)
			fmt.Fprintln(c.stderr, strings.TrimSpace(`
Subscribe to this URL in your calendar. The secret in it is the credential:
it is shown only now, and an older feed URL of yours no longer works.`))
			return nil
		},
	}
	cmd.AddCommand(gaps, feed)
	cmd.AddCommand(c.newSwapCmd())
	return cmd
}
