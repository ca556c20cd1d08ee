// Package matcher parses and evaluates Alertmanager-style label matchers
// (severity="critical", team=~"db|infra", env!="dev", job!~"test.*") and
// computes label-set fingerprints.
//
// It is pure: no database, no clock, no network. A Matcher is immutable
// once built and safe for concurrent use; so are Matchers and Labels as long
// as nobody writes to them.
package matcher

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"groundcrew.dev/groundcrew/internal/errs"
)

// Type is the comparison a Matcher makes.
type Type int

// The matcher types, in Alertmanager's notation =, !=, =~ and !~.
const (
	Equal Type = iota
	NotEqual
	Regexp
	NotRegexp
)

// String returns the operator: "=", "!=", "=~" or "!~".
func (t Type) String() string {
	switch t {
	case Equal:
		return "="
	case NotEqual:
		return "!="
	case Regexp:
		return "=~"
	case NotRegexp:
		return "!~"
	}
	return fmt.Sprintf("Type(%d)", int(t))
}

// Matcher compares one label of an alert with a value or a regular
// expression. Build it with New or Parse; the zero value has no name and
// fails Validate. Safe for concurrent use.
type Matcher struct {
	Name  string
	Type  Type
	Value string
	re    *regexp.Regexp // compiled ^(?:Value)$ for Regexp and NotRegexp
	fast  *fastRegexp    // an equivalent shortcut for common regexes, or nil
}

// New returns a matcher, compiling a regular expression once, fully
// anchored (^(?:value)$) as in Alertmanager. Errors are errs.Invalid
// without a field; callers add theirs with errs.WithField.
func New(t Type, name, value string) (Matcher, error) {
	m := Matcher{Name: name, Type: t, Value: value}
	if !ValidName(name) {
		return Matcher{}, errs.Invalidf("", "label name %q must match [a-zA-Z_][a-zA-Z0-9_]*", name)
	}
	switch t {
	case Equal, NotEqual:
	case Regexp, NotRegexp:
		if _, err := regexp.Compile(value); err != nil { // unanchored, for a message naming what they wrote
			return Matcher{}, errs.Invalidf("", "invalid regular expression %q: %v", value, strings.TrimPrefix(err.Error(), "error parsing regexp: "))
		}
		re, err := regexp.Compile("^(?:" + value + ")$")
		if err != nil {
			return Matcher{}, errs.Invalidf("", "invalid regular expression %q: %v", value, strings.TrimPrefix(err.Error(), "error parsing regexp: "))
		}
		m.re = re
		m.fast = analyze(value)
	default:
		return Matcher{}, errs.Invalidf("", "unknown matcher type %d", int(t))
	}
	return m, nil
}

// MustNew is New for constants in tests and code; it panics on error.
func MustNew(t Type, name, value string) Matcher {
	m, err := New(t, name, value)
	if err != nil {
		panic(err)
	}
	return m
}

// ValidName reports whether name is a label name groundcrew accepts:
// [a-zA-Z_][a-zA-Z0-9_]*.
func ValidName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9' {
			continue
		}
		return false
	}
	return true
}

// Validate reports whether m was built by New or Parse (a zero or
// hand-assembled Matcher with a regex type but no compiled expression is
// invalid).
func (m Matcher) Validate() error {
	if !ValidName(m.Name) {
		return errs.Invalidf("", "label name %q must match [a-zA-Z_][a-zA-Z0-9_]*", m.Name)
	}
	if (m.Type == Regexp || m.Type == NotRegexp) && m.re == nil {
		_, err := New(m.Type, m.Name, m.Value)
		if err != nil {
			return err
		}
		return errs.Invalidf("", "matcher %s was not built with matcher.New or matcher.Parse", m)
	}
	if m.Type < Equal || m.Type > NotRegexp {
		return errs.Invalidf("", "unknown matcher type %d", int(m.Type))
	}
	return nil
}

// MatchesValue reports whether value satisfies the matcher.
func (m Matcher) MatchesValue(value string) bool {
	switch m.Type {
	case Equal:
		return value == m.Value
	case NotEqual:
		return value != m.Value
	case Regexp:
		return m.matchRegexp(value)
	case NotRegexp:
		return m.re != nil && !m.matchRegexp(value)
	}
	return false
}

func (m Matcher) matchRegexp(value string) bool {
	// The regexp reads invalid UTF-8 as U+FFFD; the shortcut compares bytes.
	if m.fast != nil && utf8.ValidString(value) {
		return m.fast.match(value)
	}
	return m.re != nil && m.re.MatchString(value)
}

// Matches reports whether labels satisfy the matcher. A missing label is
// the empty string, as in Alertmanager: env!="prod" matches an alert
// without env, and env=~".*" matches every alert.
func (m Matcher) Matches(labels map[string]string) bool {
	return m.MatchesValue(labels[m.Name])
}

// String returns the matcher in the syntax Parse reads, with the value
// always quoted: name="value".
func (m Matcher) String() string {
	var b strings.Builder
	b.Grow(len(m.Name) + len(m.Value) + 4)
	b.WriteString(m.Name)
	b.WriteString(m.Type.String())
	writeQuoted(&b, m.Value)
	return b.String()
}

// MarshalText returns String(), so matchers encode as strings in JSON and
// YAML.
func (m Matcher) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// UnmarshalText parses one matcher, so matchers decode from strings in JSON
// and YAML.
func (m *Matcher) UnmarshalText(b []byte) error {
	p, err := Parse(string(b))
	if err != nil {
		return err
	}
	*m = p
	return nil
}

// writeQuoted writes s between double quotes, escaping backslash, double
// quote and newline — the three escapes Parse understands.
func writeQuoted(b *strings.Builder, s string) {
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			b.WriteString(`\\`)
		case '"':
			b.WriteString(`\"`)
		case '\n':
			b.WriteString(`\n`)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
}

// Matchers is a conjunction: all must match. The empty list matches
// everything.
type Matchers []Matcher

// Matches reports whether labels satisfy every matcher.
func (ms Matchers) Matches(labels map[string]string) bool {
	for i := range ms {
		if !ms[i].Matches(labels) {
			return false
		}
	}
	return true
}

// FirstMismatch returns the index of the first matcher labels do not
// satisfy, or -1 when all match. Route explanations use it.
func (ms Matchers) FirstMismatch(labels map[string]string) int {
	for i := range ms {
		if !ms[i].Matches(labels) {
			return i
		}
	}
	return -1
}

// String returns the list in the syntax ParseMatchers reads:
// {a="b", c=~"d|e"}.
func (ms Matchers) String() string {
	var b strings.Builder
	b.WriteByte('{')
	for i, m := range ms {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(m.String())
	}
	b.WriteByte('}')
	return b.String()
}

// Validate validates every matcher; the error's field is the index
// ("[2]"), to be prefixed by the caller's field name.
func (ms Matchers) Validate() error {
	for i, m := range ms {
		if err := m.Validate(); err != nil {
			return errs.WithField(fmt.Sprintf("[%d]", i), err)
		}
	}
	return nil
}

// MatchesEmpty reports whether every matcher matches the empty label set —
// a list that would match every alert (Alertmanager refuses such silences).
func (ms Matchers) MatchesEmpty() bool {
	return ms.Matches(nil)
}
