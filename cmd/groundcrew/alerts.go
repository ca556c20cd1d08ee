package main

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"groundcrew.dev/groundcrew/internal/alert"
	"groundcrew.dev/groundcrew/internal/client"
)

func (c *cli) newIntegrationsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "integrations",
		Aliases: []string{"integration"},
		Short:   "Manage alert integrations: the keys Prometheus, Alertmanager and PagerDuty-style senders use",
	}
	cmd.AddCommand(c.newIntegrationsCreateCmd(), c.newIntegrationsListCmd(), c.newIntegrationsRevokeCmd())
	return cmd
}

func (c *cli) newIntegrationsCreateCmd() *cobra.Command {
	var in alert.IntegrationInput
	var typ string
	cmd := &cobra.Command{
		Use:   "create NAME --type alertmanager|pagerduty|webhook [--service S] [--team T]",
		Short: "Create an alert integration and print its key (shown only once)",
		Example: `  groundcrew integrations create prometheus-prod --type alertmanager --service payments-api
  groundcrew integrations create backups --type webhook --team platform`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			in.Name, in.Type = args[0], alert.Type(typ)
			if !slices.Contains(alert.Types, in.Type) {
				return fmt.Errorf("--type %q: want alertmanager, pagerduty or webhook", typ)
			}
			cl, err := c.client()
			if err != nil {
				return err
			}
			it, err := cl.CreateIntegration(cmd.Context(), in)
			if err != nil {
				return err
			}
			// The key alone on standard output, so scripts can capture it.
			fmt.Fprintln(c.stdout, it.Key)
			fmt.Fprintf(c.stderr, "Created %s integration %q. Store the key now: it is not shown again.\n%s", it.Type, it.Name, usage(it.Type, cl.BaseURL()))
			return nil
		},
	}
	cmd.Flags().StringVar(&typ, "type", "", "alertmanager (Prometheus or Alertmanager), pagerduty (Events v2 style) or webhook")
	cmd.Flags().StringVar(&in.Service, "service", "", "the catalog service its alerts concern")
	cmd.Flags().StringVar(&in.Team, "team", "", "the owning team (default: the service's owner)")
	_ = cmd.MarkFlagRequired("type")
	return cmd
}

// usage says where a sender of type t posts.
func usage(t alert.Type, base string) string {
	switch t {
	case alert.TypeAlertmanager:
		return "Prometheus: alerting.alertmanagers with the key as bearer token or basic-auth password, target " + base + alert.PathAlertmanager +
			"\nAlertmanager: webhook_configs url " + base + alert.PathAlertmanagerWebhook + "\n"
	case alert.TypePagerDuty:
		return "PagerDuty-style senders: POST " + base + alert.PathPagerDuty + " with the key as routing_key\n"
	default:
		return "POST " + base + alert.PathWebhook + " with Authorization: Bearer <key>\n"
	}
}

func (c *cli) newIntegrationsListCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List alert integrations",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, err := c.client()
			if err != nil {
				return err
			}
			list, err := cl.ListIntegrations(cmd.Context())
			if err != nil {
				return err
			}
			if len(list) == 0 {
				fmt.Fprintln(c.stderr, "No integrations.")
				return nil
			}
			tw := tabwriter.NewWriter(c.stdout, 0, 8, 3, ' ', 0)
			fmt.Fprintln(tw, "NAME\tTYPE\tKEY\tSERVICE\tTEAM\tSTATUS\tCREATED\tLAST USED")
			for _, it := range list {
				status := "active"
				if it.RevokedAt != nil {
					status = "revoked"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s…\t%s\t%s\t%s\t%s\t%s\n", it.Name, it.Type, it.KeyPrefix, dash(it.Service), dash(it.Team), status,
					formatTime(it.CreatedAt), formatTimePtr(it.LastUsedAt, "-"))
			}
			return tw.Flush()
		},
	}
}

func (c *cli) newIntegrationsRevokeCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "revoke NAME",
		Short: "Revoke an alert integration's key; its alerts stay",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := c.client()
			if err != nil {
				return err
			}
			if err := cl.RevokeIntegration(cmd.Context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "integration/%s revoked\n", args[0])
			return nil
		},
	}
}

func (c *cli) newAlertsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "alerts",
		Aliases: []string{"alert"},
		Short:   "List and show alerts",
	}
	cmd.AddCommand(c.newAlertsListCmd(), c.newAlertsShowCmd(), c.newRouteTestCmd())
	return cmd
}

