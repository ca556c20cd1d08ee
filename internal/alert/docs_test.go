package alert_test

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"groundcrew.dev/groundcrew/internal/alert"
	"groundcrew.dev/groundcrew/internal/apply"
	"groundcrew.dev/groundcrew/internal/catalog"
	"groundcrew.dev/groundcrew/internal/clock"
	"groundcrew.dev/groundcrew/internal/db"
	"groundcrew.dev/groundcrew/internal/db/dbtest"
	"groundcrew.dev/groundcrew/internal/identity"
)

var yamlBlock = regexp.MustCompile("(?s)```yaml\n(.*?)```")

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
		var docs []apply.Document
		ex, err := apply.ReadPaths(filepath.Join("../../examples", "alerting.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		for _, doc := range ex {
			if doc.Kind != "Receiver" { // receivers are notify's; their docs are tested there
				docs = append(docs, doc)
			}
		}
		md, err := os.ReadFile("../../docs/alert-routing.md")
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range yamlBlock.FindAllSubmatch(md, -1) {
			ds, err := apply.Parse("docs/alert-routing.md", b[1])
			if err != nil {
				t.Fatal(err)
			}
			for _, doc := range ds {
				doc.Metadata.Name = "docs-" + doc.Metadata.Name
				docs = append(docs, doc)
			}
		}
		if len(docs) < 6 {
			t.Fatalf("found %d documents, want the example's and the docs'", len(docs))
		}
		if _, err := reg.Apply(ctx, docs, apply.Options{}); err != nil {
			t.Fatalf("apply the example and the docs: %v", err)
		}
		for _, kind := range []string{"alertroutes", "inhibitrules"} {
			k, _ := reg.Lookup(kind)
			exported, err := k.Export(ctx)
			if err != nil || len(exported) == 0 {
				t.Fatalf("export %s = %d documents, %v", kind, len(exported), err)
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
		}
	})
}
