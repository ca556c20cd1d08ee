// Package names checks the names people give to things in groundcrew.
//
// Every named object (team, user, service, environment, tool, …) uses a
// DNS label: lowercase letters, digits and '-', 1 to 63 characters, starting
// and ending with a letter or digit. Such names are safe in URLs, YAML keys,
// label values and host names without escaping.
package names

import (
	"regexp"

	"groundcrew.dev/groundcrew/internal/errs"
)

var label = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// Valid reports whether s is a valid name.
func Valid(s string) bool { return label.MatchString(s) }

// reserved are names the web UI uses as paths (/services/new).
var reserved = map[string]bool{"new": true}

// Check returns an errs.Invalid error naming field when s is not a valid name.
func Check(field, s string) error {
	if s == "" {
		return errs.Invalidf(field, "is required")
	}
	if reserved[s] {
		return errs.Invalidf(field, "%q is reserved; choose another name", s)
	}
	if !Valid(s) {
		return errs.Invalidf(field, "%q is not a valid name: use lowercase letters, digits and '-', 1-63 characters, starting and ending with a letter or digit", s)
	}
	return nil
}
