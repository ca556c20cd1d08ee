package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"groundcrew.dev/groundcrew/internal/client"
	"groundcrew.dev/groundcrew/internal/oncall"
)

// newSwapCmd is `groundcrew oncall swap`: request, list and decide swaps.
func (c *cli) newSwapCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "swap",
		Aliases: []string{"swaps"},
		Short:   "Ask someone to cover or trade a period of your shift; accept, decline or cancel",
		Long: "A swap asks someone to cover a period of your on-call shift (cover), or to take it while you take a period of\n" +
			"theirs (trade). Nothing changes until they accept: then the schedule gets the overrides. A pending swap\n" +
			"expires when its first period starts. A swap is named by its id, or by the end of it as `swap list` shows it.",
		Example: `  groundcrew oncall swap request --schedule payments-primary --with alice --from 2026-04-01T16:00:00Z --to 2026-04-02T08:00:00Z --message "dentist"
  groundcrew oncall swap request --schedule payments-primary --with alice --from 2026-04-01T08:00:00Z --to 2026-04-02T08:00:00Z \
      --trade-from 2026-04-08T08:00:00Z --trade-to 2026-04-09T08:00:00Z
  groundcrew oncall swap list --status pending
  groundcrew oncall swap accept 4be1c2d9`,
	}
	act := func(action, short string) *cobra.Command {
		return &cobra.Command{
			Use: action + " SWAP", Short: short, Args: cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				cl, err := c.client()
				if err != nil {
					return err
				}
				id, err := resolveSwapRef(cmd.Context(), cl, args[0])
				if err != nil {
					return err
				}
				sw, err := cl.DecideSwap(cmd.Context(), id, action)
				if err != nil {
					return err
				}
				fmt.Fprintf(c.stdout, "Swap %s %s: %s\n", shortID(sw.ID), sw.Status, c.describeSwap(cmd.Context(), cl, sw, nil))
				return nil
			},
		}
	}
	cmd.AddCommand(c.newSwapRequestCmd(), c.newSwapListCmd(),
		act("accept", "Accept a swap you were asked: the schedule gets the overrides"),
		act("decline", "Decline a swap you were asked"),
		act("cancel", "Withdraw a swap you requested"))
	return cmd
}

func (c *cli) newSwapRequestCmd() *cobra.Command {
	var sched string
	var in oncall.SwapInput
	var from, to, tradeFrom, tradeTo string
	cmd := &cobra.Command{
		Use:   "request --schedule S --with USER --from T --to T [--trade-from T --trade-to T] [--message M]",
		Short: "Ask someone to cover (or trade) a period of your shift",
		Long: "You must be on call for the whole period (at most 14 days, in the future); for a trade, they for the whole\n" +
			"trade period. Times are RFC 3339 (2026-04-01T16:00:00Z, or with an offset) or offsets from now (+12h).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if from == "" || to == "" {
				return errors.New("--from and --to are required: the period of your shift to give away")
			}
			if (tradeFrom == "") != (tradeTo == "") {
				return errors.New("give both --trade-from and --trade-to, or neither")
			}
			for _, t := range []struct {
				flag, value string
				dst         *time.Time
			}{{"--from", from, &in.Start}, {"--to", to, &in.End}, {"--trade-from", tradeFrom, &in.TradeStart}, {"--trade-to", tradeTo, &in.TradeEnd}} {
				if t.value == "" {
					continue
				}
				v, err := parseAt(t.value)
				if err != nil {
					return errors.New(strings.Replace(err.Error(), "--at", t.flag, 1))
				}
				*t.dst = v
			}
			cl, err := c.client()
			if err != nil {
				return err
			}
			sw, err := cl.RequestSwap(cmd.Context(), sched, in)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "Swap %s requested: %s\n", shortID(sw.ID), c.describeSwap(cmd.Context(), cl, sw, nil))
			fmt.Fprintf(c.stderr, "Nothing changes until %s accepts: groundcrew oncall swap accept %s\n", sw.Counterpart, shortID(sw.ID))
			return nil
		},
	}
	cmd.Flags().StringVar(&sched, "schedule", "", "the schedule (required)")
	cmd.Flags().StringVar(&in.Counterpart, "with", "", "who is asked to take the period (required)")
	cmd.Flags().StringVar(&in.Requester, "for", "", "whose period it is; default you (others' takes the right to change the schedule)")
	cmd.Flags().StringVar(&from, "from", "", "start of your period (required)")
	cmd.Flags().StringVar(&to, "to", "", "end of your period (required)")
	cmd.Flags().StringVar(&tradeFrom, "trade-from", "", "for a trade: start of their period you take")
	cmd.Flags().StringVar(&tradeTo, "trade-to", "", "for a trade: its end")
	cmd.Flags().StringVar(&in.Message, "message", "", "a note for them")
	_ = cmd.MarkFlagRequired("schedule")
	_ = cmd.MarkFlagRequired("with")
	return cmd
}

