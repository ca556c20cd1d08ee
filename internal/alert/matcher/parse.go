package matcher

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"groundcrew.dev/groundcrew/internal/errs"
)

// MaxInput bounds what Parse and ParseMatchers read, so a hostile request
// cannot make a parser or the regexp compiler chew on megabytes.
const MaxInput = 64 << 10

// SyntaxError is a parse error at a position of the input. It is wrapped in
// an errs.Invalid error (errors.As finds it).
type SyntaxError struct {
	Offset int    // byte offset of the problem in the input
	Column int    // 1-based column, in characters
	Msg    string // what is wrong
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("column %d: %s", e.Column, e.Msg) }

// Parse reads one matcher in Alertmanager syntax: name="value", name!="v",
// name=~"regex", name!~"re"; the value may be unquoted when it holds no
// white space, comma, brace or quote (severity=critical); inside quotes
// \" \\ and \n are escapes and any other backslash stays as written (so
// "db\.prod" is the regular expression db\.prod). Surrounding braces
// ({a="b"}) are allowed. Errors are errs.Invalid with the column and the
// problem, without a field.
func Parse(s string) (Matcher, error) {
	ms, err := parse(s, true)
	if err != nil {
		return Matcher{}, err
	}
	return ms[0], nil
}

// ParseMatchers reads a comma-separated list of matchers, with or without
// surrounding braces: {a="b", c=~"d|e"} or a=b,c!=d. A trailing comma is
// allowed; "" and "{}" give an empty list (which matches everything).
func ParseMatchers(s string) (Matchers, error) {
	return parse(s, false)
}

// MustParse is ParseMatchers for constants; it panics on error.
func MustParse(s string) Matchers {
	ms, err := ParseMatchers(s)
	if err != nil {
		panic(err)
	}
	return ms
}

type parser struct {
	in  string
	pos int
}

func (p *parser) fail(at int, format string, args ...any) error {
	se := &SyntaxError{Offset: at, Column: utf8.RuneCountInString(p.in[:at]) + 1, Msg: fmt.Sprintf(format, args...)}
	return &errs.Error{Code: errs.Invalid, Message: se.Error(), Err: se}
}

func (p *parser) skipSpace() {
	for p.pos < len(p.in) {
		switch p.in[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

// found describes what is at p.pos for an error message.
func (p *parser) found() string {
	if p.pos >= len(p.in) {
		return "the end"
	}
	r, _ := utf8.DecodeRuneInString(p.in[p.pos:])
	return fmt.Sprintf("%q", r)
}

func parse(s string, one bool) (Matchers, error) {
	p := &parser{in: s}
	if len(s) > MaxInput {
		return nil, p.fail(0, "input is longer than %d bytes", MaxInput)
	}
	if !utf8.ValidString(s) {
		return nil, p.fail(0, "input is not valid UTF-8")
	}
	p.skipSpace()
	braced := false
	if p.pos < len(p.in) && p.in[p.pos] == '{' {
		braced = true
		p.pos++
	}
	var ms Matchers
	for {
		p.skipSpace()
		if p.pos >= len(p.in) || braced && p.in[p.pos] == '}' {
			break
		}
		if one && len(ms) == 1 {
			return nil, p.fail(p.pos, "expected one matcher, found more")
		}
		m, err := p.matcher()
		if err != nil {
			return nil, err
		}
		ms = append(ms, m)
		p.skipSpace()
		if p.pos < len(p.in) && p.in[p.pos] == ',' {
			p.pos++
			continue
		}
		break
	}
	if braced {
		if p.pos >= len(p.in) || p.in[p.pos] != '}' {
			return nil, p.fail(p.pos, "expected ',' or '}', found %s", p.found())
		}
		p.pos++
		p.skipSpace()
	}
	if p.pos < len(p.in) {
		if len(ms) > 0 && !braced {
			return nil, p.fail(p.pos, "expected ',' or the end after a matcher, found %s", p.found())
		}
		return nil, p.fail(p.pos, "unexpected %s", p.found())
	}
	if one && len(ms) == 0 {
		return nil, p.fail(p.pos, "expected a matcher such as severity=\"critical\", found %s", p.found())
	}
	return ms, nil
}

func (p *parser) matcher() (Matcher, error) {
	start := p.pos
	for p.pos < len(p.in) && isNameByte(p.in[p.pos], p.pos == start) {
		p.pos++
	}
	name := p.in[start:p.pos]
	if name == "" {
		return Matcher{}, p.fail(p.pos, "expected a label name ([a-zA-Z_][a-zA-Z0-9_]*), found %s", p.found())
	}
	p.skipSpace()
	opAt := p.pos
	var t Type
	switch rest := p.in[p.pos:]; {
	case strings.HasPrefix(rest, "=~"):
		t, p.pos = Regexp, p.pos+2
	case strings.HasPrefix(rest, "!~"):
		t, p.pos = NotRegexp, p.pos+2
	case strings.HasPrefix(rest, "!="):
		t, p.pos = NotEqual, p.pos+2
	case strings.HasPrefix(rest, "="):
		t, p.pos = Equal, p.pos+1
	default:
		return Matcher{}, p.fail(p.pos, "expected an operator (=, !=, =~ or !~) after label name %q, found %s", name, p.found())
	}
	p.skipSpace()
	valueAt := p.pos
	var value string
	if p.pos < len(p.in) && p.in[p.pos] == '"' {
		v, err := p.quoted()
		if err != nil {
			return Matcher{}, err
		}
		value = v
	} else {
		for p.pos < len(p.in) && isUnquotedByte(p.in[p.pos]) {
			p.pos++
		}
		value = p.in[valueAt:p.pos]
		if p.pos < len(p.in) && (p.in[p.pos] == '\'' || p.in[p.pos] == '"') {
			return Matcher{}, p.fail(p.pos, "unexpected %s in an unquoted value; quote the value with \"…\"", p.found())
		}
	}
	m, err := New(t, name, value)
	if err != nil {
		at := valueAt
		if t == Equal || t == NotEqual {
			at = opAt
		}
		return Matcher{}, p.fail(at, "%s", errs.MessageOf(err))
	}
	return m, nil
}

// quoted reads a double-quoted string at p.pos.
func (p *parser) quoted() (string, error) {
	open := p.pos
	p.pos++ // the opening quote
	var b strings.Builder
	for p.pos < len(p.in) {
		c := p.in[p.pos]
		switch c {
		case '"':
			p.pos++
			return b.String(), nil
		case '\\':
			if p.pos+1 >= len(p.in) {
				p.pos++
				continue // reported as unterminated below
			}
			switch n := p.in[p.pos+1]; n {
			case '"', '\\':
				b.WriteByte(n)
			case 'n':
				b.WriteByte('\n')
			default:
				b.WriteByte('\\')
				b.WriteByte(n)
			}
			p.pos += 2
		default:
			b.WriteByte(c)
			p.pos++
		}
	}
	return "", p.fail(open, "unterminated quoted string")
}

func isNameByte(c byte, first bool) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || !first && c >= '0' && c <= '9'
}

func isUnquotedByte(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\r', ',', '{', '}', '"', '\'':
		return false
	}
	return true
}