func (c *cli) newAlertsListCmd() *cobra.Command {
	var f client.AlertFilter
	var status string
	cmd := &cobra.Command{
		Use:   "list [--status firing|resolved] [--service S] [--severity S] [--label name=value]",
		Short: "List alerts, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch alert.Status(status) {
			case "", alert.Firing, alert.Resolved:
			default:
				return fmt.Errorf("--status %q: want firing or resolved", status)
			}
			if f.Limit <= 0 || f.Limit > 1000 {
				return fmt.Errorf("--limit %d: want 1 to 1000", f.Limit)
			}
			f.Status = alert.Status(status)
			cl, err := c.client()
			if err != nil {
				return err
			}
			list, next, err := cl.ListAlerts(cmd.Context(), f)
			if err != nil {
				return err
			}
			if len(list) == 0 {
				fmt.Fprintln(c.stderr, "No alerts.")
				return nil
			}
			tw := tabwriter.NewWriter(c.stdout, 0, 8, 3, ' ', 0)
			fmt.Fprintln(tw, "ID\tSTATUS\tSEVERITY\tSERVICE\tSUMMARY\tSOURCE\tSTARTED\tSEEN")
			for _, a := range list {
				src := string(a.Source)
				if a.Integration != "" {
					src += "/" + a.Integration
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d×\n", a.ID, a.Status, dash(a.Severity), dash(a.Service),
					oneLine(firstOf(a.Summary, a.Labels["alertname"]), 60), src, formatTime(a.StartsAt), a.RefreshCount)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			if next != "" {
				fmt.Fprintf(c.stderr, "More alerts: --cursor %s\n", next)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&status, "status", "", "firing or resolved")
	cmd.Flags().StringVar(&f.Service, "service", "", "only this catalog service's alerts")
	cmd.Flags().StringVar(&f.Severity, "severity", "", "only this severity")
	cmd.Flags().StringVar(&f.Label, "label", "", "a label matcher name=value")
	cmd.Flags().IntVar(&f.Limit, "limit", 50, "how many")
	cmd.Flags().StringVar(&f.Cursor, "cursor", "", "continue after a previous page")
	return cmd
}

func (c *cli) newAlertsShowCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "show ID",
		Short: "Show an alert with its labels, annotations and history (ID, fingerprint or dedup key)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := c.client()
			if err != nil {
				return err
			}
			d, err := cl.GetAlert(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			w := c.stdout
			fmt.Fprintf(w, "ID:           %s\nStatus:       %s\nSummary:      %s\nSeverity:     %s\nService:      %s\n", d.ID, d.Status, d.Summary, dash(d.Severity), dash(d.Service))
			src := string(d.Source)
			if d.Integration != "" {
				src += " (integration " + d.Integration + ")"
			}
			fmt.Fprintf(w, "Source:       %s\nFingerprint:  %s\n", src, d.Fingerprint)
			if d.DedupKey != "" {
				fmt.Fprintf(w, "Dedup key:    %s\n", d.DedupKey)
			}
			fmt.Fprintf(w, "Started:      %s\nLast seen:    %s (received %d×)\n", formatTime(d.StartsAt), formatTime(d.LastSeenAt), d.RefreshCount)
			if d.EndsAt != nil {
				label := "Resolves at:  "
				if d.Status == alert.Resolved {
					label = "Resolved:     "
				}
				fmt.Fprintf(w, "%s%s\n", label, formatTime(*d.EndsAt))
			}
			if d.AcknowledgedAt != nil {
				fmt.Fprintf(w, "Acknowledged: %s\n", formatTime(*d.AcknowledgedAt))
			}
			printMap(w, "Labels", d.Labels)
			printMap(w, "Annotations", d.Annotations)
			fmt.Fprintln(w, "History:")
			for _, e := range d.History {
				line := fmt.Sprintf("  %s  %-12s %s", formatTime(e.At), e.Kind, e.Actor)
				if len(e.Detail) > 0 {
					var parts []string
					for _, k := range slices.Sorted(maps.Keys(e.Detail)) {
						parts = append(parts, fmt.Sprintf("%s=%v", k, e.Detail[k]))
					}
					line += "  (" + strings.Join(parts, ", ") + ")"
				}
				fmt.Fprintln(w, line)
			}
			return nil
		},
	}
}

func printMap(w interface{ Write([]byte) (int, error) }, title string, m map[string]string) {
	if len(m) == 0 {
		return
	}
	fmt.Fprintf(w, "%s:\n", title)
	for _, k := range slices.Sorted(maps.Keys(m)) {
		fmt.Fprintf(w, "  %s=%s\n", k, oneLine(m[k], 200))
	}
}

func firstOf(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// oneLine shows s on one line, cut to n characters.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}
