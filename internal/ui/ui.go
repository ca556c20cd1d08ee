// Package ui serves groundcrew's server-rendered web pages.
package ui

import (
	"log/slog"
	"net/http"

	"groundcrew.dev/groundcrew/internal/catalog"
	"groundcrew.dev/groundcrew/internal/clock"
	"groundcrew.dev/groundcrew/internal/db"
	"groundcrew.dev/groundcrew/internal/identity"
)

// Config holds what the UI needs.
type Config struct {
	DB            *db.DB
	Identity      *identity.Service
	Catalog       *catalog.Catalog
	Logger        *slog.Logger
	Version       string
	Clock         clock.Clock
	SecureCookies bool // set the Secure flag on cookies (HTTPS)
}

// New returns the UI handler, mounted at "/".
func New(cfg Config) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "the web UI is being built", http.StatusNotImplemented)
	})
}
