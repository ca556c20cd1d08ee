package main

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"groundcrew.dev/groundcrew/internal/clock"
)

// as returns a harness on the same server logged in as user, whose
// password admin sets first.
func (h *harness) as(user string, body map[string]any) *harness {
	h.t.Helper()
	pw := "password-of-" + user
	body["password"] = pw
	if err := h.client().Do(context.Background(), http.MethodPut, "/users/"+user, nil, body, nil); err != nil {
		h.t.Fatalf("set %s's password: %v", user, err)
	}
	o := &harness{t: h.t, srv: h.srv, url: h.url, home: h.t.TempDir()}
	o.env = map[string]string{envConfigHome: o.home}
	if _, errOut, err := o.run(pw+"\n", "login", "--server", h.url, "--user", user, "--password-stdin"); err != nil {
		h.t.Fatalf("login as %s: %v\n%s", user, err, errOut)
	}
	return o
}

// swapID returns the short id a command printed ("Swap 1a2b3c4d …").
func swapID(t *testing.T, out string) string {
	t.Helper()
	f := strings.Fields(out)
	if len(f) < 2 || f[0] != "Swap" {
		t.Fatalf("no swap id in %q", out)
	}
	return f[1]
}

// TestSwaps has bob, on call this week in the example schedule, ask alice
// to cover an evening, which she accepts: then she is on call then. A
// trade is cancelled, a cover declined, and mistakes are refused.
func TestSwaps(t *testing.T) {
	t.Parallel()
	// Monday 30 March 2026, 10:30 in Berlin: bob is on call until next
	// Monday 10:00, then alice.
	h := newHarness(t, serverOptions{clock: clock.NewFake(time.Date(2026, 3, 30, 8, 30, 0, 0, time.UTC))})
	h.login()
	h.ok("apply", "-f", examplesDir)
	bob := h.as("bob", map[string]any{"display_name": "Bob Chen", "email": "bob@example.com", "role": "member"})
	alice := h.as("alice", map[string]any{"display_name": "Alice Martin", "email": "alice@example.com", "role": "operator"})
	evening := "2026-04-01T20:00:00Z"

	out := bob.ok("oncall", "swap", "request", "--schedule", "payments-primary", "--with", "alice",
		"--from", "2026-04-01T16:00:00Z", "--to", "2026-04-02T06:00:00Z", "--message", "dentist")
	if !strings.Contains(out, `requested: payments-primary: alice covers bob 2026-04-01 18:00 CEST – 2026-04-02 08:00 CEST ("dentist")`) {
		t.Fatalf("request:\n%s", out)
	}
	id := swapID(t, out)
	if out := h.ok("oncall", "--schedule", "payments-primary", "--at", evening); !strings.Contains(out, "bob") {
		t.Errorf("a pending swap changed who is on call:\n%s", out)
	}
	if msg := bob.fail("oncall", "swap", "accept", id); !strings.Contains(msg, "only alice") {
		t.Errorf("bob accepts his own swap: %q", msg)
	}
	if out := alice.ok("oncall", "swap", "list", "--status", "pending"); !containsAll(out, id, "pending", "alice covers bob") {
		t.Errorf("alice's pending swaps:\n%s", out)
	}
	if out := alice.ok("oncall", "swap", "accept", id); !strings.HasPrefix(out, "Swap "+id+" accepted: payments-primary: alice covers bob") {
		t.Errorf("accept:\n%s", out)
	}
	if out := h.ok("oncall", "--schedule", "payments-primary", "--at", evening); !containsAll(out, "alice  2026-04-01 18:00 CEST  2026-04-02 08:00 CEST  overrides[0]") {
		t.Errorf("on call during the swapped evening:\n%s", out)
	}
	if out := h.ok("oncall", "--schedule", "payments-primary", "--at", "2026-04-02T06:00:00Z"); !strings.Contains(out, "bob") {
		t.Errorf("after the swapped evening:\n%s", out)
	}

	// A trade: bob's Friday for alice's Tuesday next week; bob withdraws it.
	out = bob.ok("oncall", "swap", "request", "--schedule", "payments-primary", "--with", "alice",
		"--from", "2026-04-03T08:00:00Z", "--to", "2026-04-04T08:00:00Z", "--trade-from", "2026-04-07T08:00:00Z", "--trade-to", "2026-04-08T08:00:00Z")
	if !strings.Contains(out, "; bob covers alice 2026-04-07 10:00 CEST – 2026-04-08 10:00 CEST") {
		t.Errorf("trade:\n%s", out)
	}
	trade := swapID(t, out)
	if out := bob.ok("oncall", "swap", "cancel", trade); !strings.HasPrefix(out, "Swap "+trade+" cancelled") {
		t.Errorf("cancel:\n%s", out)
	}
	if msg := alice.fail("oncall", "swap", "accept", trade); !strings.Contains(msg, "cancelled") {
		t.Errorf("accept a cancelled swap: %q", msg)
	}
	out = bob.ok("oncall", "swap", "request", "--schedule", "payments-primary", "--with", "alice", "--from", "2026-04-03T08:00:00Z", "--to", "2026-04-04T08:00:00Z")
	if out := alice.ok("oncall", "swap", "decline", swapID(t, out)); !strings.Contains(out, "declined") {
		t.Errorf("decline:\n%s", out)
	}
	out = h.ok("oncall", "swap", "list", "--schedule", "payments-primary")
	if got := lines(out); len(got) != 4 || !containsAll(out, "accepted", "cancelled", "declined") {
		t.Errorf("the schedule's swaps:\n%s", out)
	}
	for _, tc := range []struct{ args, want []string }{
		{[]string{"--with", "alice", "--from", "2026-04-07T08:00:00Z", "--to", "2026-04-08T08:00:00Z"}, []string{"start", "bob is not on call", "it is alice"}},
		{[]string{"--with", "alice", "--from", "2026-03-29T08:00:00Z", "--to", "2026-04-01T08:00:00Z"}, []string{"start", "future"}},
		{[]string{"--with", "bob", "--from", "2026-04-01T08:00:00Z", "--to", "2026-04-02T08:00:00Z"}, []string{"counterpart", "someone other"}},
		{[]string{"--with", "alice", "--from", "2026-04-01T08:00:00Z", "--to", "2026-04-02T08:00:00Z", "--trade-from", "2026-04-07T08:00:00Z"}, []string{"--trade-to"}},
		{[]string{"--with", "alice", "--from", "tomorrow", "--to", "2026-04-02T08:00:00Z"}, []string{"--from", "RFC 3339"}},
	} {
		args := append([]string{"oncall", "swap", "request", "--schedule", "payments-primary"}, tc.args...)
		if msg := bob.fail(args...); !containsAll(msg, tc.want...) {
			t.Errorf("%s: %q, want %q", strings.Join(tc.args, " "), msg, tc.want)
		}
	}
	if msg := bob.fail("oncall", "swap", "accept", "zzzzzzzz"); !strings.Contains(msg, "no swap") {
		t.Errorf("accept an unknown swap: %q", msg)
	}
}
