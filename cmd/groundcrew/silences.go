package main

import (
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"groundcrew.dev/groundcrew/internal/alert"
)

// parseLabels reads k=v pairs ("alertname=HighLatency,service=api", or
// several flags).
func parseLabels(pairs []string) (map[string]string, error) {
	out := map[string]string{}
	for _, p := range pairs {
		for _, kv := range strings.Split(p, ",") {
			if strings.TrimSpace(kv) == "" {
				continue
			}
			k, v, ok := strings.Cut(kv, "=")
			if !ok || strings.TrimSpace(k) == "" {
				return nil, fmt.Errorf("--labels %q: want name=value", kv)
			}
			out[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("--labels is required, e.g. --labels alertname=HighLatency,service=payments-api")
	}
	return out, nil
}

func (c *cli) newRouteTestCmd() *cobra.Command {
	var labels []string
	cmd := &cobra.Command{
		Use:     "route-test --labels name=value[,name=value…]",
		Short:   "Show where an alert with these labels would go, and why",
		Example: `  groundcrew alerts route-test --labels alertname=HighLatency,service=payments-api,severity=critical`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ls, err := parseLabels(labels)
			if err != nil {
				return err
			}
			cl, err := c.client()
			if err != nil {
				return err
			}
			rt, err := cl.TestRoute(cmd.Context(), ls)
			if err != nil {
				return err
			}
			for _, m := range rt.Matches {
				rcv := strings.Join(m.Receivers, ", ")
				if rcv == "" {
					rcv = "(none: recorded, not notified)"
				}
				fmt.Fprintf(c.stdout, "route %s → %s\n  group %s (group_by %s; wait %s, interval %s, repeat %s)\n",
					m.Route, rcv, m.GroupKey, strings.Join(m.GroupBy, ","), m.GroupWait, m.GroupInterval, m.RepeatInterval)
				if m.Muted != "" {
					fmt.Fprintf(c.stdout, "  notifications wait: %s\n", m.Muted)
				}
				if len(m.Silenced) > 0 {
					fmt.Fprintf(c.stdout, "  silenced now by %s\n", strings.Join(m.Silenced, ", "))
				}
			}
			fmt.Fprintf(c.stdout, "\nwhy:\n%s\n", rt.Trace)
			return nil
		},
	}
	cmd.Flags().StringArrayVar(&labels, "labels", nil, "the alert's labels, name=value, comma-separated or repeated")
	return cmd
}

func (c *cli) newSilenceCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "silence", Short: "Mute matching alerts for a while"}
	var duration time.Duration
	var comment string
	var preview bool
	create := &cobra.Command{
		Use:   "create MATCHER… --duration 2h --comment WHY",
		Short: "Create a silence (matchers in Alertmanager syntax, all must match)",
		Example: `  groundcrew silence create 'service="payments-api"' 'alertname=~"High.*"' --duration 2h --comment "deploying 4.2"
  groundcrew silence create 'service="payments-api"' --preview`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := c.client()
			if err != nil {
				return err
			}
			if preview {
				alerts, err := cl.PreviewSilence(cmd.Context(), args)
				if err != nil {
					return err
				}
				fmt.Fprintf(c.stdout, "%d firing alert(s) would be silenced\n", len(alerts))
				for _, a := range alerts {
					fmt.Fprintf(c.stdout, "  %s  %s\n", a.Labels["alertname"], oneLine(a.Summary, 80))
				}
				return nil
			}
			if duration <= 0 {
				return errors.New("--duration is required, e.g. --duration 2h")
			}
			s, err := cl.CreateSilence(cmd.Context(), alert.SilenceInput{Matchers: args, EndsAt: now().Add(duration), Comment: comment})
			if err != nil {
				return err
			}
			fmt.Fprintln(c.stdout, s.ID)
			fmt.Fprintf(c.stderr, "Silenced %s until %s.\n", strings.Join(s.Matchers, ", "), formatTime(s.EndsAt))
			return nil
		},
	}
	create.Flags().DurationVar(&duration, "duration", 0, "how long, e.g. 2h")
	create.Flags().StringVar(&comment, "comment", "", "why (required)")
	create.Flags().BoolVar(&preview, "preview", false, "only show which firing alerts it would silence")
	var all bool
	list := &cobra.Command{
		Use: "list", Short: "List pending and active silences", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, err := c.client()
			if err != nil {
				return err
			}
			sils, err := cl.ListSilences(cmd.Context(), all)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(c.stdout, 0, 8, 3, ' ', 0)
			fmt.Fprintln(tw, "ID\tSTATUS\tMATCHERS\tENDS\tBY\tCOMMENT")
			for _, s := range sils {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", s.ID, s.Status, strings.Join(s.Matchers, " "), formatTime(s.EndsAt), s.CreatedBy, oneLine(s.Comment, 50))
			}
			return tw.Flush()
		},
	}
	list.Flags().BoolVar(&all, "all", false, "also those that ended in the last 30 days")
	expire := &cobra.Command{
		Use: "expire ID", Short: "End a silence now", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := uuid.Parse(args[0])
			if err != nil {
				return fmt.Errorf("%q is not a silence id", args[0])
			}
			cl, err := c.client()
			if err != nil {
				return err
			}
			if err := cl.ExpireSilence(cmd.Context(), id); err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "silence/%s expired\n", id)
			return nil
		},
	}
	cmd.AddCommand(create, list, expire)
	return cmd
}
