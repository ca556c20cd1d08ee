package apply

import (
	"encoding/json"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"groundcrew.dev/groundcrew/internal/catalog"
	"groundcrew.dev/groundcrew/internal/errs"
	"groundcrew.dev/groundcrew/internal/names"
)

const catalogInfo = "testdata/backstage/catalog-info.yaml"

// convertedView is what a test compares of a converted document: its kind,
// name, labels and its spec decoded (strictly) into the groundcrew type.
type convertedView struct {
	Kind   string            `json:"kind"`
	Name   string            `json:"name"`
	Labels map[string]string `json:"labels,omitempty"`
	Spec   any               `json:"spec"`
}

func view(t testing.TB, docs []Document) []convertedView {
	t.Helper()
	out := []convertedView{}
	for _, d := range docs {
		if d.APIVersion != APIVersion {
			t.Fatalf("%s: apiVersion %q after conversion", d.where(), d.APIVersion)
		}
		spec, err := decodeGroundcrewSpec(d)
		if err != nil {
			t.Fatalf("%s: converted spec does not decode: %v", d.where(), err)
		}
		out = append(out, convertedView{d.Kind, d.Metadata.Name, d.Metadata.Labels, spec})
	}
	return out
}

// decodeGroundcrewSpec decodes d's spec into its kind's type, strictly, as
// the kind's Put does.
func decodeGroundcrewSpec(d Document) (any, error) {
	var spec any
	switch d.Kind {
	case "Team":
		spec = &TeamSpec{}
	case "User":
		spec = &UserSpec{}
	case "Service":
		spec = &catalog.ServiceSpec{}
	default:
		return nil, errs.Invalidf("kind", "unexpected kind %q", d.Kind)
	}
	return spec, DecodeSpec(d, spec)
}

func team(name string, labels map[string]string, s TeamSpec) convertedView {
	return convertedView{"Team", name, labels, &s}
}

func user(name string, s UserSpec) convertedView { return convertedView{"User", name, nil, &s} }

func service(name string, labels map[string]string, s catalog.ServiceSpec) convertedView {
	return convertedView{"Service", name, labels, &s}
}

// diff reports how got differs from want.
func diff(t testing.TB, what string, got, want any) {
	t.Helper()
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("%s (-want +got):\n%s", what, d)
	}
}

func convertYAML(t testing.TB, src string) ([]Document, []string, error) {
	t.Helper()
	docs, err := Parse("catalog-info.yaml", []byte(src))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return convertBackstage(docs)
}

const bs = "apiVersion: backstage.io/v1alpha1\n"

