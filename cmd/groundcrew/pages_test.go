package main

import (
	"strings"
	"testing"
)

// TestPages pages the example escalation policy by hand and walks the page
// through acknowledge, snooze, escalate and resolve with the CLI, naming it
// by the short id the list prints.
func TestPages(t *testing.T) {
	t.Parallel()
	h := newHarness(t, serverOptions{})
	h.login()
	h.ok("apply", "-f", examplesDir)

	out := h.ok("pages", "open", "--policy", "payments", "--summary", "card payments failing", "--service", "payments-api")
	if !containsAll(out, "opened", "payments is being paged") {
		t.Fatalf("pages open: %q", out)
	}
	short := strings.Fields(out)[1]
	list := h.ok("pages", "list")
	if got := lines(list); len(got) != 2 || !containsAll(got[1], short, "triggered", "payments", "payments-api", "card payments failing") {
		t.Fatalf("pages list:\n%s", list)
	}
	for _, tc := range []struct{ args, want []string }{
		{[]string{"pages", "ack", short}, []string{short, "acknowledged by admin", "card payments failing"}},
		{[]string{"pages", "snooze", short, "--for", "10m"}, []string{"snoozed until"}},
		{[]string{"pages", "escalate", short}, []string{"triggered, step"}},
		{[]string{"pages", "resolve", short}, []string{"resolved"}},
	} {
		if out := h.ok(tc.args...); !containsAll(out, tc.want...) {
			t.Errorf("%s: %q, want %q", strings.Join(tc.args, " "), out, tc.want)
		}
	}
	show := h.ok("pages", "show", short)
	if !containsAll(show, "card payments failing", "State:   resolved", "opened", "acknowledged", "snoozed", "escalated", "resolved", "by admin") {
		t.Errorf("pages show:\n%s", show)
	}
	if out := h.ok("pages", "list"); out != "" {
		t.Errorf("no open pages left, list printed %q", out)
	}
	for _, tc := range []struct{ args, want []string }{
		{[]string{"pages", "ack", "zz"}, []string{"at least 4 characters"}},
		{[]string{"pages", "ack", "ffffffff"}, []string{"no page", "ffffffff"}},
		{[]string{"pages", "open", "--policy", "nope", "--summary", "x"}, []string{"policy", "nope", "not found"}},
		{[]string{"pages", "open", "--policy", "payments"}, []string{"--summary"}},
		{[]string{"pages", "snooze", short, "--for", "10s"}, []string{"--for"}},
		{[]string{"pages", "ack", short}, []string{"resolved"}},
		{[]string{"pages", "list", "--status", "sleeping"}, []string{"--status"}},
	} {
		if msg := h.fail(tc.args...); !containsAll(msg, tc.want...) {
			t.Errorf("%s: %q, want %q", strings.Join(tc.args, " "), msg, tc.want)
		}
	}
}
