package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"groundcrew.dev/groundcrew/internal/client"
	"groundcrew.dev/groundcrew/internal/clock"
	"groundcrew.dev/groundcrew/internal/config"
	"groundcrew.dev/groundcrew/internal/db/dbtest"
	"groundcrew.dev/groundcrew/internal/server"
)

// adminPassword is the password of "admin" on every test server.
const adminPassword = "test-admin-password-1"

// harness is a real groundcrew server on a loopback port and a place to
// run CLI commands against it, each with a fresh configuration directory.
type harness struct {
	t    *testing.T
	srv  *server.Server
	url  string
	home string            // GROUNDCREW_CONFIG_HOME
	env  map[string]string // what the commands see as their environment
}

// serverOptions changes how newHarness starts the server.
type serverOptions struct {
	dsn   string      // default: SQLite in a temporary directory
	clock clock.Clock // default: the real clock
}

// newHarness starts a server with a fresh database that has only the
// administrator, and stops it when the test ends.
func newHarness(t *testing.T, o serverOptions) *harness {
	t.Helper()
	dir := t.TempDir()
	if o.dsn == "" {
		o.dsn = "sqlite://" + filepath.Join(dir, "gc.db")
	}
	cfg := config.Config{
		Listen: "127.0.0.1:0", DataDir: dir, Database: o.dsn,
		LogFormat: "text", LogLevel: "warn", BaseURL: "http://127.0.0.1:0",
	}
	srv := server.New(cfg, server.Options{
		Clock: o.clock,
		Getenv: func(k string) string {
			if k == "GROUNDCREW_ADMIN_PASSWORD" {
				return adminPassword
			}
			return ""
		},
		Out: io.Discard,
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := srv.Start(ctx); err != nil {
		t.Fatalf("start server: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Logf("shutdown: %v", err)
		}
	})
	h := &harness{t: t, srv: srv, url: srv.URL(), home: t.TempDir()}
	h.env = map[string]string{envConfigHome: h.home}
	return h
}

// engines runs fn once per database engine: SQLite, and PostgreSQL when
// GROUNDCREW_TEST_POSTGRES is set.
func engines(t *testing.T, fn func(t *testing.T, o serverOptions)) {
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		fn(t, serverOptions{})
	})
	if dbtest.PostgresURL(t) == "" {
		return
	}
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		fn(t, serverOptions{dsn: dbtest.PostgresDSN(t)})
	})
}

// run runs the groundcrew command args with stdin and returns what it
// printed and its error.
func (h *harness) run(stdin string, args ...string) (stdout, stderr string, err error) {
	h.t.Helper()
	var out, errOut bytes.Buffer
	getenv := func(k string) string { return h.env[k] }
	cmd := newRootCmd(strings.NewReader(stdin), &out, &errOut, getenv)
	cmd.SetArgs(args)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	err = cmd.ExecuteContext(ctx)
	return out.String(), errOut.String(), err
}

// ok runs a command that must succeed and returns its standard output.
func (h *harness) ok(args ...string) string {
	h.t.Helper()
	out, errOut, err := h.run("", args...)
	if err != nil {
		h.t.Fatalf("groundcrew %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, out, errOut)
	}
	return out
}

// fail runs a command that must fail and returns its error message.
func (h *harness) fail(args ...string) string {
	h.t.Helper()
	out, _, err := h.run("", args...)
	if err == nil {
		h.t.Fatalf("groundcrew %s succeeded; want an error\nstdout:\n%s", strings.Join(args, " "), out)
	}
	return err.Error()
}

// login logs in as admin with --password-stdin.
func (h *harness) login() {
	h.t.Helper()
	if _, errOut, err := h.run(adminPassword+"\n", "login", "--server", h.url, "--user", "admin", "--password-stdin"); err != nil {
		h.t.Fatalf("login: %v\n%s", err, errOut)
	}
}

// client returns an API client logged in as admin through the saved
// login.
func (h *harness) client() *client.Client {
	h.t.Helper()
	c := &cli{env: &env{getenv: func(k string) string { return h.env[k] }}}
	cl, err := c.client()
	if err != nil {
		h.t.Fatalf("client: %v", err)
	}
	return cl
}

// writeFile writes content to a file in a temporary directory and returns
// its path.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// lines splits output into its non-empty lines.
func lines(s string) []string {
	var out []string
	for l := range strings.SplitSeq(s, "\n") {
		if strings.TrimSpace(l) != "" {
			out = append(out, l)
		}
	}
	return out
}
