package matcher_test

import (
	"errors"
	"strings"
	"testing"

	"groundcrew.dev/groundcrew/internal/alert/matcher"
	"groundcrew.dev/groundcrew/internal/errs"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in        string
		name      string
		typ       matcher.Type
		value     string
		canonical string
	}{
		{`severity="critical"`, "severity", matcher.Equal, "critical", `severity="critical"`},
		{`severity=critical`, "severity", matcher.Equal, "critical", `severity="critical"`},
		{` env != "dev" `, "env", matcher.NotEqual, "dev", `env!="dev"`},
		{`team=~"db|infra"`, "team", matcher.Regexp, "db|infra", `team=~"db|infra"`},
		{`job!~test.*`, "job", matcher.NotRegexp, "test.*", `job!~"test.*"`},
		{`{a="b"}`, "a", matcher.Equal, "b", `a="b"`},
		{`a=""`, "a", matcher.Equal, "", `a=""`},
		{`a=`, "a", matcher.Equal, "", `a=""`},
		{`msg="say \"hi\"\n\\ok"`, "msg", matcher.Equal, "say \"hi\"\n\\ok", `msg="say \"hi\"\n\\ok"`},
		{`host=~"db\.prod"`, "host", matcher.Regexp, `db\.prod`, `host=~"db\\.prod"`},
		{`name="größe, {x}"`, "name", matcher.Equal, "größe, {x}", `name="größe, {x}"`},
		{`_x9="v"`, "_x9", matcher.Equal, "v", `_x9="v"`},
	} {
		m, err := matcher.Parse(tc.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.in, err)
			continue
		}
		if m.Name != tc.name || m.Type != tc.typ || m.Value != tc.value {
			t.Errorf("Parse(%q) = %q %v %q; want %q %v %q", tc.in, m.Name, m.Type, m.Value, tc.name, tc.typ, tc.value)
		}
		if got := m.String(); got != tc.canonical {
			t.Errorf("Parse(%q).String() = %s; want %s", tc.in, got, tc.canonical)
		}
		again, err := matcher.Parse(m.String())
		if err != nil || again.String() != m.String() || again.Value != m.Value {
			t.Errorf("round trip of %q: %v, %v", tc.in, again, err)
		}
	}
}

func TestParse_Errors(t *testing.T) {
	for _, tc := range []struct {
		in     string
		column int
		want   string
	}{
		{``, 1, "expected a matcher"},
		{`="x"`, 1, "expected a label name"},
		{`9a="x"`, 1, "expected a label name"},
		{`foo`, 4, "expected an operator"},
		{`foo=="x"`, 6, "unexpected '\"' in an unquoted value"},
		{`foo<"x"`, 4, "expected an operator"},
		{`foo="x`, 5, "unterminated"},
		{`foo="x\"`, 5, "unterminated"},
		{`foo=~"(x"`, 6, "invalid regular expression"},
		{`a="b" c="d"`, 7, "expected ',' or the end"},
		{`a="b", c="d"`, 8, "expected one matcher"},
		{`{a="b"`, 7, "expected ',' or '}'"},
		{`a="b"}`, 6, "expected ',' or the end"},
		{`a=b'c`, 4, "unexpected '\\''"},
		{"a=\"\xff\"", 1, "not valid UTF-8"},
	} {
		_, err := matcher.Parse(tc.in)
		var se *matcher.SyntaxError
		if !errs.Is(err, errs.Invalid) || !errors.As(err, &se) {
			t.Errorf("Parse(%q) = %v; want an invalid syntax error", tc.in, err)
			continue
		}
		if se.Column != tc.column || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%q) = %v (column %d); want column %d containing %q", tc.in, err, se.Column, tc.column, tc.want)
		}
	}
}

