// Package applytest helps tests keep documentation and examples honest:
// it reads example files and the YAML blocks of a Markdown page as apply
// documents, and checks that an export applies back unchanged.
package applytest

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"groundcrew.dev/groundcrew/internal/apply"
)

var yamlBlock = regexp.MustCompile("(?s)```yaml\n(.*?)```")

// Examples reads files of the examples directory (dir is the path to it
// from the test's package, e.g. "../../examples").
func Examples(t testing.TB, dir string, files ...string) []apply.Document {
	t.Helper()
	var docs []apply.Document
	for _, f := range files {
		ds, err := apply.ReadPaths(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, ds...)
	}
	return docs
}

// DocsYAML returns the documents in the ```yaml blocks of the Markdown
// file at path, their names prefixed with prefix (docs often repeat an
// example's names). It fails the test when the page has none.
func DocsYAML(t testing.TB, path, prefix string) []apply.Document {
	t.Helper()
	md, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	blocks := yamlBlock.FindAllSubmatch(md, -1)
	if len(blocks) == 0 {
		t.Fatalf("%s has no YAML", path)
	}
	var docs []apply.Document
	for _, b := range blocks {
		ds, err := apply.Parse(filepath.Base(path), b[1])
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range ds {
			d.Metadata.Name = prefix + d.Metadata.Name
			docs = append(docs, d)
		}
	}
	return docs
}

// ExportUnchanged exports kind and applies the export again, failing the
// test unless every document comes back unchanged; it returns how many
// documents the export had.
func ExportUnchanged(t testing.TB, ctx context.Context, reg *apply.Registry, kind string) int {
	t.Helper()
	k, ok := reg.Lookup(kind)
	if !ok {
		t.Fatalf("no kind %q", kind)
	}
	exported, err := k.Export(ctx)
	if err != nil {
		t.Fatalf("export %s: %v", kind, err)
	}
	res, err := reg.Apply(ctx, exported, apply.Options{})
	if err != nil {
		t.Fatalf("re-apply the export of %s: %v", kind, err)
	}
	for _, c := range res.Changes {
		if c.Action != "unchanged" {
			t.Errorf("re-applying the export: %s/%s %s, want unchanged", c.Kind, c.Name, c.Action)
		}
	}
	return len(exported)
}
