package maintenance_test

import (
	"context"
	"testing"

	"groundcrew.dev/groundcrew/internal/apply"
	"groundcrew.dev/groundcrew/internal/apply/applytest"
	"groundcrew.dev/groundcrew/internal/catalog"
	"groundcrew.dev/groundcrew/internal/clock"
	"groundcrew.dev/groundcrew/internal/db"
	"groundcrew.dev/groundcrew/internal/db/dbtest"
	"groundcrew.dev/groundcrew/internal/identity"
	"groundcrew.dev/groundcrew/internal/maintenance"
)

// TestDocsAndExample applies the YAML of docs/maintenance.md and
// examples/maintenance.yaml over the example catalog, then exports the
// windows and applies the export again: it must change nothing.
func TestDocsAndExample(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := identity.WithActor(context.Background(), identity.System())
		ids := identity.NewService(d, clock.Real{}, nil, identity.Options{})
		cat := catalog.New(d, clock.Real{}, ids, nil)
		reg := apply.NewRegistry(d)
		apply.RegisterCore(reg, ids, cat)
		apply.RegisterMaintenance(reg, maintenance.NewService(d, clock.Real{}, cat, maintenance.Options{}))
		docs := applytest.Examples(t, "../../examples", "teams.yaml", "environments.yaml", "services.yaml", "maintenance.yaml")
		docs = append(docs, applytest.DocsYAML(t, "../../docs/maintenance.md", "docs-")...) // the docs repeat the example
		if _, err := reg.Apply(ctx, docs, apply.Options{}); err != nil {
			t.Fatalf("apply the examples and the docs: %v", err)
		}
		if n := applytest.ExportUnchanged(t, ctx, reg, "mw"); n != 3 {
			t.Fatalf("exported %d windows, want 3", n)
		}
	})
}
