package main

import (
	"fmt"
	"strings"

	"github.com/google/uuid"
)

// Pages and swaps are named on the command line by their id or by part of
// it as lists show it (its random end), or its start.

// shortID is how lists show an id: its random end, which people can type
// (the start of a UUIDv7 is the time, alike for things made together).
func shortID(id uuid.UUID) string { s := id.String(); return s[len(s)-8:] }

// shortRef checks a reference before a lookup: a whole id is returned as
// it is (whole true); a part must have at least 4 characters.
func shortRef(what, ref, list string) (id string, whole bool, err error) {
	if _, err := uuid.Parse(ref); err == nil {
		return ref, true, nil
	}
	if len(ref) < 4 {
		return "", false, fmt.Errorf("%s %q: give the %s's id, or at least 4 characters of it as %s shows them", what, ref, what, list)
	}
	return strings.ToLower(ref), false, nil
}

// matchRef returns the one id of ids that ends or starts with ref; found
// is false when none does, and several are an error.
func matchRef(what, ref string, ids []uuid.UUID) (id string, found bool, err error) {
	var hits []string
	for _, x := range ids {
		if s := x.String(); strings.HasSuffix(s, ref) || strings.HasPrefix(s, ref) {
			hits = append(hits, s)
		}
	}
	switch len(hits) {
	case 0:
		return "", false, nil
	case 1:
		return hits[0], true, nil
	}
	return "", false, fmt.Errorf("%s %q is ambiguous: %s", what, ref, strings.Join(hits, ", "))
}
