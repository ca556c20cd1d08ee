package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"groundcrew.dev/groundcrew/internal/client"
	"groundcrew.dev/groundcrew/internal/server"
)

// Environment variables the client commands read.
const (
	envServer     = "GROUNDCREW_SERVER"
	envToken      = "GROUNDCREW_TOKEN"
	envConfigHome = "GROUNDCREW_CONFIG_HOME" // replaces the user config directory (tests)
)

// errNotLoggedIn is returned when no server or token is configured.
var errNotLoggedIn = errors.New("not logged in: run groundcrew login --server URL (or set " + envServer + " and " + envToken + ")")

// cli is the state the client commands share: the environment and the
// connection flags.
type cli struct {
	*env
	server, token string
}

// addClientCommands adds the commands that talk to the API.
func addClientCommands(root *cobra.Command, e *env) {
	c := &cli{env: e}
	for _, cmd := range []*cobra.Command{
		c.newApplyCmd(), c.newGetCmd(), c.newAuditCmd(), c.newTokenCmd(), c.newWhoAmICmd(), c.newLogoutCmd(), c.newAgentCmd(),
		c.newIntegrationsCmd(), c.newAlertsCmd(), c.newSilenceCmd(),
		c.newOnCallCmd(), c.newPagesCmd(),
		c.newIncidentCmd(),
	} {
		c.connFlags(cmd, true)
		root.AddCommand(cmd)
	}
	login := c.newLoginCmd()
	c.connFlags(login, false)
	root.AddCommand(login)
}

// connFlags adds --server (and --token) to cmd and its subcommands. They
// are not on the root command because serve and migrate do not use them.
func (c *cli) connFlags(cmd *cobra.Command, token bool) {
	cmd.PersistentFlags().StringVar(&c.server, "server", "", "groundcrew server URL (env "+envServer+"; default: the saved login)")
	if token {
		cmd.PersistentFlags().StringVar(&c.token, "token", "", "API token (env "+envToken+"; default: the saved login)")
	}
}

// client returns an API client for the server and token from the flags,
// else the environment, else the saved login.
func (c *cli) client() (*client.Client, error) {
	url, token := c.server, c.token
	if url == "" {
		url = c.getenv(envServer)
	}
	if token == "" {
		token = c.getenv(envToken)
	}
	if url == "" || token == "" {
		creds, err := c.loadCredentials()
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		if creds != nil {
			// The saved token only ever goes to the server it came from.
			if token == "" && (url == "" || sameServer(url, creds.Server)) {
				token = creds.Token
			}
			if url == "" {
				url = creds.Server
			}
		}
	}
	if url == "" || token == "" {
		return nil, errNotLoggedIn
	}
	return c.newClient(url, token)
}

func (c *cli) newClient(serverURL, token string) (*client.Client, error) {
	return client.New(serverURL, token, client.WithUserAgent("groundcrew-cli/"+server.Version))
}

func sameServer(a, b string) bool {
	ua, err1 := client.ParseBaseURL(a)
	ub, err2 := client.ParseBaseURL(b)
	return err1 == nil && err2 == nil && ua.String() == ub.String()
}

// credentials is the saved login.
type credentials struct {
	Server    string `json:"server"`
	Token     string `json:"token"`
	User      string `json:"user"`
	TokenName string `json:"token_name,omitempty"` // to revoke it at logout
}

// credentialsPath returns where the saved login lives:
// $GROUNDCREW_CONFIG_HOME/groundcrew/credentials.json, else the same under
// the user's configuration directory.
func (c *cli) credentialsPath() (string, error) {
	base := c.getenv(envConfigHome)
	if base == "" {
		var err error
		if base, err = os.UserConfigDir(); err != nil {
			return "", fmt.Errorf("find the configuration directory (set %s): %w", envConfigHome, err)
		}
	}
	return filepath.Join(base, "groundcrew", "credentials.json"), nil
}

// loadCredentials returns the saved login; an error wrapping
// fs.ErrNotExist when there is none.
func (c *cli) loadCredentials() (*credentials, error) {
	path, err := c.credentialsPath()
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var creds credentials
	if err := json.Unmarshal(data, &creds); err != nil {
		return nil, fmt.Errorf("%s: %w (run groundcrew login again)", path, err)
	}
	return &creds, nil
}

// saveCredentials writes the login readable only by the user (0600, in a
// 0700 directory), replacing the file atomically.
func (c *cli) saveCredentials(creds credentials) (string, error) {
	path, err := c.credentialsPath()
	if err != nil {
		return "", err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	data, err := json.MarshalIndent(creds, "", "  ")
	if err != nil {
		return "", err
	}
	f, err := os.CreateTemp(dir, ".credentials-*.json") // created 0600
	if err != nil {
		return "", err
	}
	defer os.Remove(f.Name()) // after a successful rename there is nothing left to remove
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return "", err
	}
	if _, err := f.Write(append(data, '\n')); err != nil {
		f.Close()
		return "", err
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return "", err
	}
	return path, nil
}