func TestConvertBackstage(t *testing.T) {
	tests := []struct {
		name     string
		yaml     string
		want     []convertedView
		warnings []string // each warning must contain the string at its position
	}{
		{
			name: "group becomes a team",
			yaml: bs + `kind: Group
metadata:
  name: Team-A
  title: Team A (title)
  description: Runs things.
  labels: {department: ops}
  annotations: {groundcrew.dev/chat: "#team-a", backstage.io/managed-by-location: "url:https://x"}
spec:
  type: team
  profile: {email: team-a@example.com, picture: https://example.com/a.png}
  children: []
  members: [alice, user:bob, user:default/Carol, default/dave]
`,
			want: []convertedView{team("team-a", map[string]string{"department": "ops"}, TeamSpec{DisplayName: "Team A (title)", Description: "Runs things.",
				Email: "team-a@example.com", Chat: "#team-a", Members: []string{"alice", "bob", "carol", "dave"}})},
		},
		{
			name: "group hierarchy is accepted with one warning",
			yaml: bs + `kind: Group
metadata: {name: team-a}
spec: {type: team, profile: {displayName: Team A}, parent: group:default/engineering, children: [group:a1, a2]}
`,
			want:     []convertedView{team("team-a", nil, TeamSpec{DisplayName: "Team A"})},
			warnings: []string{"document 1 (Group/team-a): spec.parent/spec.children: group hierarchy is not modelled"},
		},
		{
			name: "user becomes a member by default",
			yaml: bs + `kind: User
metadata: {name: Alice, title: Alice (title)}
spec: {profile: {email: alice@example.com}}
`,
			want: []convertedView{user("alice", UserSpec{DisplayName: "Alice (title)", Email: "alice@example.com", Role: "member"})},
		},
		{
			name: "role annotation",
			yaml: bs + `kind: User
metadata: {name: alice, annotations: {groundcrew.dev/role: admin}}
spec: {profile: {displayName: Alice}}
`,
			want: []convertedView{user("alice", UserSpec{DisplayName: "Alice", Role: "admin"})},
		},
		{
			name: "members and memberOf are merged",
			yaml: bs + `kind: User
metadata: {name: bob}
spec: {memberOf: [group:default/team-a, Team-B]}
---
` + bs + `kind: Group
metadata: {name: team-a}
spec: {type: team, members: [alice, bob], children: []}
---
` + bs + `kind: Group
metadata: {name: team-b}
spec: {type: team, children: []}
---
` + bs + `kind: User
metadata: {name: alice}
spec: {memberOf: [team-a]}
`,
			want: []convertedView{
				user("bob", UserSpec{Role: "member"}),
				team("team-a", nil, TeamSpec{Members: []string{"alice", "bob"}}),
				team("team-b", nil, TeamSpec{Members: []string{"bob"}}),
				user("alice", UserSpec{Role: "member"}),
			},
		},
		{
			name: "memberOf a group outside the batch is skipped with a warning",
			yaml: bs + `kind: User
metadata: {name: bob}
spec: {memberOf: [group:sre]}
`,
			want:     []convertedView{user("bob", UserSpec{Role: "member"})},
			warnings: []string{`document 1 (User/bob): spec.memberOf[0]: group "sre" is not a Backstage Group in this batch; membership not imported`},
		},
		{
			name: "component becomes a service",
			yaml: bs + `kind: Component
metadata:
  name: payments-api
  title: Payments API
  description: Takes payments.
  labels: {cost-center: cc-42}
  tags: [go, grpc]
  annotations:
    groundcrew.dev/environments: " Prod, staging,,prod "
spec:
  type: service
  lifecycle: production
  owner: group:default/team-a
  system: system:default/payments
  subcomponentOf: component:payments
  providesApis: [payments-v1]
  consumesApis: [api:default/fx]
  dependsOn: [component:default/ledger, resource:payments-db, default/cache, Queue]
`,
			want: []convertedView{service("payments-api", map[string]string{"cost-center": "cc-42"}, catalog.ServiceSpec{
				DisplayName: "Payments API", Description: "Takes payments.", Owner: "team-a", Tier: 3, Lifecycle: "production", Type: "service",
				System: "payments", Environments: []string{"prod", "staging"}, DependsOn: []string{"cache", "ledger", "payments-db", "queue"},
				Tags: []string{"go", "grpc"}})},
		},
		{
			name: "owner references with and without kind and namespace",
			yaml: bs + `kind: Component
metadata: {name: a}
spec: {type: service, lifecycle: production, owner: team-a}
---
` + bs + `kind: Component
metadata: {name: b}
spec: {type: service, lifecycle: production, owner: default/team-a}
---
` + bs + `kind: Component
metadata: {name: c}
spec: {type: service, lifecycle: production, owner: group:team-a}
---
` + bs + `kind: Component
metadata: {name: d}
spec: {type: service, lifecycle: Deprecated, owner: Group:default/Team-A}
`,
			want: []convertedView{
				service("a", nil, catalog.ServiceSpec{Owner: "team-a", Tier: 3, Lifecycle: "production", Type: "service"}),
				service("b", nil, catalog.ServiceSpec{Owner: "team-a", Tier: 3, Lifecycle: "production", Type: "service"}),
				service("c", nil, catalog.ServiceSpec{Owner: "team-a", Tier: 3, Lifecycle: "production", Type: "service"}),
				service("d", nil, catalog.ServiceSpec{Owner: "team-a", Tier: 3, Lifecycle: "deprecated", Type: "service"}),
			},
		},
		{
			name: "type is normalized to a name",
			yaml: bs + `kind: Component
metadata: {name: ml}
spec: {type: "  Machine_Learning  Model!", lifecycle: experimental, owner: team-a}
`,
			want: []convertedView{service("ml", nil, catalog.ServiceSpec{Owner: "team-a", Tier: 3, Lifecycle: "experimental", Type: "machine-learning-model"})},
		},
		{
			name: "dependencies on other kinds are skipped with a warning",
			yaml: bs + `kind: Component
metadata: {name: web}
spec: {type: website, lifecycle: production, owner: team-a, dependsOn: [api:payments-v1, component:api, system:payments]}
`,
			want: []convertedView{service("web", nil, catalog.ServiceSpec{Owner: "team-a", Tier: 3, Lifecycle: "production", Type: "website", DependsOn: []string{"api"}})},
			warnings: []string{
				`document 1 (Component/web): spec.dependsOn[0]: "api:payments-v1" is not a component or resource; dependency not imported`,
				`document 1 (Component/web): spec.dependsOn[2]: "system:payments" is not a component or resource`,
			},
		},
		{
			name: "resource becomes a tier 2 production service",
			yaml: bs + `kind: Resource
metadata: {name: payments-db, description: The database.}
spec: {type: database, owner: group:team-a, system: payments, dependsOn: [resource:disk]}
---
` + bs + `kind: Resource
metadata: {name: bucket, annotations: {groundcrew.dev/tier: "4"}}
spec: {type: S3 bucket, owner: team-a}
`,
			want: []convertedView{
				service("payments-db", nil, catalog.ServiceSpec{Description: "The database.", Owner: "team-a", Tier: 2, Lifecycle: "production",
					Type: "database", System: "payments", DependsOn: []string{"disk"}}),
				service("bucket", nil, catalog.ServiceSpec{Owner: "team-a", Tier: 4, Lifecycle: "production", Type: "s3-bucket"}),
			},
		},
		{
			name: "dependencyOf is recorded on the dependent",
			yaml: bs + `kind: Resource
metadata: {name: db}
spec: {type: database, owner: team-a, dependencyOf: [component:api, component:default/worker, resource:elsewhere]}
---
` + bs + `kind: Component
metadata: {name: api}
spec: {type: service, lifecycle: production, owner: team-a, dependsOn: [resource:db]}
---
` + bs + `kind: Component
metadata: {name: worker}
spec: {type: service, lifecycle: production, owner: team-a}
`,
			want: []convertedView{
				service("db", nil, catalog.ServiceSpec{Owner: "team-a", Tier: 2, Lifecycle: "production", Type: "database"}),
				service("api", nil, catalog.ServiceSpec{Owner: "team-a", Tier: 3, Lifecycle: "production", Type: "service", DependsOn: []string{"db"}}),
				service("worker", nil, catalog.ServiceSpec{Owner: "team-a", Tier: 3, Lifecycle: "production", Type: "service", DependsOn: []string{"db"}}),
			},
			warnings: []string{`document 1 (Resource/db): spec.dependencyOf[2]: "elsewhere" is not a Component or Resource in this batch; dependency not imported`},
		},
		{
			name: "runbook, dashboard and repository from links and source location",
			yaml: bs + `kind: Component
metadata:
  name: api
  annotations: {backstage.io/source-location: "url:https://github.com/example/api/tree/main/"}
  links:
    - {url: https://wiki.example.com/resources, title: Resources}
    - {url: https://reports.example.com, title: Weekly report}
    - {url: https://wiki.example.com/api, title: Docs, type: runbook}
    - {url: https://wiki.example.com/api-2, title: Second runbook}
    - {url: "mailto:team-a@example.com", title: Dashboard access}
    - {url: https://grafana.example.com/d/api, title: Grafana Dashboard}
spec: {type: service, lifecycle: production, owner: team-a}
---
` + bs + `kind: Component
metadata:
  name: worker
  annotations: {backstage.io/source-location: "url:https://github.com/example/worker"}
  links: [{url: https://gitlab.example.com/worker, title: Repo}]
spec: {type: service, lifecycle: production, owner: team-a}
`,
			want: []convertedView{
				service("api", nil, catalog.ServiceSpec{Owner: "team-a", Tier: 3, Lifecycle: "production", Type: "service",
					Runbook: "https://wiki.example.com/api", Dashboard: "https://grafana.example.com/d/api", Repository: "https://github.com/example/api/tree/main/"}),
				service("worker", nil, catalog.ServiceSpec{Owner: "team-a", Tier: 3, Lifecycle: "production", Type: "service",
					Repository: "https://gitlab.example.com/worker"}),
			},
			warnings: []string{`document 1 (Component/api): metadata.links[4].url: "mailto:team-a@example.com" is not an http(s) URL; not used`},
		},
		{
			name: "system is recorded on its components",
			yaml: bs + `kind: System
metadata: {name: payments}
spec: {owner: user:default/alice, domain: commerce, type: product}
`,
			want:     []convertedView{},
			warnings: []string{"document 1 (System/payments): recorded on its components' system field; groundcrew has no System object yet"},
		},
		{
			name: "API, Domain, Location and Template are not imported",
			yaml: bs + `kind: API
metadata: {name: payments-v1}
spec: {type: openapi, lifecycle: production, owner: team-a, system: payments, definition: {$text: ./openapi.yaml}}
---
` + bs + `kind: Domain
metadata: {name: commerce}
spec: {owner: team-a}
---
` + bs + `kind: Location
metadata: {name: Root_Location}
spec: {type: url, targets: [./a/catalog-info.yaml]}
---
apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: {name: new-service}
spec: {owner: team-a, type: service, parameters: [], steps: []}
`,
			want: []convertedView{},
			warnings: []string{
				"document 1 (API/payments-v1): not imported: groundcrew has no API object",
				"document 2 (Domain/commerce): not imported",
				"document 3 (Location/Root_Location): not imported",
				"document 4 (Template/new-service): not imported",
			},
		},
		{
			name: "namespaces are dropped with one warning per document",
			yaml: bs + `kind: Component
metadata: {name: api, namespace: payments}
spec: {type: service, lifecycle: production, owner: group:platform/team-a, dependsOn: [payments/db, component:platform/auth]}
`,
			want: []convertedView{service("api", nil, catalog.ServiceSpec{Owner: "team-a", Tier: 3, Lifecycle: "production", Type: "service", DependsOn: []string{"auth", "db"}})},
			warnings: []string{
				"document 1 (Component/api): Backstage namespaces are not modelled: names in namespace payments, platform are imported without it",
			},
		},
		{
			name: "groundcrew documents pass through between Backstage ones",
			yaml: `apiVersion: groundcrew.dev/v1
kind: Team
metadata: {name: team-a}
spec: {display_name: Team A, members: [zoe]}
---
` + bs + `kind: User
metadata: {name: bob}
spec: {memberOf: [team-a]}
`,
			want: []convertedView{
				team("team-a", nil, TeamSpec{DisplayName: "Team A", Members: []string{"zoe"}}),
				user("bob", UserSpec{Role: "member"}),
			},
			warnings: []string{`document 2 (User/bob): spec.memberOf[0]: group "team-a" is not a Backstage Group in this batch`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			docs, warnings, err := convertYAML(t, tt.yaml)
			if err != nil {
				t.Fatalf("convert: %v", err)
			}
			diff(t, "documents", view(t, docs), tt.want)
			if len(warnings) != len(tt.warnings) {
				t.Fatalf("warnings:\n%s\nwant %d", strings.Join(warnings, "\n"), len(tt.warnings))
			}
			for i, w := range tt.warnings {
				if !strings.Contains(warnings[i], w) {
					t.Errorf("warning %d = %q, want it to contain %q", i, warnings[i], w)
				}
				if !strings.HasPrefix(warnings[i], "catalog-info.yaml: document ") {
					t.Errorf("warning %d = %q does not name the file and document", i, warnings[i])
				}
			}
		})
	}
}

