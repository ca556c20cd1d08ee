package apply

import (
	"strings"
	"testing"

	"groundcrew.dev/groundcrew/internal/catalog"
	"groundcrew.dev/groundcrew/internal/errs"
)

func TestDecodeSpec_NamesTheField(t *testing.T) {
	for _, tc := range []struct {
		spec, field, msg string
	}{
		{`{"type":"ci","owner":"p","roles":[{"name":"a"},{"name":"b","bogus":1}]}`, "spec.roles[1].bogus", `unknown field "bogus"`},
		{`{"Type":"ci","owner":"p"}`, "spec.Type", `unknown field "Type"`},
		{`{"type":"ci","owner":"p","environments":"prod"}`, "spec.environments", "must be a list, not string"},
		{`{"type":3}`, "spec.type", "must be a string, not number"},
		{`{"type":"ci","type":"git"}`, "spec.type", "duplicate"},
		{`[1,2]`, "spec", "must be an object, not ["},
	} {
		var spec catalog.ToolSpec
		err := DecodeSpec(Document{Kind: "Tool", Spec: []byte(tc.spec)}, &spec)
		if !errs.Is(err, errs.Invalid) || errs.FieldOf(err) != tc.field || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("DecodeSpec(%s) = %v (field %q), want field %s and %q", tc.spec, err, errs.FieldOf(err), tc.field, tc.msg)
		}
	}
}

func TestParse_RejectsUnknownTopLevelAndMetadataFields(t *testing.T) {
	for _, tc := range []struct{ yaml, field string }{
		{"apiVersion: groundcrew.dev/v1\nkind: Team\nmetadata: {name: a, nmae: b}\n", "metadata.nmae"},
		{"apiVersion: groundcrew.dev/v1\nkind: Team\nmetadata: {name: a}\nspce: {}\n", "spce"},
	} {
		_, err := Parse("f.yaml", []byte(tc.yaml))
		if errs.FieldOf(err) != tc.field || !strings.Contains(err.Error(), "f.yaml: document 1") {
			t.Errorf("Parse(%q) = %v (field %q), want field %s with the file named", tc.yaml, err, errs.FieldOf(err), tc.field)
		}
	}
}