func TestParseMatchers(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{a="b", c=~"d|e"}`, `{a="b", c=~"d|e"}`},
		{`a=b,c!=d`, `{a="b", c!="d"}`},
		{`{ a = "b" , }`, `{a="b"}`},
		{`{}`, `{}`},
		{``, `{}`},
		{`  `, `{}`},
		{`{x="a,b}", y="}"}`, `{x="a,b}", y="}"}`},
	} {
		ms, err := matcher.ParseMatchers(tc.in)
		if err != nil {
			t.Errorf("ParseMatchers(%q): %v", tc.in, err)
			continue
		}
		if got := ms.String(); got != tc.want {
			t.Errorf("ParseMatchers(%q) = %s; want %s", tc.in, got, tc.want)
		}
	}
	for _, in := range []string{`{a="b",,}`, `{a="b"} x`, `}`, `{,}`, `a="b",{c="d"}`} {
		if _, err := matcher.ParseMatchers(in); !errs.Is(err, errs.Invalid) {
			t.Errorf("ParseMatchers(%q) = %v; want invalid", in, err)
		}
	}
}

func TestMatches(t *testing.T) {
	labels := map[string]string{"severity": "critical", "team": "db", "host": "db1.prod"}
	for _, tc := range []struct {
		m    string
		want bool
	}{
		{`severity="critical"`, true},
		{`severity="warning"`, false},
		{`severity!="warning"`, true},
		{`env!="prod"`, true}, // missing label is ""
		{`env=""`, true},
		{`env=~".*"`, true},
		{`env=~".+"`, false},
		{`team=~"db|infra"`, true},
		{`team=~"d"`, false}, // anchored: no substring match
		{`team=~"b"`, false},
		{`host=~"db1"`, false},
		{`host=~"db1\..*"`, true},
		{`host=~"db1.prod|x"`, true}, // anchored around the whole alternation
		{`team!~"db|infra"`, false},
		{`team!~"d"`, true},
	} {
		m, err := matcher.Parse(tc.m)
		if err != nil {
			t.Fatal(err)
		}
		if got := m.Matches(labels); got != tc.want {
			t.Errorf("%s.Matches(%v) = %v; want %v", tc.m, labels, got, tc.want)
		}
	}
	ms := matcher.MustParse(`severity="critical", team=~"db|infra"`)
	if !ms.Matches(labels) || ms.FirstMismatch(labels) != -1 {
		t.Error("list should match")
	}
	ms = matcher.MustParse(`severity="critical", team="web"`)
	if ms.Matches(labels) || ms.FirstMismatch(labels) != 1 {
		t.Error("list should fail at matcher 1")
	}
	if !matcher.MustParse(`a=~".*"`).MatchesEmpty() || matcher.MustParse(`a="b"`).MatchesEmpty() {
		t.Error("MatchesEmpty")
	}
}

func TestMatcher_ZeroValueInvalid(t *testing.T) {
	var m matcher.Matcher
	if err := m.Validate(); !errs.Is(err, errs.Invalid) {
		t.Errorf("zero matcher Validate = %v", err)
	}
	hand := matcher.Matcher{Name: "a", Type: matcher.Regexp, Value: "x"}
	if err := hand.Validate(); err == nil {
		t.Error("hand-built regex matcher without compiled expression validated")
	}
	if err := (matcher.Matchers{matcher.MustNew(matcher.Equal, "a", "b"), {}}).Validate(); errs.FieldOf(err) != "[1]" {
		t.Errorf("Matchers.Validate field = %q", errs.FieldOf(err))
	}
}

func TestMatcher_Text(t *testing.T) {
	var m matcher.Matcher
	if err := m.UnmarshalText([]byte(`team=~"a|b"`)); err != nil || m.String() != `team=~"a|b"` {
		t.Fatalf("UnmarshalText: %v %v", m, err)
	}
	b, _ := m.MarshalText()
	if string(b) != `team=~"a|b"` {
		t.Errorf("MarshalText = %s", b)
	}
}

func TestFingerprint(t *testing.T) {
	a := matcher.Labels{"alertname": "Down", "host": "a"}
	b := matcher.Labels{"host": "a", "alertname": "Down"}
	if a.Fingerprint() != b.Fingerprint() {
		t.Error("order changes the fingerprint")
	}
	// Pinned values: the fingerprint is stored, so the algorithm may never change.
	if got := (matcher.Labels{}).Fingerprint().String(); got != "cbf29ce484222325" {
		t.Errorf("empty fingerprint = %s", got)
	}
	pinned := a.Fingerprint().String()
	if got, err := matcher.ParseFingerprint(pinned); err != nil || got != a.Fingerprint() {
		t.Errorf("ParseFingerprint(%s) = %v, %v", pinned, got, err)
	}
	for _, other := range []matcher.Labels{
		{"alertname": "Down", "host": "b"},
		{"alertname": "Downhost", "": "a"},
		{"alertname": "Down", "host": "a", "x": ""},
		{"alertname": "Down"},
	} {
		if other.Fingerprint() == a.Fingerprint() {
			t.Errorf("%v collides with %v", other, a)
		}
	}
	if s := a.String(); s != `{alertname="Down", host="a"}` {
		t.Errorf("String = %s", s)
	}
	if !a.Subset([]string{"host", "nope"}).Equal(matcher.Labels{"host": "a"}) {
		t.Error("Subset")
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{`a="b"`, `{a="b", c=~"d|e"}`, `x!~"\\.\n\""`, `a=b,c!=d,`, `{}`, `a=~"(x"`, `a="\`, "a=\"\xff\""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ms, err := matcher.ParseMatchers(s)
		if err != nil {
			if !errs.Is(err, errs.Invalid) {
				t.Fatalf("ParseMatchers(%q) error %v is not invalid", s, err)
			}
			return
		}
		again, err := matcher.ParseMatchers(ms.String())
		if err != nil {
			t.Fatalf("ParseMatchers(%q) ok but its String %s does not parse: %v", s, ms.String(), err)
		}
		if len(again) != len(ms) {
			t.Fatalf("round trip of %q changed the count: %s vs %s", s, ms, again)
		}
		for i := range ms {
			if ms[i].Name != again[i].Name || ms[i].Type != again[i].Type || ms[i].Value != again[i].Value {
				t.Fatalf("round trip of %q changed matcher %d: %s vs %s", s, i, ms[i], again[i])
			}
		}
		if len(ms) == 1 {
			if _, err := matcher.Parse(s); err != nil {
				t.Fatalf("ParseMatchers(%q) gives one matcher but Parse fails: %v", s, err)
			}
		}
	})
}