func TestConvertBackstage_errors(t *testing.T) {
	tests := []struct {
		name  string
		yaml  string
		field string
		where string // the document the error names
		msg   string
	}{
		{"unknown spec field", bs + "kind: Component\nmetadata: {name: api}\nspec: {type: service, lifecyle: production, owner: team-a}\n",
			"spec.lifecyle", "(Component/api)", `spec.lifecyle: unknown field "lifecyle"`},
		{"unknown profile field", bs + "kind: User\nmetadata: {name: alice}\nspec: {profile: {dispalyName: Alice}}\n",
			"spec.profile.dispalyName", "(User/alice)", "unknown field"},
		{"profile of the wrong type", bs + "kind: Group\nmetadata: {name: a}\nspec: {type: team, children: [], profile: [x]}\n",
			"spec.profile", "(Group/a)", "must be"},
		{"Resource has no lifecycle", bs + "kind: Resource\nmetadata: {name: db}\nspec: {type: database, owner: team-a, lifecycle: production}\n",
			"spec.lifecycle", "(Resource/db)", "unknown field"},
		{"unknown API field", bs + "kind: API\nmetadata: {name: x}\nspec: {type: openapi, lifecycle: production, owner: a, defintion: x}\n",
			"spec.defintion", "(API/x)", "unknown field"},
		{"bad lifecycle", bs + "kind: Component\nmetadata: {name: api}\nspec: {type: service, lifecycle: beta, owner: team-a}\n",
			"spec.lifecycle", "(Component/api)", `"beta" is not a lifecycle`},
		{"missing lifecycle", bs + "kind: Component\nmetadata: {name: api}\nspec: {type: service, owner: team-a}\n",
			"spec.lifecycle", "(Component/api)", "is required"},
		{"missing type", bs + "kind: Component\nmetadata: {name: api}\nspec: {lifecycle: production, owner: team-a}\n",
			"spec.type", "(Component/api)", "is required"},
		{"type without letters", bs + "kind: Component\nmetadata: {name: api}\nspec: {type: '!!', lifecycle: production, owner: team-a}\n",
			"spec.type", "(Component/api)", "no letters or digits"},
		{"user owner", bs + "kind: Component\nmetadata: {name: api}\nspec: {type: service, lifecycle: production, owner: user:default/alice}\n",
			"spec.owner", "(Component/api)", "owned by teams"},
		{"missing owner", bs + "kind: Resource\nmetadata: {name: db}\nspec: {type: database}\n",
			"spec.owner", "(Resource/db)", "is required"},
		{"component owner", bs + "kind: System\nmetadata: {name: s}\nspec: {owner: component:api}\n",
			"spec.owner", "(System/s)", "an owner is a group"},
		{"bad reference", bs + "kind: Component\nmetadata: {name: api}\nspec: {type: service, lifecycle: production, owner: 'group:'}\n",
			"spec.owner", "(Component/api)", "not an entity reference"},
		{"reference with a path", bs + "kind: Component\nmetadata: {name: api}\nspec: {type: service, lifecycle: production, owner: team-a, dependsOn: [a/b/c]}\n",
			"spec.dependsOn[0]", "(Component/api)", "not an entity reference"},
		{"system of another kind", bs + "kind: Component\nmetadata: {name: api}\nspec: {type: service, lifecycle: production, owner: a, system: domain:x}\n",
			"spec.system", "(Component/api)", "is a domain"},
		{"group member is a group", bs + "kind: Group\nmetadata: {name: a}\nspec: {type: team, children: [], members: [group:b]}\n",
			"spec.members[0]", "(Group/a)", "members are users"},
		{"group child is a user", bs + "kind: Group\nmetadata: {name: a}\nspec: {type: team, children: [user:b]}\n",
			"spec.children[0]", "(Group/a)", "children are groups"},
		{"memberOf a user", bs + "kind: User\nmetadata: {name: a}\nspec: {memberOf: [user:b]}\n",
			"spec.memberOf[0]", "(User/a)", "a member of groups"},
		{"name with underscore", bs + "kind: Component\nmetadata: {name: payments_api}\nspec: {type: service, lifecycle: production, owner: a}\n",
			"metadata.name", "(Component/payments_api)", `"payments_api" cannot be a groundcrew name`},
		{"name with a dot", bs + "kind: User\nmetadata: {name: jane.doe}\n",
			"metadata.name", "(User/jane.doe)", "cannot be a groundcrew name"},
		{"member name with a dot", bs + "kind: Group\nmetadata: {name: a}\nspec: {type: team, children: [], members: [jane.doe]}\n",
			"spec.members[0]", "(Group/a)", "cannot be a groundcrew name"},
		{"tier out of range", bs + "kind: Component\nmetadata: {name: api, annotations: {groundcrew.dev/tier: '5'}}\nspec: {type: service, lifecycle: production, owner: a}\n",
			"metadata.annotations.groundcrew.dev/tier", "(Component/api)", "not a tier"},
		{"tier not a number", bs + "kind: Resource\nmetadata: {name: db, annotations: {groundcrew.dev/tier: 'one'}}\nspec: {type: database, owner: a}\n",
			"metadata.annotations.groundcrew.dev/tier", "(Resource/db)", "not a tier"},
		{"bad environment", bs + "kind: Component\nmetadata: {name: api, annotations: {groundcrew.dev/environments: 'prod, eu_west'}}\nspec: {type: service, lifecycle: production, owner: a}\n",
			"metadata.annotations.groundcrew.dev/environments", "(Component/api)", `"eu_west"`},
		{"unknown groundcrew annotation", bs + "kind: Component\nmetadata: {name: api, annotations: {groundcrew.dev/teir: '1'}}\nspec: {type: service, lifecycle: production, owner: a}\n",
			"metadata.annotations.groundcrew.dev/teir", "(Component/api)", "unknown groundcrew annotation"},
		{"annotation of another kind", bs + "kind: User\nmetadata: {name: a, annotations: {groundcrew.dev/tier: '1'}}\n",
			"metadata.annotations.groundcrew.dev/tier", "(User/a)", "known: groundcrew.dev/role"},
		{"bad role", bs + "kind: User\nmetadata: {name: a, annotations: {groundcrew.dev/role: root}}\n",
			"metadata.annotations.groundcrew.dev/role", "(User/a)", `"root" is not a role`},
		{"unknown kind", bs + "kind: Widget\nmetadata: {name: a}\n",
			"kind", "(Widget/a)", "not a Backstage catalog kind"},
		{"unknown version", "apiVersion: backstage.io/v2\nkind: Component\nmetadata: {name: a}\n",
			"apiVersion", "(Component/a)", "not a Backstage catalog version"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := convertYAML(t, "# a comment first\n"+tt.yaml)
			if err == nil {
				t.Fatal("converted without error")
			}
			if errs.CodeOf(err) != errs.Invalid || errs.FieldOf(err) != tt.field {
				t.Errorf("error %q: code %s, field %q; want invalid, %q", err, errs.CodeOf(err), errs.FieldOf(err), tt.field)
			}
			if want := "catalog-info.yaml: document 1 " + tt.where + ": "; !strings.HasPrefix(err.Error(), want) {
				t.Errorf("error %q does not start with %q", err, want)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q does not contain %q", err, tt.msg)
			}
		})
	}
}

