package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestAgent creates an enrollment token with the CLI, runs the agent
// command with it until it is listed, then revokes the agent: the running
// command stops and says why.
func TestAgent(t *testing.T) {
	t.Parallel()
	h := newHarness(t, serverOptions{})
	h.login()

	out, errOut, err := h.run("", "agent", "token", "create", "edge", "--location", "eu", "--expires-in", "1h", "--uses", "1")
	if err != nil {
		t.Fatal(err)
	}
	secret := strings.TrimSpace(out)
	if !strings.HasPrefix(secret, "gcet_") || !strings.Contains(errOut, "location eu") {
		t.Fatalf("token create printed %q, said %q", out, errOut)
	}
	if list := h.ok("agent", "token", "list"); !strings.Contains(list, "edge") || !strings.Contains(list, "active") || !strings.Contains(list, secret[:11]+"…") {
		t.Fatalf("token list:\n%s", list)
	}
	if msg := h.fail("agent", "--server", h.url, "--state-dir", t.TempDir()); !strings.Contains(msg, "--enroll-token") {
		t.Fatalf("agent without a token or state: %q", msg)
	}

	state := t.TempDir()
	done := make(chan error, 1)
	go func() {
		_, _, err := h.run("", "agent", "--server", h.url, "--enroll-token", secret, "--state-dir", state, "--name", "cli-agent", "--poll-interval", "100ms")
		done <- err
	}()
	deadline := time.Now().Add(15 * time.Second)
	for list := ""; !strings.Contains(list, "cli-agent"); list = h.ok("agent", "list") {
		if time.Now().After(deadline) {
			t.Fatalf("the agent never showed up:\n%s", list)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if fi, err := os.Stat(filepath.Join(state, "agent.json")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("credential file: %v %v", err, fi)
	}
	if list := h.ok("agent", "token", "list"); !strings.Contains(list, "used up") {
		t.Errorf("a one-use token after use:\n%s", list)
	}
	if out := h.ok("agent", "revoke", "cli-agent"); out != "agent/cli-agent revoked\n" {
		t.Errorf("agent revoke printed %q", out)
	}
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "revoked") {
			t.Fatalf("agent after revocation: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the agent kept running after it was revoked")
	}
	if list := h.ok("agent", "list"); !strings.Contains(list, "revoked") {
		t.Errorf("agent list:\n%s", list)
	}
}
