package main

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"groundcrew.dev/groundcrew/internal/catalog"
	"groundcrew.dev/groundcrew/internal/client"
)

// examplesDir is the example configuration in the source tree.
const examplesDir = "../../examples"

// tricky holds values that YAML likes to reinterpret: numbers, booleans
// and nulls as strings, comment and mapping characters, multi-line text.
const tricky = `apiVersion: groundcrew.dev/v1
kind: Team
metadata:
  name: odd-team
  labels: {tier: "1", enabled: "yes", nothing: "null", when: "2024-01-02", hex: "0x1F", sci: "1e3"}
spec:
  display_name: "Odd: team # not a comment"
  description: |
    Line one.
      Indented line two.
    Trailing spaces here:   
  chat: "#odd"
  members: [alice]
---
apiVersion: groundcrew.dev/v1
kind: Service
metadata: {name: odd-service, labels: {"example.com/owner-id": "007", empty: ""}}
spec:
  display_name: "- starts like a list item"
  description: "tab\there, quote \" and backslash \\, unicode é ✓"
  owner: odd-team
  tier: 3
  lifecycle: experimental
  environments: [dev]
  tags: ["on", "off", "~", "true"]
`

func TestApply(t *testing.T) {
	t.Parallel()
	engines(t, func(t *testing.T, o serverOptions) {
		h := newHarness(t, o)
		h.login()

		t.Run("examples", func(t *testing.T) {
			out := h.ok("apply", "-f", examplesDir)
			want := []string{
				"user/alice created", "team/platform created", "environment/prod created",
				"tool/ci created", "service/payments-api created", "service/postgres-main created",
			}
			for _, w := range want {
				if !slices.Contains(lines(out), w) {
					t.Errorf("apply output lacks %q:\n%s", w, out)
				}
			}
			if n := len(lines(out)); n != countDocuments(t, examplesDir) {
				t.Errorf("apply printed %d lines for %d documents:\n%s", n, countDocuments(t, examplesDir), out)
			}
			// Services come after what they depend on.
			if strings.Index(out, "service/postgres-main") > strings.Index(out, "service/payments-api") {
				t.Errorf("postgres-main applied after payments-api, which depends on it:\n%s", out)
			}
			again := h.ok("apply", "-f", examplesDir)
			for _, l := range lines(again) {
				if !strings.HasSuffix(l, " unchanged") {
					t.Errorf("second apply: %q, want unchanged", l)
				}
			}
		})

		t.Run("get yaml round trip for every kind", func(t *testing.T) {
			h.ok("apply", "-f", writeFile(t, "tricky.yaml", tricky))
			kinds, err := h.client().Kinds(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if len(kinds) < 5 {
				t.Fatalf("server lists %d kinds, want at least the 5 core ones", len(kinds))
			}
			for _, k := range kinds {
				t.Run(k.Name, func(t *testing.T) {
					yml := h.ok("get", k.Plural, "-o", "yaml")
					n := strings.Count("\n"+yml, "\nkind: ")
					if n == 0 {
						t.Fatalf("get %s -o yaml printed no documents:\n%s", k.Plural, yml)
					}
					path := writeFile(t, "export.yaml", yml)
					checkUnchanged := func(how, out string) {
						t.Helper()
						got := lines(out)
						if len(got) != n {
							t.Errorf("%s printed %d lines for %d documents:\n%s", how, len(got), n, out)
						}
						for _, l := range got {
							obj, action, _ := strings.Cut(l, " ")
							if !strings.HasPrefix(obj, strings.ToLower(k.Name)+"/") {
								t.Errorf("%s: %q, want only %s objects", how, l, k.Name)
							}
							if action != "unchanged" {
								t.Errorf("%s of get -o yaml: %q, want %s unchanged\nyaml:\n%s", how, l, obj, yml)
							}
						}
					}
					checkUnchanged("apply -f FILE", h.ok("apply", "-f", path))
					stdout, stderr, err := h.run(yml, "apply", "-f", "-")
					if err != nil {
						t.Fatalf("apply -f -: %v\n%s", err, stderr)
					}
					checkUnchanged("apply -f -", stdout)
				})
			}
		})

		t.Run("error names file, document and field and writes nothing", func(t *testing.T) {
			for _, tc := range []struct {
				name, yaml string
				want       []string
			}{
				{
					name: "dangling owner",
					yaml: `apiVersion: groundcrew.dev/v1
kind: Team
metadata: {name: half-team}
---
apiVersion: groundcrew.dev/v1
kind: Service
metadata: {name: half-service}
spec: {owner: no-such-team, tier: 2}
`,
					want: []string{"bad.yaml", "document 2", "Service/half-service", "spec.owner", "no-such-team"},
				},
				{
					name: "unknown field",
					yaml: `apiVersion: groundcrew.dev/v1
kind: Team
metadata: {name: half-team}
---
apiVersion: groundcrew.dev/v1
kind: Service
metadata: {name: half-service}
spec: {owner: platform, tier: 2, ownr: typo}
`,
					want: []string{"bad.yaml", "document 2", "Service/half-service", "spec.ownr", "unknown field"},
				},
			} {
				t.Run(tc.name, func(t *testing.T) {
					path := writeFile(t, "bad.yaml", tc.yaml)
					msg := h.fail("apply", "-f", path)
					for _, w := range tc.want {
						if !strings.Contains(msg, w) {
							t.Errorf("error %q does not name %q", msg, w)
						}
					}
					if !strings.Contains(msg, path) {
						t.Errorf("error %q does not name the file %s", msg, path)
					}
					if msg := h.fail("get", "team", "half-team"); !strings.Contains(msg, `team not found: "half-team"`) {
						t.Errorf("the team of the failed apply exists (or the error is unclear: %q)", msg)
					}
					if msg := h.fail("get", "service", "half-service"); !strings.Contains(msg, `"half-service"`) {
						t.Errorf("the service of the failed apply exists (or the error is unclear: %q)", msg)
					}
				})
			}
		})
	})
}

func TestApply_DryRun(t *testing.T) {
	t.Parallel()
	h := newHarness(t, serverOptions{})
	h.login()
	out := h.ok("apply", "-f", examplesDir, "--dry-run")
	if !slices.Contains(lines(out), "service/payments-api created (dry run)") {
		t.Errorf("dry run output lacks %q:\n%s", "service/payments-api created (dry run)", out)
	}
	for _, l := range lines(out) {
		if !strings.HasSuffix(l, " created (dry run)") {
			t.Errorf("dry run on an empty server: %q, want … created (dry run)", l)
		}
	}
	for _, kind := range []string{"services", "teams", "environments", "tools"} {
		if yml := h.ok("get", kind, "-o", "yaml"); yml != "" {
			t.Errorf("dry run wrote %s:\n%s", kind, yml)
		}
	}
	// Only admin exists.
	if got := lines(h.ok("get", "users")); len(got) != 2 || !strings.HasPrefix(got[1], "admin ") {
		t.Errorf("dry run wrote users:\n%s", strings.Join(got, "\n"))
	}
}

func TestApply_Prune(t *testing.T) {
	t.Parallel()
	h := newHarness(t, serverOptions{})
	h.login()
	ctx := context.Background()
	h.ok("apply", "-f", filepath.Join(examplesDir, "teams.yaml"), "-f", filepath.Join(examplesDir, "environments.yaml"))

	const two = `apiVersion: groundcrew.dev/v1
kind: Service
metadata: {name: keep-me}
spec: {owner: platform, tier: 2}
---
apiVersion: groundcrew.dev/v1
kind: Service
metadata: {name: drop-me}
spec: {owner: platform, tier: 3}
`
	h.ok("apply", "-f", writeFile(t, "two.yaml", two), "--set", "svc")
	// Made through the API, not by apply: prune must never touch it.
	if _, err := client.Create[catalog.Service](ctx, h.client(), client.Services, catalog.ServiceInput{
		Name: "hand-made", ServiceSpec: catalog.ServiceSpec{Owner: "platform", Tier: 4},
	}); err != nil {
		t.Fatal(err)
	}
	one := strings.SplitN(two, "---\n", 2)[0]
	path := writeFile(t, "one.yaml", one)

	out := h.ok("apply", "-f", path, "--set", "svc", "--prune", "--dry-run")
	if want := "service/drop-me deleted (dry run)"; !slices.Contains(lines(out), want) {
		t.Errorf("prune dry run output lacks %q:\n%s", want, out)
	}
	h.ok("get", "service", "drop-me") // still there after the dry run

	out = h.ok("apply", "-f", path, "--set", "svc", "--prune")
	if want := []string{"service/keep-me unchanged", "service/drop-me deleted"}; !slices.Equal(lines(out), want) {
		t.Errorf("prune printed\n%s\nwant\n%s", out, strings.Join(want, "\n"))
	}
	if msg := h.fail("get", "service", "drop-me"); !strings.Contains(msg, `"drop-me"`) {
		t.Errorf("get drop-me after prune: %q", msg)
	}
	// Neither the hand-made service nor the teams another set applied are
	// pruned.
	h.ok("get", "service", "hand-made", "keep-me")
	h.ok("get", "team", "platform", "payments")
}

func TestApply_Errors(t *testing.T) {
	t.Parallel()
	h := newHarness(t, serverOptions{})
	h.login()
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no -f", []string{"apply"}, "nothing to apply"},
		{"missing file", []string{"apply", "-f", "does-not-exist.yaml"}, "does-not-exist.yaml"},
		{"empty file", []string{"apply", "-f", writeFile(t, "empty.yaml", "# nothing\n")}, "no documents"},
		{"bad apiVersion", []string{"apply", "-f", writeFile(t, "v.yaml", "apiVersion: v9\nkind: Team\nmetadata: {name: x}\n")}, `v.yaml: document 1 (Team/x): apiVersion: "v9" is not supported`},
		{"unknown kind", []string{"apply", "-f", writeFile(t, "k.yaml", "apiVersion: groundcrew.dev/v1\nkind: Spaceship\nmetadata: {name: x}\n")}, "kind: \"Spaceship\" is not a kind"},
		{"spec not a map", []string{"apply", "-f", writeFile(t, "s.yaml", "apiVersion: groundcrew.dev/v1\nkind: Team\nmetadata: {name: x}\n---\napiVersion: groundcrew.dev/v1\nkind: Service\nmetadata: {name: y}\nspec: [1, 2]\n")}, "s.yaml: document 2 (Service/y): spec: expected object"},
		{"unknown top-level field", []string{"apply", "-f", writeFile(t, "t.yaml", "apiVersion: groundcrew.dev/v1\nkind: Team\nmetadata: {name: x}\nspecs: {}\n")}, "t.yaml: document 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if msg := h.fail(tc.args...); !strings.Contains(msg, tc.want) {
				t.Errorf("error %q, want it to contain %q", msg, tc.want)
			}
		})
	}
}

// countDocuments counts the documents in the YAML files of dir.
func countDocuments(t *testing.T, dir string) int {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		n += strings.Count("\n"+string(data), "\nkind: ")
	}
	return n
}
