package expr_test

import (
	"context"
	"testing"

	"groundcrew.dev/groundcrew/internal/errs"
	"groundcrew.dev/groundcrew/internal/expr"
)

func TestAlertEnv(t *testing.T) {
	env, err := expr.AlertEnv()
	if err != nil {
		t.Fatal(err)
	}
	labels := map[string]string{"severity": "critical", "service": "payments", "env": "prod-eu"}
	for _, tc := range []struct {
		src     string
		want    bool
		wantErr bool
	}{
		{`severity == "critical"`, true, false},
		{`service == "payments" && labels["env"].startsWith("prod")`, true, false},
		{`"team" in labels && labels["team"] == "db"`, false, false},
		{`labels["team"] == "db"`, false, true}, // a missing key is an error, treated as no match
		{`severity in ["warning", "info"]`, false, false},
	} {
		p, err := env.Compile("routes[0].condition", tc.src)
		if err != nil {
			t.Fatalf("Compile(%q): %v", tc.src, err)
		}
		got, err := p.Eval(context.Background(), expr.AlertVars(labels))
		if got != tc.want || (err != nil) != tc.wantErr {
			t.Errorf("Eval(%q) = %v, %v; want %v, error %v", tc.src, got, err, tc.want, tc.wantErr)
		}
	}
	if ok, err := mustCompile(t, env, `severity == ""`).Eval(context.Background(), expr.AlertVars(nil)); !ok || err != nil {
		t.Errorf("missing severity = %v, %v; want true", ok, err)
	}
	if _, err := env.Compile("routes[1].condition", `sevrity == "x"`); !errs.Is(err, errs.Invalid) || errs.FieldOf(err) != "routes[1].condition" {
		t.Errorf("typo compiles: %v", err)
	}
}

func mustCompile(t *testing.T, env *expr.Env, src string) *expr.Program {
	t.Helper()
	p, err := env.Compile("c", src)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
