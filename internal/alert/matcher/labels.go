package matcher

import (
	"fmt"
	"slices"
	"strings"
)

// Labels is an alert's label set. Read-only use is safe concurrently.
type Labels map[string]string

// Fingerprint identifies a label set: equal sets, in any insertion order,
// have equal fingerprints, and it never changes between versions or
// processes (it is stored).
type Fingerprint uint64

// String returns the fingerprint as 16 lower-case hex digits.
func (f Fingerprint) String() string { return fmt.Sprintf("%016x", uint64(f)) }

// ParseFingerprint reads the 16 hex digits String writes.
func ParseFingerprint(s string) (Fingerprint, error) {
	var v uint64
	if len(s) != 16 {
		return 0, fmt.Errorf("parse fingerprint %q: want 16 hex digits", s)
	}
	if _, err := fmt.Sscanf(s, "%016x", &v); err != nil {
		return 0, fmt.Errorf("parse fingerprint %q: %w", s, err)
	}
	return Fingerprint(v), nil
}

// FNV-1a, 64-bit (FNV offset basis and prime).
const (
	fnvOffset64 = 14695981039346656037
	fnvPrime64  = 1099511628211
	separator   = 0xff // a byte that valid UTF-8 never contains
)

// Fingerprint returns the label set's fingerprint: FNV-1a 64-bit over the
// pairs sorted by name, each written as name, 0xff, value, 0xff. 0xff never
// occurs in UTF-8 text, so {a="b c"} and {a="b", c=""} cannot collide by
// concatenation. An empty or nil set has the FNV offset basis as its
// fingerprint. Pairs with an empty value count like any other, so callers
// that treat "" as absent should drop them first.
func (ls Labels) Fingerprint() Fingerprint {
	names := ls.Names()
	h := uint64(fnvOffset64)
	write := func(s string) {
		for i := 0; i < len(s); i++ {
			h ^= uint64(s[i])
			h *= fnvPrime64
		}
		h ^= separator
		h *= fnvPrime64
	}
	for _, n := range names {
		write(n)
		write(ls[n])
	}
	return Fingerprint(h)
}

// Names returns the label names, sorted.
func (ls Labels) Names() []string {
	names := make([]string, 0, len(ls))
	for n := range ls {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// String returns the set sorted by name in matcher syntax: {a="b", c="d"}.
func (ls Labels) String() string {
	var b strings.Builder
	b.WriteByte('{')
	for i, n := range ls.Names() {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(n)
		b.WriteByte('=')
		writeQuoted(&b, ls[n])
	}
	b.WriteByte('}')
	return b.String()
}

// Subset returns a new set with only the named labels that ls has.
func (ls Labels) Subset(names []string) Labels {
	out := make(Labels, len(names))
	for _, n := range names {
		if v, ok := ls[n]; ok {
			out[n] = v
		}
	}
	return out
}

// Equal reports whether two label sets hold the same pairs.
func (ls Labels) Equal(o Labels) bool {
	if len(ls) != len(o) {
		return false
	}
	for n, v := range ls {
		if w, ok := o[n]; !ok || w != v {
			return false
		}
	}
	return true
}
