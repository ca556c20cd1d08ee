package probe

import (
	"testing"
	"time"

	"groundcrew.dev/groundcrew/internal/expr"
)

func TestVars_EveryType(t *testing.T) {
	for _, typ := range Types {
		vars := Vars(typ)
		if len(vars) == 0 || vars[0].Name != "duration" {
			t.Errorf("%s: Vars does not start with duration: %v", typ, vars)
		}
		seen := map[string]bool{}
		for _, v := range vars {
			if v.Doc == "" || seen[v.Name] {
				t.Errorf("%s: variable %q undocumented or repeated", typ, v.Name)
			}
			seen[v.Name] = true
		}
		env, err := expr.NewEnv(vars...)
		if err != nil {
			t.Fatalf("%s: %v", typ, err)
		}
		for _, c := range DefaultConditions(typ) {
			if _, err := env.Compile("conditions[0].expr", c); err != nil {
				t.Errorf("%s: default condition %s: %v", typ, c, err)
			}
		}
		checkVars(t, typ, Result{Vars: zeroVars(typ)})
	}
	if Vars("nosuch") != nil || DefaultConditions("nosuch") != nil {
		t.Error("an unknown type has variables")
	}
}

// TestVars_CertInCEL checks the Go values of the cert map are ones CEL
// compares as durations and timestamps.
func TestVars_CertInCEL(t *testing.T) {
	ca := newCA(t)
	now := time.Now()
	leaf := ca.issue(t, certOpts{names: []string{"a.example.test", "b.example.test"}, notAfter: now.Add(11 * 24 * time.Hour)}).Leaf
	vars := zeroVars(TLS)
	vars["cert"] = certVars(leaf, now)
	res := Result{Vars: vars}
	assertCond(t, TLS, res,
		`cert.expires_in > duration("240h")`,
		`cert.expires_in < duration("265h")`,
		`cert.not_after - cert.not_before > duration("264h")`,
		`cert.not_after > timestamp("2000-01-01T00:00:00Z")`,
		`size(cert.dns_names) == 2 && cert.dns_names[1] == "b.example.test"`,
		`cert.subject.contains("a.example.test")`,
	)
}
