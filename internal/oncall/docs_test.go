package oncall_test

import (
	"context"
	"slices"
	"testing"

	"groundcrew.dev/groundcrew/internal/apply"
	"groundcrew.dev/groundcrew/internal/apply/applytest"
	"groundcrew.dev/groundcrew/internal/catalog"
	"groundcrew.dev/groundcrew/internal/clock"
	"groundcrew.dev/groundcrew/internal/db"
	"groundcrew.dev/groundcrew/internal/db/dbtest"
	"groundcrew.dev/groundcrew/internal/identity"
	"groundcrew.dev/groundcrew/internal/oncall"
)

// docsPeople are the people docs/oncall.md names that examples/teams.yaml
// does not define.
var docsPeople = []string{"ana", "ben", "cho", "dana", "eve", "dan", "sia", "sam", "lea", "luc", "amy", "abe"}

// TestDocsAndExample applies examples/oncall.yaml over the example teams,
// and the YAML of docs/oncall.md over its people, then exports schedules
// and policies and applies the export again: it must change nothing.
func TestDocsAndExample(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := identity.WithActor(context.Background(), identity.System())
		ids := identity.NewService(d, clock.Real{}, nil, identity.Options{})
		cat := catalog.New(d, clock.Real{}, ids, nil)
		reg := apply.NewRegistry(d)
		apply.RegisterCore(reg, ids, cat)
		apply.RegisterOnCall(reg, oncall.NewService(d, clock.Real{}, ids, cat, oncall.Options{}))
		docs := applytest.Examples(t, "../../examples", "teams.yaml", "oncall.yaml")
		for _, p := range docsPeople {
			docs = append(docs, apply.Document{APIVersion: apply.APIVersion, Kind: "User", Metadata: apply.Metadata{Name: p},
				Spec: apply.EncodeSpec(apply.UserSpec{Role: identity.RoleMember})})
		}
		// The AlertRoute of the paging section is the alert package's to apply.
		docs = append(docs, slices.DeleteFunc(applytest.DocsYAML(t, "../../docs/oncall.md", "docs-"), func(d apply.Document) bool { return d.Kind == "AlertRoute" })...)
		res, err := reg.Apply(ctx, docs, apply.Options{})
		if err != nil {
			t.Fatalf("apply the examples and the docs: %v", err)
		}
		kinds := map[string]int{}
		for _, c := range res.Changes {
			kinds[c.Kind]++
		}
		if kinds["Schedule"] < 4 || kinds["EscalationPolicy"] < 2 {
			t.Errorf("applied %v, want at least 4 schedules and 2 policies", kinds)
		}
		if n := applytest.ExportUnchanged(t, ctx, reg, "schedules"); n != kinds["Schedule"] {
			t.Errorf("exported %d schedules, applied %d", n, kinds["Schedule"])
		}
		if n := applytest.ExportUnchanged(t, ctx, reg, "ep"); n != kinds["EscalationPolicy"] {
			t.Errorf("exported %d policies, applied %d", n, kinds["EscalationPolicy"])
		}
	})
}
