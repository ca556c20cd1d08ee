package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"groundcrew.dev/groundcrew/internal/agent"
	"groundcrew.dev/groundcrew/internal/server"
)

// Environment variables the agent reads.
const (
	envEnrollToken = "GROUNDCREW_ENROLL_TOKEN"
	envAgentState  = "GROUNDCREW_AGENT_STATE_DIR"
)

func (c *cli) newAgentCmd() *cobra.Command {
	var opts agent.Options
	cmd := &cobra.Command{
		Use:   "agent --server URL [--enroll-token T] [--location NAME]",
		Short: "Run the host agent, or manage agents and enrollment tokens",
		Long: `Run the groundcrew agent: it enrolls once with an enrollment token (the
server issues it a credential of its own, kept in --state-dir with mode
0600), then probes the health checks assigned to its location and reports
the results. Without subcommand it runs until interrupted.

The enrollment token comes from "groundcrew agent token create" (operators);
pass it with --enroll-token or ` + envEnrollToken + `. It is needed only for the first
start.`,
		Example: `  groundcrew agent token create eu-west-1 --location eu-west --expires-in 1h
  groundcrew agent --server https://ops.example.com --enroll-token gcet_… --state-dir /var/lib/groundcrew-agent`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.Server = c.server
			if opts.Server == "" {
				opts.Server = c.getenv(envServer)
			}
			if opts.Server == "" {
				return errors.New("--server is required (or " + envServer + ")")
			}
			if opts.EnrollToken == "" {
				opts.EnrollToken = c.getenv(envEnrollToken)
			}
			if opts.StateDir == "" {
				opts.StateDir = c.getenv(envAgentState)
			}
			if opts.StateDir == "" {
				dir, err := os.UserConfigDir()
				if err != nil {
					return fmt.Errorf("--state-dir is required: %w", err)
				}
				opts.StateDir = filepath.Join(dir, "groundcrew-agent")
			}
			opts.Version = server.Version
			opts.Logger = server.NewLogger(c.stderr, "text", "info")
			ag, err := agent.New(cmd.Context(), opts)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.stderr, "agent %s probing from location %s for %s\n", ag.Name(), ag.Location(), opts.Server)
			return ag.Run(cmd.Context())
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.EnrollToken, "enroll-token", "", "enrollment token, for the first start (env "+envEnrollToken+")")
	f.StringVar(&opts.Location, "location", "", "the location to probe from, when the token leaves it open (else it must match the token's)")
	f.StringVar(&opts.Name, "name", "", "the agent's name (default: the host name)")
	f.StringVar(&opts.StateDir, "state-dir", "", "where the agent keeps its credential (env "+envAgentState+"; default: the user config directory)")
	f.DurationVar(&opts.PollInterval, "poll-interval", 15*time.Second, "how often to ask the server for changed checks")
	f.IntVar(&opts.Concurrency, "concurrency", 0, "probes in flight at once (default 64)")
	cmd.AddCommand(c.newAgentTokenCmd(), c.newAgentListCmd(), c.newAgentRevokeCmd())
	return cmd
}

func (c *cli) newAgentTokenCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "token", Short: "Manage agent enrollment tokens (operators)"}
	var location string
	var expiresIn time.Duration
	var uses int
	create := &cobra.Command{
		Use:   "create NAME [--location L] [--expires-in 24h] [--uses N]",
		Short: "Create an enrollment token and print its secret (shown only once)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := c.client()
			if err != nil {
				return err
			}
			t, err := cl.CreateEnrollToken(cmd.Context(), args[0], location, expiresIn, uses)
			if err != nil {
				return err
			}
			fmt.Fprintln(c.stdout, t.Secret)
			where := "a location each agent names with --location"
			if t.Location != "" {
				where = "location " + t.Location
			}
			fmt.Fprintf(c.stderr, "Created enrollment token %q for %s (expires %s). Store the secret now: it is not shown again.\n", t.Name, where, formatTime(t.ExpiresAt))
			return nil
		},
	}
	create.Flags().StringVar(&location, "location", "", "the location agents enrolling with it probe from (default: each agent's --location)")
	create.Flags().DurationVar(&expiresIn, "expires-in", 0, "lifetime, at most 720h (default 24h)")
	create.Flags().IntVar(&uses, "uses", 0, "how many agents may enroll with it (default: any number until it expires)")
	list := &cobra.Command{
		Use: "list", Short: "List enrollment tokens", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, err := c.client()
			if err != nil {
				return err
			}
			toks, err := cl.ListEnrollTokens(cmd.Context())
			if err != nil {
				return err
			}
			t := now()
			tw := tabwriter.NewWriter(c.stdout, 0, 8, 3, ' ', 0)
			fmt.Fprintln(tw, "NAME\tPREFIX\tLOCATION\tSTATUS\tUSES LEFT\tEXPIRES\tCREATED BY")
			for _, tok := range toks {
				status := "active"
				switch {
				case tok.RevokedAt != nil:
					status = "revoked"
				case !tok.ExpiresAt.After(t):
					status = "expired"
				case tok.UsesLeft != nil && *tok.UsesLeft <= 0:
					status = "used up"
				}
				uses := "any"
				if tok.UsesLeft != nil {
					uses = fmt.Sprint(*tok.UsesLeft)
				}
				fmt.Fprintf(tw, "%s\t%s…\t%s\t%s\t%s\t%s\t%s\n", tok.Name, tok.Prefix, orDash(tok.Location), status, uses, formatTime(tok.ExpiresAt), tok.CreatedBy)
			}
			return tw.Flush()
		},
	}
	revoke := &cobra.Command{
		Use: "revoke NAME", Short: "Revoke an enrollment token", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := c.client()
			if err != nil {
				return err
			}
			if err := cl.RevokeEnrollToken(cmd.Context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "enroll-token/%s revoked\n", args[0])
			return nil
		},
	}
	cmd.AddCommand(create, list, revoke)
	return cmd
}

func (c *cli) newAgentListCmd() *cobra.Command {
	return &cobra.Command{
		Use: "list", Short: "List enrolled agents", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, err := c.client()
			if err != nil {
				return err
			}
			agents, err := cl.ListAgents(cmd.Context())
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(c.stdout, 0, 8, 3, ' ', 0)
			fmt.Fprintln(tw, "NAME\tLOCATION\tSTATUS\tVERSION\tHOST\tLAST SEEN")
			for _, a := range agents {
				status := "active"
				if a.RevokedAt != nil {
					status = "revoked"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", a.Name, a.Location, status, orDash(a.Version), orDash(a.Hostname), formatTimePtr(a.LastSeenAt, "never"))
			}
			return tw.Flush()
		},
	}
}

func (c *cli) newAgentRevokeCmd() *cobra.Command {
	return &cobra.Command{
		Use: "revoke NAME", Short: "Revoke an agent's credential", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := c.client()
			if err != nil {
				return err
			}
			if err := cl.RevokeAgent(cmd.Context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "agent/%s revoked\n", args[0])
			return nil
		},
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
