package main

import (
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"groundcrew.dev/groundcrew/internal/client"
)

func (c *cli) newAuditCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Read and verify the audit log",
	}
	cmd.AddCommand(c.newAuditVerifyCmd(), c.newAuditListCmd())
	return cmd
}

func (c *cli) newAuditVerifyCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "verify",
		Short: "Check the audit log's hash chain",
		Long: `Walk the audit log's hash chain on the server and report the first row
that was edited, inserted or deleted out of order. Exits 1 when the chain
is broken.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, err := c.client()
			if err != nil {
				return err
			}
			rep, err := cl.VerifyAudit(cmd.Context())
			if err != nil {
				return err
			}
			if !rep.OK {
				if rep.Problem == nil {
					return fmt.Errorf("audit chain broken (%d rows checked)", rep.Checked)
				}
				return fmt.Errorf("audit chain broken at row %d: %s (%d rows before it are intact)", rep.Problem.Seq, rep.Problem.Reason, rep.Checked)
			}
			fmt.Fprintf(c.stdout, "audit chain OK: %d rows checked\n", rep.Checked)
			return nil
		},
	}
}

func (c *cli) newAuditListCmd() *cobra.Command {
	var f client.AuditFilter
	var since time.Duration
	cmd := &cobra.Command{
		Use:   "list [--actor NAME] [--kind KIND] [--object NAME] [--limit N]",
		Short: "List audit records, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if f.Limit <= 0 {
				return fmt.Errorf("--limit %d: want at least 1", f.Limit)
			}
			if since < 0 {
				return fmt.Errorf("--since %s: want a positive duration", since)
			}
			cl, err := c.client()
			if err != nil {
				return err
			}
			if since > 0 {
				f.Since = now().Add(-since)
			}
			recs, err := cl.ListAudit(cmd.Context(), f)
			if err != nil {
				return err
			}
			if len(recs) == 0 {
				fmt.Fprintln(c.stderr, "No audit records found.")
				return nil
			}
			tw := tabwriter.NewWriter(c.stdout, 0, 8, 3, ' ', 0)
			fmt.Fprintln(tw, "SEQ\tTIME\tACTOR\tACTION\tKIND\tOBJECT\tFROM")
			for _, r := range recs {
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Seq, formatTime(r.At), dash(r.ActorName), r.Action,
					dash(r.ObjectKind), dash(r.ObjectName), dash(r.SourceAddr))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&f.Actor, "actor", "", "only changes by this user (or system)")
	cmd.Flags().StringVar(&f.Action, "action", "", "only this action: create, update, delete, login, revoke, …")
	cmd.Flags().StringVar(&f.Kind, "kind", "", "only objects of this kind: service, team, user, environment, tool, token, …")
	cmd.Flags().StringVar(&f.Object, "object", "", "only the object with this name")
	cmd.Flags().DurationVar(&since, "since", 0, "only records newer than this, e.g. 24h")
	cmd.Flags().IntVar(&f.Limit, "limit", 50, "at most this many records")
	return cmd
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
