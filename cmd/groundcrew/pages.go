package main

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"groundcrew.dev/groundcrew/internal/client"
	"groundcrew.dev/groundcrew/internal/oncall/pager"
)

func (c *cli) newPagesCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "pages",
		Aliases: []string{"page"},
		Short:   "List, acknowledge, resolve, escalate and snooze pages",
		Long: "A page is an escalation in progress: opened when an alert group is routed to an escalation policy (or by hand),\n" +
			"it notifies the policy's steps one after the other until someone acknowledges it. A page is named by its id\n" +
			"or by the end of its id, as `pages list` shows it.",
		Example: `  groundcrew pages list --status open
  groundcrew pages ack 7f3c9e21
  groundcrew pages snooze 7f3c9e21 --for 30m
  groundcrew pages escalate 7f3c9e21
  groundcrew pages resolve 7f3c9e21
  groundcrew pages open --policy payments-oncall --summary "card payments failing for EU customers"`,
	}
	act := func(use, action, short string) *cobra.Command {
		return &cobra.Command{
			Use: use + " PAGE", Short: short, Args: cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				return c.pageAction(cmd.Context(), args[0], func(cl *client.Client, id string) (pager.Page, error) {
					return cl.ActOnPage(cmd.Context(), id, action)
				})
			},
		}
	}
	ack := act("ack", "acknowledge", "Acknowledge a page: escalation stops")
	ack.Aliases = []string{"acknowledge"}
	var snoozeFor time.Duration
	snooze := &cobra.Command{
		Use: "snooze PAGE --for DURATION", Short: "Acknowledge a page for a while; then its current step notifies again",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if snoozeFor < time.Minute || snoozeFor > pager.MaxSnooze {
				return fmt.Errorf("--for %s: want 1m to %s", snoozeFor, pager.MaxSnooze)
			}
			return c.pageAction(cmd.Context(), args[0], func(cl *client.Client, id string) (pager.Page, error) {
				return cl.SnoozePage(cmd.Context(), id, snoozeFor.String())
			})
		},
	}
	snooze.Flags().DurationVar(&snoozeFor, "for", 30*time.Minute, "how long")
	cmd.AddCommand(c.newPagesListCmd(), c.newPagesShowCmd(), c.newPagesOpenCmd(), ack,
		act("resolve", "resolve", "Resolve a page"), act("escalate", "escalate", "Notify a page's next step now"), snooze)
	return cmd
}

// pageAction resolves ref to a page id, runs fn and prints the outcome.
func (c *cli) pageAction(ctx context.Context, ref string, fn func(cl *client.Client, id string) (pager.Page, error)) error {
	cl, err := c.client()
	if err != nil {
		return err
	}
	id, err := resolvePageRef(ctx, cl, ref)
	if err != nil {
		return err
	}
	pg, err := fn(cl, id)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "Page %s: %s — %s\n", shortID(pg.ID), pageState(pg), pg.Summary)
	return nil
}

// resolvePageRef turns a page id, or its end (as lists show it) or start,
// into an id, looking among the open pages, then the most recent ones.
func resolvePageRef(ctx context.Context, cl *client.Client, ref string) (string, error) {
	ref, whole, err := shortRef("page", ref, "pages list")
	if err != nil || whole {
		return ref, err
	}
	for _, status := range []string{"open", ""} {
		list, _, err := cl.ListPages(ctx, client.PageFilter{Status: status, Limit: 500})
		if err != nil {
			return "", err
		}
		ids := make([]uuid.UUID, len(list))
		for i, pg := range list {
			ids[i] = pg.ID
		}
		if id, found, err := matchRef("page", ref, ids); err != nil || found {
			return id, err
		}
	}
	return "", fmt.Errorf("no page %q: see groundcrew pages list", ref)
}

func pageState(pg pager.Page) string {
	switch {
	case pg.Snoozed():
		return "snoozed until " + formatTime(*pg.NextAt)
	case pg.Status == pager.Triggered && pg.Exhausted:
		return "triggered (every step notified, nobody acknowledged)"
	case pg.Status == pager.Triggered && pg.Step < 0:
		return "triggered (notifying)"
	case pg.Status == pager.Triggered:
		return fmt.Sprintf("triggered, step %d", pg.Step+1)
	case pg.Status == pager.Acknowledged:
		return "acknowledged by " + pg.AcknowledgedBy
	}
	return string(pg.Status)
}

