package metric_test

import (
	"testing"

	"groundcrew.dev/groundcrew/internal/doccheck"
)

// TestDocComments fails when the package lacks a package comment or an
// exported name lacks a doc comment.
func TestDocComments(t *testing.T) {
	doccheck.Check(t, ".", doccheck.Options{})
}