func (c *cli) newSwapListCmd() *cobra.Command {
	var f client.SwapFilter
	cmd := &cobra.Command{
		Use:   "list [--schedule S | --user U] [--status pending]",
		Short: "List swaps: yours, another person's, or a schedule's",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if f.Schedule != "" && f.User != "" {
				return errors.New("give at most one of --schedule and --user")
			}
			cl, err := c.client()
			if err != nil {
				return err
			}
			f.Limit = 200
			list, _, err := cl.ListSwaps(cmd.Context(), f)
			if err != nil {
				return err
			}
			if len(list) == 0 {
				fmt.Fprintln(c.stderr, "No swaps.")
				return nil
			}
			zones := map[string]string{}
			w := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(w, "ID\tSTATUS\tSWAP")
			for _, sw := range list {
				fmt.Fprintf(w, "%s\t%s\t%s\n", shortID(sw.ID), sw.Status, c.describeSwap(cmd.Context(), cl, sw, zones))
			}
			return w.Flush()
		},
	}
	cmd.Flags().StringVar(&f.Schedule, "schedule", "", "every swap of this schedule")
	cmd.Flags().StringVar(&f.User, "user", "", "swaps this person requested or was asked (default you)")
	cmd.Flags().StringVar(&f.Status, "status", "", "pending, accepted, declined, cancelled or expired")
	return cmd
}

// describeSwap says a swap for people, in its schedule's time zone
// (looked up once per schedule through zones, when not nil): "payments-
// primary: alice covers bob 2026-04-01 18:00 CEST – 2026-04-02 10:00 CEST".
func (c *cli) describeSwap(ctx context.Context, cl *client.Client, sw oncall.Swap, zones map[string]string) string {
	if zones == nil {
		zones = map[string]string{}
	}
	zone, ok := zones[sw.Schedule]
	if !ok {
		if sc, err := client.Get[oncall.Schedule](ctx, cl, client.Collection("/schedules"), sw.Schedule); err == nil {
			zone = sc.Spec.TimeZone
		}
		zones[sw.Schedule] = zone
	}
	s := fmt.Sprintf("%s: %s covers %s %s – %s", sw.Schedule, sw.Counterpart, sw.Requester, inZone(sw.Start, zone), inZone(sw.End, zone))
	if sw.Kind == oncall.SwapTrade && sw.TradeStart != nil && sw.TradeEnd != nil {
		s += fmt.Sprintf("; %s covers %s %s – %s", sw.Requester, sw.Counterpart, inZone(*sw.TradeStart, zone), inZone(*sw.TradeEnd, zone))
	}
	if sw.Message != "" {
		s += fmt.Sprintf(" (%q)", sw.Message)
	}
	return s
}

// resolveSwapRef turns a swap id, or its end (as lists show it) or start,
// into an id, looking among the caller's swaps.
func resolveSwapRef(ctx context.Context, cl *client.Client, ref string) (string, error) {
	ref, whole, err := shortRef("swap", ref, "swap list")
	if err != nil || whole {
		return ref, err
	}
	list, _, err := cl.ListSwaps(ctx, client.SwapFilter{Limit: 1000})
	if err != nil {
		return "", err
	}
	ids := make([]uuid.UUID, len(list))
	for i, sw := range list {
		ids[i] = sw.ID
	}
	id, found, err := matchRef("swap", ref, ids)
	if err == nil && !found {
		err = fmt.Errorf("no swap %q among yours: see groundcrew oncall swap list, or give the whole id", ref)
	}
	return id, err
}
