package main

import (
	"errors"
	"fmt"
	"net/http"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"groundcrew.dev/groundcrew/internal/client"
	"groundcrew.dev/groundcrew/internal/clock"
	"groundcrew.dev/groundcrew/internal/identity"
)

func (c *cli) newTokenCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Manage your personal API tokens",
	}
	cmd.AddCommand(c.newTokenCreateCmd(), c.newTokenListCmd(), c.newTokenRevokeCmd())
	return cmd
}

func (c *cli) newTokenCreateCmd() *cobra.Command {
	var scope string
	var expiresIn time.Duration
	cmd := &cobra.Command{
		Use:   "create NAME [--scope read|write] [--expires-in 720h]",
		Short: "Create an API token and print its secret (shown only once)",
		Example: `  groundcrew token create ci-deploy --expires-in 720h
  GROUNDCREW_TOKEN=$(groundcrew token create dashboards --scope read) …`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			switch identity.Scope(scope) {
			case identity.ScopeRead, identity.ScopeWrite:
			default:
				return fmt.Errorf("--scope %s: want read or write", scope)
			}
			if expiresIn < 0 {
				return fmt.Errorf("--expires-in %s: want a positive duration", expiresIn)
			}
			cl, err := c.client()
			if err != nil {
				return err
			}
			tok, err := cl.CreateToken(cmd.Context(), args[0], identity.Scope(scope), expiresIn)
			if err != nil {
				return err
			}
			// The secret alone on standard output, so scripts can capture it.
			fmt.Fprintln(c.stdout, tok.Secret)
			exp := "never"
			if tok.ExpiresAt != nil {
				exp = formatTime(*tok.ExpiresAt)
			}
			fmt.Fprintf(c.stderr, "Created %s token %q (expires %s). Store the secret now: it is not shown again.\n", tok.Scope, tok.Name, exp)
			return nil
		},
	}
	cmd.Flags().StringVar(&scope, "scope", string(identity.ScopeWrite), "read or write")
	cmd.Flags().DurationVar(&expiresIn, "expires-in", 0, "lifetime, e.g. 720h (default: the server's, 90 days)")
	return cmd
}

func (c *cli) newTokenListCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List your API tokens",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, err := c.client()
			if err != nil {
				return err
			}
			toks, err := cl.ListTokens(cmd.Context())
			if err != nil {
				return err
			}
			if len(toks) == 0 {
				fmt.Fprintln(c.stderr, "No tokens.")
				return nil
			}
			t := now()
			tw := tabwriter.NewWriter(c.stdout, 0, 8, 3, ' ', 0)
			fmt.Fprintln(tw, "NAME\tPREFIX\tSCOPE\tSTATUS\tCREATED\tEXPIRES\tLAST USED")
			for _, tok := range toks {
				status := "active"
				switch {
				case tok.RevokedAt != nil:
					status = "revoked"
				case tok.ExpiresAt != nil && !tok.ExpiresAt.After(t):
					status = "expired"
				}
				fmt.Fprintf(tw, "%s\t%s…\t%s\t%s\t%s\t%s\t%s\n", tok.Name, tok.Prefix, tok.Scope, status,
					formatTime(tok.CreatedAt), formatTimePtr(tok.ExpiresAt, "never"), formatTimePtr(tok.LastUsedAt, "-"))
			}
			return tw.Flush()
		},
	}
}

func (c *cli) newTokenRevokeCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "revoke NAME",
		Short: "Revoke one of your API tokens",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := c.client()
			if err != nil {
				return err
			}
			if err := cl.RevokeToken(cmd.Context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "token/%s revoked\n", args[0])
			return nil
		},
	}
}

// isGone reports whether err says a token is already unusable: unknown,
// revoked or expired.
func isGone(err error) bool {
	var e *client.Error
	return errors.As(err, &e) && (e.Status == http.StatusNotFound || e.Status == http.StatusUnauthorized)
}

// now is the time the commands show things relative to.
func now() time.Time { return clock.Real{}.Now() }

// formatTime shows t in the local time zone, to the second.
func formatTime(t time.Time) string { return t.Local().Format("2006-01-02 15:04:05 MST") }

func formatTimePtr(t *time.Time, none string) string {
	if t == nil {
		return none
	}
	return formatTime(*t)
}
