package matcher

import (
	"regexp/syntax"
	"strings"
)

// fastRegexp answers common anchored regexes without running the regexp
// engine: a set of literals ("critical|warning", "db") and a literal prefix
// followed by ".*" ("test.*"). The regexp stays the definition; the fast
// forms are used only when they are provably equivalent.
type fastRegexp struct {
	set    map[string]struct{} // exact alternatives, or nil
	prefix string              // with anyRest: value starts with prefix
	rest   bool                // prefix form: the rest may be anything but a newline
}

// maxSet bounds the literal set a regex may expand to.
const maxSet = 256

// analyze returns a fast form of the anchored pattern, or nil.
func analyze(pattern string) *fastRegexp {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return nil
	}
	re = re.Simplify()
	for re.Op == syntax.OpCapture {
		re = re.Sub[0]
	}
	if strs, ok := finite(re); ok {
		set := make(map[string]struct{}, len(strs))
		for _, s := range strs {
			set[s] = struct{}{}
		}
		return &fastRegexp{set: set}
	}
	var prefix []string
	switch {
	case isAnyNotNL(re):
		return &fastRegexp{rest: true}
	case re.Op == syntax.OpConcat && len(re.Sub) >= 2 && isAnyNotNL(re.Sub[len(re.Sub)-1]):
		head := *re
		head.Sub = re.Sub[:len(re.Sub)-1]
		var ok bool
		if prefix, ok = finite(&head); ok && len(prefix) == 1 {
			return &fastRegexp{prefix: prefix[0], rest: true}
		}
	}
	return nil
}

func isAnyNotNL(re *syntax.Regexp) bool {
	return re.Op == syntax.OpStar && len(re.Sub) == 1 && re.Sub[0].Op == syntax.OpAnyCharNotNL
}

// finite returns every string a case-sensitive regex without repetition
// matches, when there are at most maxSet of them.
func finite(re *syntax.Regexp) ([]string, bool) {
	switch re.Op {
	case syntax.OpEmptyMatch:
		return []string{""}, true
	case syntax.OpLiteral:
		if re.Flags&syntax.FoldCase != 0 {
			return nil, false
		}
		return []string{string(re.Rune)}, true
	case syntax.OpCapture:
		return finite(re.Sub[0])
	case syntax.OpCharClass:
		var out []string
		for i := 0; i+1 < len(re.Rune); i += 2 {
			lo, hi := re.Rune[i], re.Rune[i+1]
			if int(hi-lo)+len(out) >= maxSet {
				return nil, false
			}
			for r := lo; r <= hi; r++ {
				out = append(out, string(r))
			}
		}
		return out, len(out) > 0
	case syntax.OpAlternate:
		var out []string
		for _, sub := range re.Sub {
			s, ok := finite(sub)
			if !ok || len(out)+len(s) > maxSet {
				return nil, false
			}
			out = append(out, s...)
		}
		return out, true
	case syntax.OpConcat:
		out := []string{""}
		for _, sub := range re.Sub {
			s, ok := finite(sub)
			if !ok || len(out)*len(s) > maxSet {
				return nil, false
			}
			next := make([]string, 0, len(out)*len(s))
			for _, a := range out {
				for _, b := range s {
					next = append(next, a+b)
				}
			}
			out = next
		}
		return out, true
	}
	return nil, false
}

func (f *fastRegexp) match(v string) bool {
	if f.set != nil {
		_, ok := f.set[v]
		return ok
	}
	return strings.HasPrefix(v, f.prefix) && !strings.Contains(v[len(f.prefix):], "\n")
}
