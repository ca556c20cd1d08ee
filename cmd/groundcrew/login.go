package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"groundcrew.dev/groundcrew/internal/identity"
)

// maxPasswordBytes bounds what --password-stdin reads.
const maxPasswordBytes = 4 << 10

func (c *cli) newLoginCmd() *cobra.Command {
	var user, tokenName string
	var passwordStdin bool
	cmd := &cobra.Command{
		Use:   "login [--server URL] [--user NAME] [--password-stdin]",
		Short: "Log in and save an API token for the other commands",
		Long: `Log in to a groundcrew server: exchange your user name and password for a
personal API token, saved readable only by you in
$GROUNDCREW_CONFIG_HOME/groundcrew/credentials.json (default: the user
configuration directory). The other commands use it unless --server/--token
or GROUNDCREW_SERVER/GROUNDCREW_TOKEN say otherwise.

The password is asked for on the terminal; in scripts, pipe it in with
--password-stdin.`,
		Example: `  groundcrew login --server https://ops.example.com --user alice
  echo "$PASSWORD" | groundcrew login --server https://ops.example.com --user ci --password-stdin`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			old, _ := c.loadCredentials() // nil when missing; a damaged file is replaced
			url := c.server
			if url == "" {
				url = c.getenv(envServer)
			}
			if url == "" && old != nil {
				url = old.Server
			}
			if url == "" {
				return errors.New("which server? pass --server URL")
			}
			cl, err := c.newClient(url, "")
			if err != nil {
				return err
			}
			var in *bufio.Reader
			if user == "" {
				if !c.stdinIsTerminal() || passwordStdin {
					return errors.New("--user is required")
				}
				in = bufio.NewReader(c.stdin)
				fmt.Fprint(c.stderr, "User: ")
				line, err := in.ReadString('\n')
				if err != nil && line == "" {
					return fmt.Errorf("read user name: %w", err)
				}
				if user = strings.TrimSpace(line); user == "" {
					return errors.New("no user name given")
				}
			}
			password, err := c.readPassword(passwordStdin, fmt.Sprintf("Password for %s at %s: ", user, cl.BaseURL()))
			if err != nil {
				return err
			}
			if tokenName == "" {
				tokenName = defaultTokenName()
			}
			tok, err := cl.LoginToken(ctx, user, password, tokenName, identity.ScopeWrite)
			if err != nil {
				return fmt.Errorf("log in to %s: %w", cl.BaseURL(), err)
			}
			path, err := c.saveCredentials(credentials{Server: cl.BaseURL(), Token: tok.Secret, User: tok.User, TokenName: tok.Name})
			if err != nil {
				return fmt.Errorf("save credentials: %w", err)
			}
			// The token this login replaces is no longer needed.
			if old != nil && old.TokenName != "" && old.TokenName != tok.Name {
				c.revokeSaved(ctx, old)
			}
			fmt.Fprintf(c.stdout, "Logged in to %s as %s (token %q, saved in %s)\n", cl.BaseURL(), tok.User, tok.Name, path)
			return nil
		},
	}
	cmd.Flags().StringVarP(&user, "user", "u", "", "user name (asked for on a terminal)")
	cmd.Flags().BoolVar(&passwordStdin, "password-stdin", false, "read the password from standard input")
	cmd.Flags().StringVar(&tokenName, "token-name", "", "name of the API token to create (default cli-HOST-RANDOM)")
	return cmd
}

// readPassword reads the password from standard input (--password-stdin,
// up to the first newline) or asks for it on the terminal without echo.
func (c *cli) readPassword(fromStdin bool, prompt string) (string, error) {
	if fromStdin {
		data, err := io.ReadAll(io.LimitReader(c.stdin, maxPasswordBytes+1))
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		if len(data) > maxPasswordBytes {
			return "", errors.New("password on standard input is too long")
		}
		pw, _, _ := strings.Cut(string(data), "\n")
		pw = strings.TrimSuffix(pw, "\r")
		if pw == "" {
			return "", errors.New("no password on standard input")
		}
		return pw, nil
	}
	f, ok := c.stdin.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return "", errors.New("standard input is not a terminal: pass the password with --password-stdin")
	}
	fmt.Fprint(c.stderr, prompt)
	pw, err := term.ReadPassword(int(f.Fd()))
	fmt.Fprintln(c.stderr)
	if err != nil {
		return "", fmt.Errorf("read password: %w", err)
	}
	return string(pw), nil
}

func (c *cli) stdinIsTerminal() bool {
	f, ok := c.stdin.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// defaultTokenName names a login's token after the host, with a random
// suffix so that logging in again never collides with an earlier token.
func defaultTokenName() string {
	host, _ := os.Hostname()
	var b strings.Builder
	for _, r := range strings.ToLower(host) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		case b.Len() > 0 && !strings.HasSuffix(b.String(), "-"):
			b.WriteByte('-')
		}
		if b.Len() >= 40 {
			break
		}
	}
	name := strings.Trim(b.String(), "-")
	var r [4]byte
	_, _ = rand.Read(r[:])
	if name == "" {
		return "cli-" + hex.EncodeToString(r[:])
	}
	return "cli-" + name + "-" + hex.EncodeToString(r[:])
}

// revokeSaved revokes a saved login's token, best effort: a token that
// expired or was revoked already is fine, and a server that cannot be
// reached only earns a warning.
func (c *cli) revokeSaved(ctx context.Context, creds *credentials) {
	cl, err := c.newClient(creds.Server, creds.Token)
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := cl.RevokeToken(ctx, creds.TokenName); err != nil && !isGone(err) {
		fmt.Fprintf(c.stderr, "warning: could not revoke token %q on %s: %v\n", creds.TokenName, creds.Server, err)
	}
}

func (c *cli) newLogoutCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "logout",
		Short: "Revoke the saved API token and forget the login",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			creds, err := c.loadCredentials()
			path, _ := c.credentialsPath()
			switch {
			case errors.Is(err, fs.ErrNotExist):
				fmt.Fprintln(c.stdout, "Not logged in")
				return nil
			case err != nil:
				fmt.Fprintf(c.stderr, "warning: %v\n", err)
			case creds.TokenName != "":
				c.revokeSaved(cmd.Context(), creds)
			}
			if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
			if creds != nil {
				fmt.Fprintf(c.stdout, "Logged out of %s\n", creds.Server)
			} else {
				fmt.Fprintln(c.stdout, "Logged out")
			}
			return nil
		},
	}
}

func (c *cli) newWhoAmICmd() *cobra.Command {
	return &cobra.Command{
		Use:   "whoami",
		Short: "Show who the API token belongs to",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, err := c.client()
			if err != nil {
				return err
			}
			me, err := cl.WhoAmI(cmd.Context())
			if err != nil {
				return err
			}
			teams := strings.Join(me.Teams, ", ")
			if teams == "" {
				teams = "-"
			}
			fmt.Fprintf(c.stdout, "user:   %s\nrole:   %s\nscope:  %s (via %s)\nteams:  %s\nserver: %s\n",
				me.Name, me.Role, me.Scope, me.Via, teams, cl.BaseURL())
			return nil
		},
	}
}