func TestConvertBackstage_passThrough(t *testing.T) {
	docs, err := Parse("team.yaml", []byte("apiVersion: groundcrew.dev/v1\nkind: Team\nmetadata: {name: a}\nspec: {members: [x]}\n---\nkind: Service\nmetadata: {name: b}\n"))
	if err != nil {
		t.Fatal(err)
	}
	got, warnings, err := convertBackstage(docs)
	if err != nil || warnings != nil {
		t.Fatalf("convert: %v, %v", warnings, err)
	}
	if &got[0] != &docs[0] || !reflect.DeepEqual(got, docs) {
		t.Errorf("a batch without Backstage documents was changed: %+v", got)
	}
}

// TestConvertBackstage_positions checks that documents without a file keep
// their position in the batch when Backstage documents before them are
// dropped, so that Apply's errors still point at the right one.
func TestConvertBackstage_positions(t *testing.T) {
	docs := []Document{
		{APIVersion: "backstage.io/v1alpha1", Kind: "System", Metadata: Metadata{Name: "s"}, Spec: json.RawMessage(`{"owner":"a"}`)},
		{APIVersion: APIVersion, Kind: "Team", Metadata: Metadata{Name: "a"}},
		{APIVersion: "backstage.io/v1alpha1", Kind: "User", Metadata: Metadata{Name: "u"}},
	}
	got, _, err := convertBackstage(docs)
	if err != nil {
		t.Fatal(err)
	}
	var where []string
	for _, d := range got {
		where = append(where, d.where())
	}
	diff(t, "positions", where, []string{"document 2 (Team/a)", "document 3 (User/u)"})
	if docs[1].Source != nil {
		t.Error("the caller's document was modified")
	}
}

