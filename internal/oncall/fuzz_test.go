package oncall

import (
	"encoding/json"
	"strings"
	"testing"

	"groundcrew.dev/groundcrew/internal/errs"
)

// FuzzPolicySpec feeds arbitrary JSON as an escalation policy's spec: it
// must never panic, and a rejection is always Invalid naming a spec field.
func FuzzPolicySpec(f *testing.F) {
	for _, s := range []string{
		`{"owner":"payments","repeat":2,"steps":[{"delay":"5m","targets":[{"schedule":"payments-primary"},{"user":"alice"},{"team":"payments"}]}]}`,
		`{"owner":"payments","steps":[]}`,
		`{"owner":"p","repeat":-1,"steps":[{"delay":"-5m","targets":[{}]}]}`,
		`{"owner":"p","steps":[{"delay":"1h","targets":[{"user":"a","team":"b"}]}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var spec PolicySpec
		if json.Unmarshal(data, &spec) != nil {
			return
		}
		err := spec.Validate()
		if err == nil {
			return
		}
		if !errs.Is(err, errs.Invalid) || !strings.HasPrefix(errs.FieldOf(err), "spec.") {
			t.Fatalf("Validate(%s) = %v (field %q), want Invalid naming a spec field", data, err, errs.FieldOf(err))
		}
	})
}
