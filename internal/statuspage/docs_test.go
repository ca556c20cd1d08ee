package statuspage_test

import (
	"context"
	"testing"

	"groundcrew.dev/groundcrew/internal/apply"
	"groundcrew.dev/groundcrew/internal/apply/applytest"
	"groundcrew.dev/groundcrew/internal/catalog"
	"groundcrew.dev/groundcrew/internal/check"
	"groundcrew.dev/groundcrew/internal/clock"
	"groundcrew.dev/groundcrew/internal/db"
	"groundcrew.dev/groundcrew/internal/db/dbtest"
	"groundcrew.dev/groundcrew/internal/identity"
	"groundcrew.dev/groundcrew/internal/statuspage"
)

// TestDocsAndExample applies the YAML of docs/status-pages.md and
// examples/status-pages.yaml over the example catalog and checks, then
// exports the pages and applies the export again: it must change nothing.
func TestDocsAndExample(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := identity.WithActor(context.Background(), identity.System())
		ids := identity.NewService(d, clock.Real{}, nil, identity.Options{})
		cat := catalog.New(d, clock.Real{}, ids, nil)
		reg := apply.NewRegistry(d)
		apply.RegisterCore(reg, ids, cat)
		apply.RegisterChecks(reg, check.NewService(d, clock.Real{}, cat, check.Options{}))
		apply.RegisterStatusPages(reg, statuspage.NewService(d, clock.Real{}, cat, statuspage.Options{}))
		docs := applytest.Examples(t, "../../examples", "teams.yaml", "environments.yaml", "services.yaml", "checks.yaml", "status-pages.yaml")
		docs = append(docs, applytest.DocsYAML(t, "../../docs/status-pages.md", "")...)
		if _, err := reg.Apply(ctx, docs, apply.Options{}); err != nil {
			t.Fatalf("apply the examples and the docs: %v", err)
		}
		if n := applytest.ExportUnchanged(t, ctx, reg, "status-pages"); n != 2 {
			t.Fatalf("exported %d status pages, want 2", n)
		}
	})
}
