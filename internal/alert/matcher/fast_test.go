package matcher

import "testing"

func TestFastRegexp(t *testing.T) {
	values := []string{"", "a", "b", "ab", "abc", "critical", "warning", "Critical", "crit", "test", "testing", "test\nx", "x\n", "\xff", "\uFFFD", "db", "dbx", "é"}
	for _, tc := range []struct {
		pattern string
		fast    bool
	}{
		{"critical|warning", true},
		{"db", true},
		{"(db|infra)", true},
		{"test.*", true},
		{".*", true},
		{"", true},
		{"a|", true},
		{"(?i)critical", false},
		{"(?s)test.*", false},
		{"a+", false},
		{"crit.*|warn", false},
		{"é|a", true},
		{`a\.b`, true},
		{"[ab]", true},
		{"critical|crit", true},
		{"db[0-9]", true},
		{"(?i)db", false},
		{"db[0-9]+", false},
		{"(prod|stage)-eu.*", false},
		{"prod-(eu|us).*", false},
		{"prod-eu-.*", true},
		{"[^a]", false},
		{"\uFFFD|a", true},
	} {
		m, err := New(Regexp, "x", tc.pattern)
		if err != nil {
			t.Fatal(err)
		}
		if tc.fast && m.fast == nil {
			t.Errorf("%q: no fast form", tc.pattern)
		}
		if !tc.fast && m.fast != nil {
			t.Errorf("%q: unexpected fast form %+v", tc.pattern, m.fast)
		}
		for _, v := range values {
			if got, want := m.MatchesValue(v), m.re.MatchString(v); got != want {
				t.Errorf("%q on %q: fast %v, regexp %v", tc.pattern, v, got, want)
			}
		}
	}
}

// FuzzFastRegexp checks the shortcut against the regexp on arbitrary
// patterns and values.
func FuzzFastRegexp(f *testing.F) {
	f.Add("critical|warning", "critical")
	f.Add("test.*", "testing\n")
	f.Add("(a|b)", "a")
	f.Fuzz(func(t *testing.T, pattern, value string) {
		m, err := New(Regexp, "x", pattern)
		if err != nil || m.fast == nil {
			return
		}
		if got, want := m.MatchesValue(value), m.re.MatchString(value); got != want {
			t.Fatalf("pattern %q value %q: fast %v, regexp %v", pattern, value, got, want)
		}
	})
}
