package main

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"groundcrew.dev/groundcrew/internal/apply"
)

func TestGet(t *testing.T) {
	t.Parallel()
	h := newHarness(t, serverOptions{})
	h.login()
	h.ok("apply", "-f", examplesDir)

	t.Run("table", func(t *testing.T) {
		out := h.ok("get", "services")
		got := lines(out)
		if len(got) != 8 {
			t.Fatalf("get services printed %d lines, want a header and 7 services:\n%s", len(got), out)
		}
		if !regexp.MustCompile(`^NAME +OWNER +TIER +LIFECYCLE +ENVIRONMENTS$`).MatchString(got[0]) {
			t.Errorf("header %q", got[0])
		}
		if !regexp.MustCompile(`^payments-api +payments +1 +production +prod,staging$`).MatchString(got[5]) {
			t.Errorf("payments-api row %q\n%s", got[5], out)
		}
		// Columns line up.
		col := strings.Index(got[0], "OWNER")
		for _, l := range got[1:] {
			if l[col-1] != ' ' || l[col] == ' ' {
				t.Errorf("row %q is not aligned with the header %q", l, got[0])
			}
		}
		if out := h.ok("get", "SVC", "storefront-web", "catalog-api"); !regexp.MustCompile(`(?s)^NAME.*\nstorefront-web .*\ncatalog-api .*\n$`).MatchString(out) {
			t.Errorf("get SVC storefront-web catalog-api:\n%s", out)
		}
		if out := h.ok("get", "Team", "platform"); !regexp.MustCompile(`platform +Platform \(Ops\) +alice +#platform`).MatchString(out) {
			t.Errorf("get Team platform:\n%s", out)
		}
	})

	t.Run("json", func(t *testing.T) {
		var got struct{ Items []apply.Document }
		if err := json.Unmarshal([]byte(h.ok("get", "environments", "-o", "json")), &got); err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, d := range got.Items {
			names = append(names, d.Metadata.Name)
			if d.APIVersion != apply.APIVersion || d.Kind != "Environment" || d.Source != nil {
				t.Errorf("document %+v", d)
			}
		}
		if strings.Join(names, ",") != "dev,prod,staging" {
			t.Errorf("environments %v", names)
		}
		if out, _, err := h.run("", "get", "env", "nope-a", "-o", "json"); out != "{\n  \"items\": []\n}\n" || err == nil {
			t.Errorf("json with no match: %q, %v", out, err)
		}
	})

	t.Run("yaml", func(t *testing.T) {
		out := h.ok("get", "service", "fraud-scoring", "postgres-main", "-o", "yaml")
		want := `apiVersion: groundcrew.dev/v1
kind: Service
metadata:
  name: fraud-scoring
spec:
  display_name: Fraud scoring
  owner: payments
  tier: 2
  lifecycle: production
  type: service
  system: checkout
  environments:
    - prod
    - staging
  repository: https://git.example.com/payments/fraud-scoring
  tags:
    - ml
    - python
---
apiVersion: groundcrew.dev/v1
kind: Service
metadata:
  name: postgres-main
  labels:
    tier: "1"
`
		if !strings.HasPrefix(out, want) {
			t.Errorf("get -o yaml:\n%s\nwant it to start with:\n%s", out, want)
		}
	})

	t.Run("errors", func(t *testing.T) {
		for _, tc := range []struct {
			args []string
			want string
		}{
			{[]string{"get", "services", "payments-api", "nope"}, `service not found: "nope"`},
			{[]string{"get", "services", "nope", "nada"}, `services not found: "nope", "nada"`},
			{[]string{"get", "spaceships"}, `unknown kind "spaceships": want one of users, teams, `},
			{[]string{"get", "services", "-o", "xml"}, "-o xml: want table, yaml or json"},
			{[]string{"get"}, "requires at least 1 arg"},
		} {
			if msg := h.fail(tc.args...); !strings.Contains(msg, tc.want) {
				t.Errorf("groundcrew %s: %q, want %q", strings.Join(tc.args, " "), msg, tc.want)
			}
		}
		// The names found are printed even when others are missing.
		out, _, _ := h.run("", "get", "services", "payments-api", "nope")
		if !strings.Contains(out, "payments-api") {
			t.Errorf("found names not printed:\n%s", out)
		}
	})
}

func TestAudit(t *testing.T) {
	t.Parallel()
	h := newHarness(t, serverOptions{})
	h.login()
	h.ok("apply", "-f", examplesDir)

	out := h.ok("audit", "verify")
	if !regexp.MustCompile(`^audit chain OK: \d+ rows checked\n$`).MatchString(out) {
		t.Errorf("audit verify printed %q", out)
	}

	out = h.ok("audit", "list", "--kind", "service", "--limit", "3")
	got := lines(out)
	if len(got) != 4 || !regexp.MustCompile(`^SEQ +TIME +ACTOR +ACTION +KIND +OBJECT +FROM$`).MatchString(got[0]) {
		t.Fatalf("audit list --kind service --limit 3:\n%s", out)
	}
	for _, l := range got[1:] {
		if !regexp.MustCompile(` admin +create +service +\S+ +127\.0\.0\.1$`).MatchString(l) {
			t.Errorf("audit row %q", l)
		}
	}
	out = h.ok("audit", "list", "--object", "payments-api")
	if got := lines(out); len(got) != 2 || !strings.Contains(got[1], "payments-api") {
		t.Errorf("audit list --object payments-api:\n%s", out)
	}
	// More rows than one page of the server.
	if got := lines(h.ok("audit", "list", "--limit", "600")); len(got) < 20 {
		t.Errorf("audit list --limit 600 printed %d lines", len(got))
	}
	if _, errOut, err := h.run("", "audit", "list", "--actor", "nobody"); err != nil || !strings.Contains(errOut, "No audit records") {
		t.Errorf("audit list --actor nobody: %v %q", err, errOut)
	}
}