func TestConvertBackstage_catalogInfo(t *testing.T) {
	docs, err := ReadPaths(catalogInfo)
	if err != nil {
		t.Fatal(err)
	}
	got, warnings, err := convertBackstage(docs)
	if err != nil {
		t.Fatalf("convert: %v", err)
	}
	want, err := ReadPaths("testdata/backstage/catalog-info.groundcrew.yaml")
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "documents", view(t, got), view(t, want))

	var sources []Source
	for _, d := range got {
		sources = append(sources, *d.Source)
	}
	diff(t, "sources", sources, []Source{{catalogInfo, 2}, {catalogInfo, 3}, {catalogInfo, 4}, {catalogInfo, 5}, {catalogInfo, 6}, {catalogInfo, 7}})

	diff(t, "warnings", warnings, []string{
		catalogInfo + ": document 1 (System/payments): recorded on its components' system field; groundcrew has no System object yet",
		catalogInfo + `: document 2 (Component/payments-api): spec.dependsOn[2]: "api:fx-rates" is not a component or resource; dependency not imported`,
		catalogInfo + ": document 5 (Group/team-payments): spec.parent/spec.children: group hierarchy is not modelled in groundcrew yet; the team is imported without it",
		catalogInfo + `: document 7 (User/bob): spec.memberOf[1]: group "sre" is not a Backstage Group in this batch; membership not imported (add bob to that team's members)`,
		catalogInfo + ": document 8 (API/payments-v1): not imported: groundcrew has no API object; the components that provide it are imported",
	})
}

