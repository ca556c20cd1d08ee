package main

import (
	"os"
	"strings"
	"testing"
)

// docCommands returns the `groundcrew incident …` lines of the sh blocks
// of a Markdown file, split into arguments (double quotes group words).
func docCommands(t *testing.T, path string) [][]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]string
	in := false
	for l := range strings.SplitSeq(string(data), "\n") {
		l = strings.TrimSpace(l)
		switch {
		case strings.HasPrefix(l, "```"):
			in = l == "```sh"
		case in && strings.HasPrefix(l, "groundcrew incident "):
			var args []string
			for i, part := range strings.Split(l, `"`) {
				if i%2 == 1 {
					args = append(args, part)
				} else {
					args = append(args, strings.Fields(part)...)
				}
			}
			out = append(out, args[1:])
		}
	}
	return out
}

// TestIncidentCLI runs every incident command of docs/incidents.md, in
// order, against a server with the example catalog, then checks what they
// did and how bad input is refused.
func TestIncidentCLI(t *testing.T) {
	engines(t, func(t *testing.T, o serverOptions) {
		h := newHarness(t, o)
		h.login()
		h.ok("apply", "-f", examplesDir)
		cmds := docCommands(t, "../../docs/incidents.md")
		if len(cmds) < 15 {
			t.Fatalf("found %d incident commands in the docs", len(cmds))
		}
		outputs := map[string]string{}
		for _, args := range cmds {
			outputs[strings.Join(args[:2], " ")] += h.ok(args...)
		}
		if got := outputs["incident declare"]; got != "Declared INC-1 (SEV2): Checkout fails for card payments; lead admin\n" {
			t.Errorf("declare printed %q", got)
		}
		show := outputs["incident show"]
		for _, want := range []string{"INC-1  SEV1  resolved  Checkout fails for card payments", "Roles     lead=bob, communications=alice\n",
			"Services  payments-api (team payments)", "payments provider confirms no issue on their side", "Status changed from identified to monitoring: rolled back to 1.41"} {
			if !strings.Contains(show, want) {
				t.Errorf("show lacks %q:\n%s", want, show)
			}
		}
		pm := outputs["incident postmortem"]
		for _, want := range []string{"# Postmortem INC-1: Checkout fails for card payments", "Release 1.42 broke card tokenization", "Rollback took 4 minutes.",
			"Review: in_review", "Affected services: payments-api (team payments)."} {
			if !strings.Contains(pm, want) {
				t.Errorf("postmortem lacks %q:\n%s", want, pm)
			}
		}
		items := lines(outputs["incident action-item"])
		if len(items) < 3 || !strings.Contains(items[2], "open") || !strings.Contains(items[2], "Canary releases for payments-api") {
			t.Errorf("action items:\n%s", outputs["incident action-item"])
		}
		// The status update reached the public page.
		cl := h.client()
		var n struct {
			Items []struct{ Ref, Status string }
		}
		if err := cl.Do(t.Context(), "GET", "/status-pages/public/notices", nil, nil, &n); err != nil || len(n.Items) != 1 || n.Items[0].Ref != "INC-1" || n.Items[0].Status != "resolved" {
			t.Errorf("notices of public: %v %+v", err, n)
		}
		list := h.ok("incident", "list", "--status", "resolved")
		if l := lines(list); len(l) != 2 || !strings.HasPrefix(strings.Join(strings.Fields(l[1]), " "), "INC-1 SEV1 resolved bob") {
			t.Errorf("list:\n%s", list)
		}

		h.ok("incident", "declare", "--title", "Search is slow", "--severity", "sev3", "--service", "catalog-api")
		for _, tc := range []struct{ args, want []string }{
			{[]string{"incident", "resolve", "INC-2"}, []string{"summary", "required to resolve"}},
			{[]string{"incident", "declare", "--title", "x", "--severity", "SEV7"}, []string{"severity", "SEV1"}},
			{[]string{"incident", "declare", "--title", "x", "--severity", "SEV3", "--service", "nope"}, []string{"services[0]", "nope"}},
			{[]string{"incident", "role", "2", "lead", "--unassign"}, []string{"exactly one lead"}},
			{[]string{"incident", "role", "2", "scribe", "ghost"}, []string{"ghost", "does not exist"}},
			{[]string{"incident", "show", "INC-x"}, []string{"not an incident"}},
			{[]string{"incident", "show", "99"}, []string{"INC-99 not found"}},
			{[]string{"incident", "postmortem", "2"}, []string{"no postmortem", "--create"}},
			{[]string{"incident", "action-item", "add", "2", "--title", "x", "--team", "nope", "--due", "3d"}, []string{"team", "nope"}},
			{[]string{"incident", "action-item", "add", "2", "--title", "x", "--team", "payments", "--due", "soon"}, []string{"due", "soon"}},
		} {
			if msg := h.fail(tc.args...); !containsAll(msg, tc.want...) {
				t.Errorf("%s: %q, want %q", strings.Join(tc.args, " "), msg, tc.want)
			}
		}
	})
}
