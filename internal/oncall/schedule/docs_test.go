package schedule

import (
	"bytes"
	"os"
	"regexp"
	"testing"

	"go.yaml.in/yaml/v3"
)

var yamlBlock = regexp.MustCompile("(?s)```yaml\n(.*?)```")

// TestDocs checks that every Schedule example in docs/oncall.md has a
// valid spec with no unknown fields (other kinds are checked where they
// are applied, in package oncall).
func TestDocs(t *testing.T) {
	md, err := os.ReadFile("../../../docs/oncall.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := yamlBlock.FindAllSubmatch(md, -1)
	if len(blocks) < 3 {
		t.Fatalf("docs/oncall.md has %d YAML examples, want at least 3", len(blocks))
	}
	for i, b := range blocks {
		var doc struct {
			APIVersion string         `yaml:"apiVersion"`
			Kind       string         `yaml:"kind"`
			Metadata   map[string]any `yaml:"metadata"`
			Spec       struct {
				Owner string `yaml:"owner"`
				Spec  `yaml:",inline"`
			} `yaml:"spec"`
		}
		var head struct {
			Kind string `yaml:"kind"`
		}
		if err := yaml.Unmarshal(b[1], &head); err != nil {
			t.Fatalf("example %d: %v", i, err)
		}
		if head.Kind != "Schedule" {
			continue
		}
		dec := yaml.NewDecoder(bytes.NewReader(b[1]))
		dec.KnownFields(true)
		if err := dec.Decode(&doc); err != nil {
			t.Fatalf("example %d: %v", i, err)
		}
		if doc.APIVersion != "groundcrew.dev/v1" {
			t.Errorf("example %d: apiVersion %s, want groundcrew.dev/v1", i, doc.APIVersion)
		}
		sc, err := New(doc.Spec.Spec)
		if err != nil {
			t.Errorf("example %d: %v", i, err)
			continue
		}
		if ws := sc.Warnings(); len(ws) != 0 {
			t.Errorf("example %d: warnings %v", i, ws)
		}
	}
}