func TestDNSLabel(t *testing.T) {
	for in, want := range map[string]string{
		"service":                 "service",
		"gRPC Service":            "grpc-service",
		"--s3__bucket--":          "s3-bucket",
		"Kafka\u212Atopic":        "kafka-topic", // the Kelvin sign is not a k
		"ünïcode":                 "n-code",
		"!!!":                     "",
		strings.Repeat("ab-", 40): strings.TrimSuffix(strings.Repeat("ab-", 21), "-"),
	} {
		if got := dnsLabel(in); got != want || (got != "" && !names.Valid(got)) {
			t.Errorf("dnsLabel(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzParseAndConvert(f *testing.F) {
	seed, err := os.ReadFile(catalogInfo)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Add([]byte(bs + "kind: Group\nmetadata: {name: a}\nspec: {members: [b], children: [group:x/y]}\n---\n" + bs + "kind: User\nmetadata: {name: b}\nspec: {memberOf: [a, c]}\n"))
	f.Add([]byte(bs + "kind: Component\nmetadata: {name: a, namespace: n, links: [{url: 'http://x', type: repo}]}\nspec: {type: x, lifecycle: production, owner: a, dependsOn: [':', 'a:', '/b', 'resource:a']}\n"))
	f.Add([]byte("apiVersion: groundcrew.dev/v1\nkind: Service\nmetadata: {name: a}\nspec: {owner: b}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		docs, err := Parse("fuzz.yaml", data)
		if err != nil {
			return
		}
		in := map[*Source]Document{}
		for _, d := range docs {
			in[d.Source] = d
		}
		out, _, err := convertBackstage(docs)
		if err != nil {
			if errs.CodeOf(err) != errs.Invalid {
				t.Fatalf("error without the invalid code: %v", err)
			}
			return
		}
		for _, d := range out {
			orig, ok := in[d.Source]
			if !ok {
				t.Fatalf("%s: Source not kept", d.where())
			}
			if !isBackstage(orig) {
				if !reflect.DeepEqual(d, orig) {
					t.Fatalf("%s: groundcrew document changed", d.where())
				}
				continue
			}
			if d.APIVersion != APIVersion || !names.Valid(d.Metadata.Name) || !slices.Contains([]string{"Team", "User", "Service"}, d.Kind) {
				t.Fatalf("%s: converted to an invalid document: %+v", orig.where(), d)
			}
			if _, err := decodeGroundcrewSpec(d); err != nil {
				t.Fatalf("%s: converted spec does not decode: %v", orig.where(), err)
			}
		}
	})
}
