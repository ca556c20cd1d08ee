package expr_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"groundcrew.dev/groundcrew/internal/errs"
	"groundcrew.dev/groundcrew/internal/expr"
)

func testEnv(t testing.TB) *expr.Env {
	t.Helper()
	env, err := expr.NewEnv(
		expr.Var{Name: "status", Type: expr.Int},
		expr.Var{Name: "duration", Type: expr.Duration},
		expr.Var{Name: "body", Type: expr.String},
		expr.Var{Name: "headers", Type: expr.StringMap},
		expr.Var{Name: "json", Type: expr.Dyn},
	)
	if err != nil {
		t.Fatal(err)
	}
	return env
}

func TestCompileAndEval(t *testing.T) {
	env := testEnv(t)
	vars := map[string]any{
		"status":   200,
		"duration": 120 * time.Millisecond,
		"body":     `{"status":"UP","checks":[1,2]}`,
		"headers":  map[string]string{"content-type": "application/json"},
		"json":     map[string]any{"status": "UP", "checks": []any{1.0, 2.0}},
	}
	for _, tc := range []struct {
		src  string
		want bool
	}{
		{`status == 200 && duration < duration("300ms")`, true},
		{`json.status == "UP"`, true},
		{`size(json.checks) == 2`, true},
		{`body.contains("UP")`, true},
		{`headers["content-type"].startsWith("application/json")`, true},
		{`status >= 500`, false},
		{`duration > duration("1s")`, false},
	} {
		p, err := env.Compile("conditions[0]", tc.src)
		if err != nil {
			t.Fatalf("Compile(%q): %v", tc.src, err)
		}
		got, err := p.Eval(context.Background(), vars)
		if err != nil || got != tc.want {
			t.Errorf("Eval(%q) = %v, %v; want %v", tc.src, got, err, tc.want)
		}
	}
}

func TestCompile_ErrorsNameFieldAndPosition(t *testing.T) {
	env := testEnv(t)
	for _, tc := range []struct{ src, want string }{
		{`stauts == 200`, "undeclared reference to 'stauts'"},
		{`status == `, "1:"},
		{`status + 1`, "must be a condition"},
		{`body == 200`, "no matching overload"},
		{``, "is empty"},
		{strings.Repeat("a", expr.MaxLength+1), "longer than"},
	} {
		_, err := env.Compile("spec.conditions[2]", tc.src)
		if !errs.Is(err, errs.Invalid) || errs.FieldOf(err) != "spec.conditions[2]" || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Compile(%q) = %v, want invalid spec.conditions[2] containing %q", tc.src, err, tc.want)
		}
	}
}

func TestEval_RuntimeErrorsAreErrors(t *testing.T) {
	env := testEnv(t)
	p, err := env.Compile("c", `json.status == "UP"`)
	if err != nil {
		t.Fatal(err)
	}
	// A body that is not JSON: json is null, and the field access fails.
	if ok, err := p.Eval(context.Background(), map[string]any{"json": nil}); ok || err == nil {
		t.Errorf("Eval on null json = %v, %v; want an error", ok, err)
	}
	// A runaway expression hits the cost limit instead of spinning.
	p, err = env.Compile("c", `[1,2,3,4,5,6,7,8,9,10].all(a, [1,2,3,4,5,6,7,8,9,10].all(b, [1,2,3,4,5,6,7,8,9,10].all(c, [1,2,3,4,5,6,7,8,9,10].all(d, body.matches("(a+)+b") || true))))`)
	if err == nil {
		_, err = p.Eval(context.Background(), map[string]any{"body": strings.Repeat("a", 1000)})
	}
	if err == nil {
		t.Error("expensive expression ran to completion; want a cost-limit error")
	}
}

func FuzzCompile(f *testing.F) {
	for _, s := range []string{`status == 200`, `json.a.b[0] == "x"`, `duration < duration("1s")`, `body.matches("^ok$")`, `headers["x"] in ["a","b"]`, `!(`, `1 +`} {
		f.Add(s)
	}
	env := testEnv(f)
	f.Fuzz(func(t *testing.T, src string) {
		p, err := env.Compile("c", src)
		if err != nil {
			if !errs.Is(err, errs.Invalid) {
				t.Fatalf("Compile(%q) error %v is not Invalid", src, err)
			}
			return
		}
		_, _ = p.Eval(context.Background(), map[string]any{"status": 200, "duration": time.Second, "body": "ok", "headers": map[string]string{}, "json": nil})
	})
}
