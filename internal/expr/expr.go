// Package expr is groundcrew's one expression language: CEL. Each place a
// person writes a condition (check assertions, routing conditions, access
// rules…) gets its own Env with typed variables, and expressions are
// compiled when configuration is loaded, so a typo is an error at apply time
// with its line and column — never at 3 a.m.
package expr

import (
	"context"
	"fmt"
	"strings"
	"time"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/ext"

	"groundcrew.dev/groundcrew/internal/errs"
)

// Limits on what one expression may be and cost, so that a condition
// cannot slow the component evaluating it.
const (
	MaxLength   = 4000
	costLimit   = 1_000_000
	evalTimeout = 100 * time.Millisecond
)

// Type is the type of a variable an Env declares.
type Type int

// The variable types.
const (
	Bool Type = iota
	Int
	Double
	String
	Duration
	Timestamp
	StringList
	StringMap
	Dyn // any JSON-like value: maps, lists, strings, numbers, booleans, null
)

func (t Type) cel() *cel.Type {
	switch t {
	case Bool:
		return cel.BoolType
	case Int:
		return cel.IntType
	case Double:
		return cel.DoubleType
	case String:
		return cel.StringType
	case Duration:
		return cel.DurationType
	case Timestamp:
		return cel.TimestampType
	case StringList:
		return cel.ListType(cel.StringType)
	case StringMap:
		return cel.MapType(cel.StringType, cel.StringType)
	default:
		return cel.DynType
	}
}

// Var declares one variable of an Env.
type Var struct {
	Name string
	Type Type
	Doc  string
}

// Env compiles expressions over a fixed set of typed variables. Safe for
// concurrent use.
type Env struct {
	env  *cel.Env
	vars []Var
}

// NewEnv returns an environment declaring vars, with CEL's standard
// library plus string extensions (lowerAscii, split, …).
func NewEnv(vars ...Var) (*Env, error) {
	opts := []cel.EnvOption{ext.Strings(), cel.CrossTypeNumericComparisons(true)}
	for _, v := range vars {
		opts = append(opts, cel.VariableWithDoc(v.Name, v.Type.cel(), v.Doc))
	}
	env, err := cel.NewEnv(opts...)
	if err != nil {
		return nil, fmt.Errorf("expr: %w", err)
	}
	return &Env{env: env, vars: vars}, nil
}

// Vars returns the declared variables.
func (e *Env) Vars() []Var { return e.vars }

// Program is a compiled boolean expression. Safe for concurrent use.
type Program struct {
	Source string
	prg    cel.Program
}

// Compile compiles a boolean expression. Errors are errs.Invalid naming
// field, with CEL's message, line and column.
func (e *Env) Compile(field, source string) (*Program, error) {
	if strings.TrimSpace(source) == "" {
		return nil, errs.Invalidf(field, "is empty")
	}
	if len(source) > MaxLength {
		return nil, errs.Invalidf(field, "is longer than %d characters", MaxLength)
	}
	ast, iss := e.env.Compile(source)
	if iss.Err() != nil {
		return nil, errs.Invalidf(field, "%s", strings.TrimPrefix(iss.Err().Error(), "ERROR: <input>:"))
	}
	if ast.OutputType() != cel.BoolType && ast.OutputType() != cel.DynType {
		return nil, errs.Invalidf(field, "must be a condition (true or false), but gives %s", ast.OutputType())
	}
	prg, err := e.env.Program(ast, cel.CostLimit(costLimit), cel.InterruptCheckFrequency(100))
	if err != nil {
		return nil, errs.Invalidf(field, "%v", err)
	}
	return &Program{Source: source, prg: prg}, nil
}

// Eval evaluates the program against vars and reports whether it holds. A
// missing variable, a type mismatch at run time (e.g. json.status on a body
// that is not JSON) or an exceeded cost is an error, which callers treat as
// the condition failing, with the error as the reason.
func (p *Program) Eval(ctx context.Context, vars map[string]any) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, evalTimeout)
	defer cancel()
	out, _, err := p.prg.ContextEval(ctx, vars)
	if err != nil {
		return false, err
	}
	b, ok := out.(types.Bool)
	if !ok {
		return false, fmt.Errorf("gives %s, not true or false", typeName(out))
	}
	return bool(b), nil
}

func typeName(v ref.Val) string {
	if v == nil {
		return "nothing"
	}
	return v.Type().TypeName()
}
