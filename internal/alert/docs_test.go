package alert_test

import (
	"context"
	"slices"
	"testing"

	"groundcrew.dev/groundcrew/internal/alert"
	"groundcrew.dev/groundcrew/internal/apply"
	"groundcrew.dev/groundcrew/internal/apply/applytest"
	"groundcrew.dev/groundcrew/internal/catalog"
	"groundcrew.dev/groundcrew/internal/clock"
	"groundcrew.dev/groundcrew/internal/db"
	"groundcrew.dev/groundcrew/internal/db/dbtest"
	"groundcrew.dev/groundcrew/internal/identity"
)

// TestDocsAndExample applies the routes and inhibition rules of
// docs/alert-routing.md and examples/alerting.yaml, then exports them and
// applies the export again: it must change nothing.
func TestDocsAndExample(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := identity.WithActor(context.Background(), identity.System())
		ids := identity.NewService(d, clock.Real{}, nil, identity.Options{})
		cat := catalog.New(d, clock.Real{}, ids, nil)
		reg := apply.NewRegistry(d)
		apply.RegisterAlerts(reg, alert.NewService(d, clock.Real{}, cat, ids, alert.Options{}), nil)
		// Receivers are notify's (tested there).
		docs := slices.DeleteFunc(applytest.Examples(t, "../../examples", "alerting.yaml"), func(d apply.Document) bool { return d.Kind == "Receiver" })
		docs = append(docs, applytest.DocsYAML(t, "../../docs/alert-routing.md", "docs-")...)
		// docs/oncall.md routes alerts to an escalation policy.
		docs = append(docs, slices.DeleteFunc(applytest.DocsYAML(t, "../../docs/oncall.md", "oncall-"), func(d apply.Document) bool { return d.Kind != "AlertRoute" })...)
		if _, err := reg.Apply(ctx, docs, apply.Options{}); err != nil {
			t.Fatalf("apply the example and the docs: %v", err)
		}
		if n := applytest.ExportUnchanged(t, ctx, reg, "alertroutes"); n != 5 {
			t.Fatalf("exported %d routes, want 5", n)
		}
		if n := applytest.ExportUnchanged(t, ctx, reg, "inhibitrules"); n != 2 {
			t.Fatalf("exported %d inhibit rules, want 2", n)
		}
	})
}