func (c *cli) newPagesListCmd() *cobra.Command {
	var f client.PageFilter
	cmd := &cobra.Command{
		Use:   "list [--status open|triggered|acknowledged|resolved] [--user U] [--policy P] [--service S] [--team T]",
		Short: "List pages, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch f.Status {
			case "", "open", "triggered", "acknowledged", "resolved":
			default:
				return fmt.Errorf("--status %q: want open, triggered, acknowledged or resolved", f.Status)
			}
			cl, err := c.client()
			if err != nil {
				return err
			}
			list, next, err := cl.ListPages(cmd.Context(), f)
			if err != nil {
				return err
			}
			if len(list) == 0 {
				fmt.Fprintln(c.stderr, "No pages.")
				return nil
			}
			tw := tabwriter.NewWriter(c.stdout, 0, 8, 3, ' ', 0)
			fmt.Fprintln(tw, "PAGE\tSTATE\tPOLICY\tSERVICE\tSUMMARY\tOPENED")
			for _, pg := range list {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", shortID(pg.ID), pageState(pg), pg.Policy, dash(pg.Service),
					oneLine(pg.Summary, 60), formatTime(pg.CreatedAt))
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			if next != "" {
				fmt.Fprintf(c.stderr, "More pages: --cursor %s\n", next)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&f.Status, "status", "open", "open, triggered, acknowledged, resolved, or empty for all")
	cmd.Flags().StringVar(&f.User, "user", "", "only pages that notified this person")
	cmd.Flags().StringVar(&f.Policy, "policy", "", "only this escalation policy's pages")
	cmd.Flags().StringVar(&f.Service, "service", "", "only this service's pages")
	cmd.Flags().StringVar(&f.Team, "team", "", "only this team's pages")
	cmd.Flags().IntVar(&f.Limit, "limit", 50, "how many")
	cmd.Flags().StringVar(&f.Cursor, "cursor", "", "continue after a previous page of results")
	return cmd
}

func (c *cli) newPagesShowCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "show PAGE",
		Short: "Show a page: its state, alerts, history and what was sent to whom",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := c.client()
			if err != nil {
				return err
			}
			id, err := resolvePageRef(cmd.Context(), cl, args[0])
			if err != nil {
				return err
			}
			pg, err := cl.GetPage(cmd.Context(), id)
			if err != nil {
				return err
			}
			w := c.stdout
			fmt.Fprintf(w, "Page %s\n%s\n\nState:   %s\nPolicy:  %s\n", pg.ID, pg.Summary, pageState(pg), pg.Policy)
			if pg.Service != "" {
				fmt.Fprintf(w, "Service: %s\n", pg.Service)
			}
			fmt.Fprintf(w, "Opened:  %s\n", formatTime(pg.CreatedAt))
			if len(pg.Alerts) > 0 {
				fmt.Fprintf(w, "\nAlerts (%d):\n", len(pg.Alerts))
				for _, a := range pg.Alerts {
					fmt.Fprintf(w, "  %s\n", oneLine(a.Summary, 100))
				}
			}
			fmt.Fprintln(w, "\nHistory:")
			for _, e := range pg.Events {
				fmt.Fprintf(w, "  %s  %-15s %s\n", formatTime(e.At), e.Kind, eventDetail(e))
			}
			if len(pg.Sends) > 0 {
				fmt.Fprintln(w, "\nSent:")
				tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
				for _, s := range pg.Sends {
					fmt.Fprintf(tw, "  step %d\t%s\t%s (%s)\t%s\t%s\n", s.Step+1, s.User, s.Method, s.Type, s.Status, formatTime(s.DueAt))
				}
				return tw.Flush()
			}
			return nil
		},
	}
}

// eventDetail prints an event's actor and details on one line.
func eventDetail(e pager.Event) string {
	var parts []string
	if e.Actor != "" {
		parts = append(parts, "by "+e.Actor)
	}
	keys := make([]string, 0, len(e.Detail))
	for k := range e.Detail {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%v", k, e.Detail[k]))
	}
	return strings.Join(parts, " ")
}

func (c *cli) newPagesOpenCmd() *cobra.Command {
	var in pager.OpenInput
	var labels []string
	cmd := &cobra.Command{
		Use:   "open --policy P --summary TEXT [--service S] [--labels k=v,…]",
		Short: "Page an escalation policy by hand",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if in.Policy == "" || strings.TrimSpace(in.Summary) == "" {
				return errors.New("--policy and --summary are required")
			}
			if len(labels) > 0 {
				ls, err := parseLabels(labels)
				if err != nil {
					return err
				}
				in.Labels = ls
			}
			cl, err := c.client()
			if err != nil {
				return err
			}
			pg, err := cl.OpenPage(cmd.Context(), in)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "Page %s opened: %s is being paged.\n", shortID(pg.ID), pg.Policy)
			return nil
		},
	}
	cmd.Flags().StringVar(&in.Policy, "policy", "", "the escalation policy to page")
	cmd.Flags().StringVar(&in.Summary, "summary", "", "what is wrong, in one line")
	cmd.Flags().StringVar(&in.Service, "service", "", "the service concerned")
	cmd.Flags().StringArrayVar(&labels, "labels", nil, "labels, name=value, comma-separated or repeated")
	return cmd
}
