package main

import (
	"strings"
	"testing"
)

// TestRouteTestAndSilences routes an alert through the example routes with
// route-test, and creates, lists and expires a silence.
func TestRouteTestAndSilences(t *testing.T) {
	t.Parallel()
	h := newHarness(t, serverOptions{})
	h.login()
	h.ok("apply", "-f", examplesDir)

	out := h.ok("alerts", "route-test", "--labels", "alertname=HighLatency,service=payments-api", "--labels", "severity=critical")
	for _, want := range []string{"route routes[0].routes[0] → platform-mail", "why:", "payments: matched on"} {
		if !strings.Contains(out, want) {
			t.Errorf("route-test lacks %q:\n%s", want, out)
		}
	}
	if out := h.ok("alerts", "route-test", "--labels", "alertname=Other,service=storefront-web"); !strings.Contains(out, "route everything-else → platform-mail") {
		t.Errorf("route-test of an alert for the catch-all:\n%s", out)
	}
	if msg := h.fail("alerts", "route-test"); !strings.Contains(msg, "--labels is required") {
		t.Errorf("route-test without labels: %q", msg)
	}

	if out := h.ok("silence", "create", `service="payments-api"`, "--preview"); !strings.Contains(out, "0 firing alert(s)") {
		t.Errorf("preview: %q", out)
	}
	if msg := h.fail("silence", "create", `service=="x"`, "--duration", "1h", "--comment", "x"); !strings.Contains(msg, "matchers[0]") {
		t.Errorf("bad matcher: %q", msg)
	}
	if msg := h.fail("silence", "create", `service="payments-api"`, "--duration", "1h"); !strings.Contains(msg, "comment") {
		t.Errorf("no comment: %q", msg)
	}
	id := strings.TrimSpace(h.ok("silence", "create", `service="payments-api"`, `alertname=~"High.*"`, "--duration", "2h", "--comment", "deploying 4.2"))
	list := h.ok("silence", "list")
	if !strings.Contains(list, id) || !strings.Contains(list, "active") || !strings.Contains(list, "deploying 4.2") {
		t.Fatalf("silence list:\n%s", list)
	}
	if out := h.ok("alerts", "route-test", "--labels", "alertname=HighLatency,service=payments-api"); !strings.Contains(out, "silenced now by "+id) {
		t.Errorf("route-test under a silence:\n%s", out)
	}
	if out := h.ok("silence", "expire", id); out != "silence/"+id+" expired\n" {
		t.Errorf("expire: %q", out)
	}
	if list := h.ok("silence", "list"); strings.Contains(list, id) {
		t.Errorf("expired silence still listed:\n%s", list)
	}
	if list := h.ok("silence", "list", "--all"); !strings.Contains(list, "expired") {
		t.Errorf("list --all:\n%s", list)
	}
}
