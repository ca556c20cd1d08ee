package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"groundcrew.dev/groundcrew/internal/client"
	"groundcrew.dev/groundcrew/internal/clock"
)

func TestLogin(t *testing.T) {
	t.Parallel()
	h := newHarness(t, serverOptions{})

	out, _, err := h.run(adminPassword+"\n", "login", "--server", h.url+"/", "--user", "admin", "--password-stdin", "--token-name", "laptop")
	if err != nil {
		t.Fatalf("login: %v", err)
	}
	if !strings.Contains(out, "Logged in to "+h.url+" as admin") {
		t.Errorf("login printed %q", out)
	}
	path := filepath.Join(h.home, "groundcrew", "credentials.json")
	st, err := os.Stat(path)
	if err != nil {
		t.Fatalf("credentials not saved: %v", err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("credentials file mode %v, want 0600", st.Mode().Perm())
	}
	if dst, _ := os.Stat(filepath.Dir(path)); dst.Mode().Perm() != 0o700 {
		t.Errorf("credentials directory mode %v, want 0700", dst.Mode().Perm())
	}
	data, _ := os.ReadFile(path)
	var creds credentials
	if err := json.Unmarshal(data, &creds); err != nil {
		t.Fatal(err)
	}
	if creds.Server != h.url || creds.User != "admin" || creds.TokenName != "laptop" || !strings.HasPrefix(creds.Token, "gct_") {
		t.Errorf("saved %+v", creds)
	}

	if out := h.ok("whoami"); !strings.Contains(out, "user:   admin") || !strings.Contains(out, "role:   admin") || !strings.Contains(out, "via token") {
		t.Errorf("whoami printed:\n%s", out)
	}

	// Logging in again replaces the token and revokes the old one.
	h.login()
	old, err := client.New(h.url, creds.Token)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := old.WhoAmI(context.Background()); !client.IsUnauthorized(err) {
		t.Errorf("token of the earlier login: %v, want 401", err)
	}

	data, _ = os.ReadFile(path)
	if err := json.Unmarshal(data, &creds); err != nil {
		t.Fatal(err)
	}
	if out := h.ok("logout"); !strings.Contains(out, "Logged out of "+h.url) {
		t.Errorf("logout printed %q", out)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("credentials still there after logout: %v", err)
	}
	loggedOut, _ := client.New(h.url, creds.Token)
	if _, err := loggedOut.WhoAmI(context.Background()); !client.IsUnauthorized(err) || !strings.Contains(err.Error(), "revoked") {
		t.Errorf("token after logout: %v, want 401 revoked", err)
	}
	if msg := h.fail("whoami"); msg != errNotLoggedIn.Error() {
		t.Errorf("whoami after logout: %q, want %q", msg, errNotLoggedIn)
	}
	if out := h.ok("logout"); !strings.Contains(out, "Not logged in") {
		t.Errorf("second logout printed %q", out)
	}
}

func TestLogin_Refused(t *testing.T) {
	t.Parallel()
	h := newHarness(t, serverOptions{})
	for _, tc := range []struct {
		name, stdin string
		args        []string
		want        string
	}{
		{"wrong password", "not-the-password\n", []string{"login", "--server", h.url, "--user", "admin", "--password-stdin"}, "wrong user name or password"},
		{"no terminal", "", []string{"login", "--server", h.url, "--user", "admin"}, "--password-stdin"},
		{"no user", adminPassword, []string{"login", "--server", h.url, "--password-stdin"}, "--user is required"},
		{"no server", adminPassword, []string{"login", "--user", "admin", "--password-stdin"}, "--server"},
		{"bad server URL", adminPassword, []string{"login", "--server", "ops.example.com", "--user", "admin", "--password-stdin"}, "want http://HOST:PORT"},
		{"empty password", "\n", []string{"login", "--server", h.url, "--user", "admin", "--password-stdin"}, "no password"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := h.run(tc.stdin, tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("login: %v, want an error containing %q", err, tc.want)
			}
			if strings.Contains(err.Error(), adminPassword) {
				t.Errorf("error shows the password: %v", err)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(h.home, "groundcrew", "credentials.json")); !os.IsNotExist(err) {
		t.Errorf("a failed login saved credentials: %v", err)
	}
}

func TestConnection_Resolution(t *testing.T) {
	t.Parallel()
	h := newHarness(t, serverOptions{})

	if msg := h.fail("get", "services"); msg != errNotLoggedIn.Error() {
		t.Errorf("without a login: %q, want %q", msg, errNotLoggedIn)
	}
	h.login()
	tok := h.ok("token", "create", "env-token")
	secret := strings.TrimSpace(tok)

	// The saved token never goes to another server.
	h.env[envServer] = "http://127.0.0.1:1"
	if msg := h.fail("whoami"); msg != errNotLoggedIn.Error() {
		t.Errorf("GROUNDCREW_SERVER naming another server: %q, want %q", msg, errNotLoggedIn)
	}
	// Flags beat the environment, which beats the saved login.
	h.ok("whoami", "--server", h.url)
	h.env[envToken] = secret
	msg := h.fail("whoami")
	if !strings.Contains(msg, "127.0.0.1:1") {
		t.Errorf("GROUNDCREW_SERVER was not used: %q", msg)
	}
	if strings.Contains(msg, "gct_") {
		t.Errorf("error shows a token: %q", msg)
	}
	delete(h.env, envServer)

	h.env[envToken] = "gct_not-a-real-token"
	if msg := h.fail("whoami"); !strings.Contains(msg, "unknown API token") {
		t.Errorf("GROUNDCREW_TOKEN was not used: %q", msg)
	}
	h.ok("whoami", "--token", secret)
	delete(h.env, envToken)

	// Environment alone, without any saved login.
	h.env[envConfigHome] = t.TempDir()
	h.env[envServer], h.env[envToken] = h.url, secret
	h.ok("whoami")
	h.env[envToken] = ""
	if msg := h.fail("whoami"); msg != errNotLoggedIn.Error() {
		t.Errorf("with a server but no token: %q, want %q", msg, errNotLoggedIn)
	}
}

func TestToken(t *testing.T) {
	t.Parallel()
	h := newHarness(t, serverOptions{})
	h.login()

	out, errOut, err := h.run("", "token", "create", "ci", "--scope", "read", "--expires-in", "720h")
	if err != nil {
		t.Fatal(err)
	}
	secret := strings.TrimSpace(out)
	if !strings.HasPrefix(secret, "gct_") || strings.Contains(secret, "\n") {
		t.Errorf("token create printed %q, want the secret alone", out)
	}
	if !strings.Contains(errOut, `read token "ci"`) || !strings.Contains(errOut, "not shown again") {
		t.Errorf("token create said %q", errOut)
	}
	list := h.ok("token", "list")
	if got := lines(list); len(got) != 3 || !strings.HasPrefix(got[0], "NAME") {
		t.Errorf("token list:\n%s", list)
	}
	if !strings.Contains(list, "ci ") || !strings.Contains(list, secret[:10]+"…") {
		t.Errorf("token list lacks the new token:\n%s", list)
	}

	// A read token reads but does not write.
	h.env[envToken] = secret
	h.ok("get", "services")
	if msg := h.fail("apply", "-f", examplesDir); !strings.Contains(msg, "read-only") {
		t.Errorf("apply with a read token: %q", msg)
	}
	delete(h.env, envToken)

	// A revoked token is refused.
	if out := h.ok("token", "revoke", "ci"); out != "token/ci revoked\n" {
		t.Errorf("token revoke printed %q", out)
	}
	h.env[envToken] = secret
	if msg := h.fail("get", "services"); !strings.Contains(msg, "API token was revoked") {
		t.Errorf("revoked token: %q", msg)
	}
	delete(h.env, envToken)
	if list := h.ok("token", "list"); !strings.Contains(list, "revoked") {
		t.Errorf("token list does not show the revocation:\n%s", list)
	}
	if msg := h.fail("token", "revoke", "ci"); !strings.Contains(msg, `no active token called "ci"`) {
		t.Errorf("revoking twice: %q", msg)
	}
	for _, args := range [][]string{
		{"token", "create", "x", "--scope", "admin"},
		{"token", "create", "Bad_Name"},
		{"token", "create"},
	} {
		h.fail(args...)
	}
}

func TestToken_Expired(t *testing.T) {
	t.Parallel()
	clk := clock.NewFake(time.Now())
	h := newHarness(t, serverOptions{clock: clk})
	h.login()
	secret := strings.TrimSpace(h.ok("token", "create", "short", "--expires-in", "1h"))
	h.env[envToken] = secret
	h.ok("whoami")
	clk.Advance(time.Hour)
	if msg := h.fail("whoami"); !strings.Contains(msg, "API token expired") {
		t.Errorf("expired token: %q", msg)
	}
}
