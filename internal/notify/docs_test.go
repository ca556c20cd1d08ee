package notify_test

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"groundcrew.dev/groundcrew/internal/apply"
	"groundcrew.dev/groundcrew/internal/notify"
)

// TestDocs_ReceiverExamples checks that every `kind: Receiver` example in
// docs/notifications.md parses and validates.
func TestDocs_ReceiverExamples(t *testing.T) {
	b, err := os.ReadFile("../../docs/notifications.md")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, m := range regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllStringSubmatch(string(b), -1) {
		if !strings.Contains(m[1], "kind: Receiver") {
			continue
		}
		docs, err := apply.Parse("notifications.md", []byte(m[1]))
		if err != nil {
			t.Fatalf("parse: %v\n%s", err, m[1])
		}
		for _, d := range docs {
			var spec notify.Spec
			if err := apply.DecodeSpec(d, &spec); err != nil {
				t.Errorf("%s: %v", d.Metadata.Name, err)
				continue
			}
			in := notify.Input{Name: d.Metadata.Name, Labels: d.Metadata.Labels, Spec: spec}
			if err := in.Validate(); err != nil {
				t.Errorf("%s: %v", d.Metadata.Name, err)
			}
			n++
		}
	}
	if n < 4 {
		t.Errorf("found %d Receiver examples, want one per channel type", n)
	}
}
