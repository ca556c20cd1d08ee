package maintenance_test

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"groundcrew.dev/groundcrew/internal/apply"
	"groundcrew.dev/groundcrew/internal/catalog"
	"groundcrew.dev/groundcrew/internal/clock"
	"groundcrew.dev/groundcrew/internal/db"
	"groundcrew.dev/groundcrew/internal/db/dbtest"
	"groundcrew.dev/groundcrew/internal/identity"
	"groundcrew.dev/groundcrew/internal/maintenance"
)

var yamlBlock = regexp.MustCompile("(?s)```yaml\n(.*?)```")

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
		var docs []apply.Document
		for _, f := range []string{"teams.yaml", "environments.yaml", "services.yaml", "maintenance.yaml"} {
			ds, err := apply.ReadPaths(filepath.Join("../../examples", f))
			if err != nil {
				t.Fatal(err)
			}
			docs = append(docs, ds...)
		}
		md, err := os.ReadFile("../../docs/maintenance.md")
		if err != nil {
			t.Fatal(err)
		}
		blocks := yamlBlock.FindAllSubmatch(md, -1)
		if len(blocks) == 0 {
			t.Fatal("docs/maintenance.md has no YAML")
		}
		for _, b := range blocks {
			ds, err := apply.Parse("docs/maintenance.md", b[1])
			if err != nil {
				t.Fatal(err)
			}
			for _, doc := range ds {
				doc.Metadata.Name = "docs-" + doc.Metadata.Name // the docs repeat the example
				docs = append(docs, doc)
			}
		}
		if _, err := reg.Apply(ctx, docs, apply.Options{}); err != nil {
			t.Fatalf("apply the examples and the docs: %v", err)
		}
		k, _ := reg.Lookup("mw")
		exported, err := k.Export(ctx)
		if err != nil || len(exported) != 3 {
			t.Fatalf("export = %d documents, %v; want 3", len(exported), err)
		}
		res, err := reg.Apply(ctx, exported, apply.Options{})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range res.Changes {
			if c.Action != "unchanged" {
				t.Errorf("re-applying the export: %s/%s %s, want unchanged", c.Kind, c.Name, c.Action)
			}
		}
	})
}
