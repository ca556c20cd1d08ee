// Package ui serves groundcrew's server-rendered web pages: html/template
// pages and a stylesheet embedded in the binary, forms that work without
// JavaScript, and a small script that only enhances.
//
// Handlers parse the request, call one service method and render; the
// services authorize. The UI hides buttons an actor cannot use, but never
// relies on that for security.
package ui

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"groundcrew.dev/groundcrew/internal/alert"
	"groundcrew.dev/groundcrew/internal/catalog"
	"groundcrew.dev/groundcrew/internal/check"
	"groundcrew.dev/groundcrew/internal/clock"
	"groundcrew.dev/groundcrew/internal/db"
	"groundcrew.dev/groundcrew/internal/errs"
	"groundcrew.dev/groundcrew/internal/identity"
	"groundcrew.dev/groundcrew/internal/incident"
	"groundcrew.dev/groundcrew/internal/notify"
	"groundcrew.dev/groundcrew/internal/oncall"
	paging "groundcrew.dev/groundcrew/internal/oncall/pager"
)

//go:embed templates static
var files embed.FS

// Config holds what the UI needs. DB, Identity, Catalog and Checks are
// required; a nil Logger discards, a nil Clock is the real clock. Without
// Alerts the alerting pages say they are not found; without Notify the
// deliveries page says notifications are off; without OnCall the on-call
// pages are not found and service pages leave out who is on call.
type Config struct {
	DB            *db.DB
	Identity      *identity.Service
	Catalog       *catalog.Catalog
	Checks        *check.Service
	Alerts        *alert.Service
	Notify        *notify.Service
	OnCall        *oncall.Service
	Incidents     *incident.Service // without it the incident pages are not found
	Pager         *paging.Pager     // without it the page pages are not found
	Logger        *slog.Logger
	Version       string
	Clock         clock.Clock
	SecureCookies bool // set the Secure flag on cookies (HTTPS)
	// BaseURL is the server's public URL, for heartbeat ping URLs; empty
	// (or ending in port 0) means the URL the request reached.
	BaseURL string
}

const (
	maxFormBytes   = 1 << 20 // bound on every form body
	requestTimeout = 30 * time.Second
	flashCookie    = "groundcrew_flash"
	listLimit      = 50   // rows per page of a list
	choiceLimit    = 1000 // options offered in a select
)

// securityHeaders go on every UI response.
var securityHeaders = map[string]string{
	"Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
		"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
	"X-Content-Type-Options": "nosniff",
	"Referrer-Policy":        "same-origin",
	"X-Frame-Options":        "DENY",
}

// UI serves the web pages. Safe for concurrent use.
type UI struct {
	cfg     Config
	ids     *identity.Service
	cat     *catalog.Catalog
	checks  *check.Service
	log     *slog.Logger
	clock   clock.Clock
	pages   map[string]*template.Template
	statics map[string]string // file name → content hash, for cache-busting URLs
}

// New returns the UI handler, mounted at "/". It panics when the embedded
// templates do not parse, which tests catch.
func New(cfg Config) http.Handler {
	u := &UI{cfg: cfg, ids: cfg.Identity, cat: cfg.Catalog, checks: cfg.Checks, log: cfg.Logger, clock: cfg.Clock}
	if u.log == nil {
		u.log = slog.New(slog.DiscardHandler)
	}
	if u.clock == nil {
		u.clock = clock.Real{}
	}
	u.statics = hashStatics()
	u.pages = u.parsePages()
	addAlertPartials(u.pages)
	addOnCallPartials(u.pages)
	return u.routes()
}

// handlerFunc is a page handler; a returned error is rendered by fail.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

func (u *UI) routes() http.Handler {
	mux := http.NewServeMux()
	static, _ := fs.Sub(files, "static")
	mux.Handle("GET /static/", http.StripPrefix("/static/", cacheStatic(http.FileServerFS(static))))
	public := func(pattern string, h handlerFunc) { mux.Handle(pattern, u.serve(h)) }
	private := func(pattern string, h handlerFunc) { mux.Handle(pattern, u.requireSession(u.serve(h))) }

	public("GET /login", u.loginPage)
	public("POST /login", u.login)
	public("POST /logout", u.logout)
	public("GET /setup", u.setupPage)
	public("POST /setup", u.setup)

	private("GET /{$}", u.home)
	private("GET /services", u.listServices)
	private("GET /services/new", u.newService)
	private("POST /services/new", u.createService)
	private("GET /services/{name}", u.showService)
	private("GET /services/{name}/edit", u.editService)
	private("POST /services/{name}/edit", u.updateService)
	private("GET /checks", u.listChecks)
	private("GET /checks/new", u.newCheck)
	private("POST /checks/new", u.createCheck)
	private("GET /checks/{name}", u.showCheck)
	private("GET /checks/{name}/edit", u.editCheck)
	private("POST /checks/{name}/edit", u.updateCheck)
	private("POST /checks/{name}/pause", u.pauseCheck)
	private("POST /checks/{name}/ping-url", u.rotatePing)
	private("GET /alerts", u.listAlerts)
	private("GET /alerts/routes", u.showRoutes)
	private("GET /alerts/routes/new", u.newRoute)
	private("POST /alerts/routes/new", u.createRoute)
	private("GET /alerts/routes/{name}/edit", u.editRoute)
	private("POST /alerts/routes/{name}/edit", u.updateRoute)
	private("POST /alerts/routes/{name}/delete", u.deleteRoute)
	private("GET /alerts/inhibit-rules/new", u.newInhibitRule)
	private("POST /alerts/inhibit-rules/new", u.createInhibitRule)
	private("GET /alerts/inhibit-rules/{name}/edit", u.editInhibitRule)
	private("POST /alerts/inhibit-rules/{name}/edit", u.updateInhibitRule)
	private("POST /alerts/inhibit-rules/{name}/delete", u.deleteInhibitRule)
	private("GET /alerts/deliveries", u.listDeliveries)
	private("GET /alerts/{id}", u.showAlert)
	private("GET /silences", u.listSilences)
	private("POST /silences", u.createSilence)
	private("POST /silences/{id}/expire", u.expireSilence)
	private("GET /oncall", u.onCallPage)
	private("POST /oncall/feed", u.createFeed)
	private("GET /oncall/schedules/{name}", u.showSchedule)
	private("GET /oncall/policies", u.listPolicies)
	private("GET /oncall/policies/{name}", u.showPolicy)
	private("GET /oncall/schedules/{name}/swaps", u.listScheduleSwaps)
	private("POST /oncall/swaps/{id}/{action}", u.actOnSwap)
	private("GET /oncall/pages", u.listPages)
	private("GET /oncall/pages/{id}", u.showPage)
	private("POST /oncall/pages/{id}/{action}", u.actOnPage)
	private("GET /oncall/load", u.showLoad)
	private("GET /incidents", u.listIncidents)
	private("GET /incidents/report", u.showIncidentReport)
	private("POST /incidents", u.declareIncident)
	private("GET /incidents/{number}", u.showIncident)
	private("POST /incidents/{number}/update", u.updateIncident)
	private("POST /incidents/{number}/notes", u.addIncidentNote)
	private("POST /incidents/{number}/roles", u.assignIncidentRole)
	private("GET /teams", u.listTeams)
	private("GET /teams/{name}", u.showTeam)
	private("GET /environments", u.listEnvironments)
	private("GET /environments/{name}", u.showEnvironment)
	private("GET /tools", u.listTools)
	private("GET /tools/{name}", u.showTool)
	private("GET /users", u.listUsers)
	private("POST /users", u.createUser)
	private("GET /users/{name}", u.showUser)
	private("POST /users/{name}", u.updateUser)
	private("GET /account", u.account)
	private("GET /tokens", func(w http.ResponseWriter, r *http.Request) error {
		http.Redirect(w, r, "/account#tokens", http.StatusSeeOther)
		return nil
	})
	private("POST /account/tokens", u.createToken)
	private("POST /account/tokens/{name}/revoke", u.revokeToken)
	private("POST /account/password", u.changePassword)
	private("GET /audit", u.auditLog)
	private("/", func(w http.ResponseWriter, r *http.Request) error {
		return errs.NotFoundf("there is no page at %s", r.URL.Path)
	})
	return withSecurityHeaders(withTimeout(mux))
}

// withTimeout bounds the time of a request, session lookup included.
func withTimeout(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

func withSecurityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for k, v := range securityHeaders {
			w.Header().Set(k, v)
		}
		next.ServeHTTP(w, r)
	})
}

// cacheStatic lets browsers keep static files: their URLs carry a content
// hash (see staticURL), so a new version has a new URL.
func cacheStatic(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("v") != "" {
			w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			w.Header().Set("Cache-Control", "no-cache")
		}
		next.ServeHTTP(w, r)
	})
}

func hashStatics() map[string]string {
	out := map[string]string{}
	entries, _ := fs.ReadDir(files, "static")
	for _, e := range entries {
		b, _ := fs.ReadFile(files, "static/"+e.Name())
		sum := sha256.Sum256(b)
		out[e.Name()] = hex.EncodeToString(sum[:6])
	}
	return out
}

// serve adapts a handlerFunc: it bounds and parses forms, and renders a
// returned error.
func (u *UI) serve(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
			if err := r.ParseForm(); err != nil {
				var tooBig *http.MaxBytesError
				if errors.As(err, &tooBig) {
					u.fail(w, r, errs.E(errs.TooLarge, "the form is larger than %d bytes", maxFormBytes))
					return
				}
				u.errorPage(w, r, http.StatusBadRequest, "Bad request", "The form could not be read.")
				return
			}
		}
		if err := h(w, r); err != nil {
			u.fail(w, r, err)
		}
	})
}

// requireSession resolves the session cookie into an Actor in the request
// context, or sends the browser to the login page.
func (u *UI) requireSession(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, err := u.sessionActor(r)
		if errs.Is(err, errs.Internal) {
			u.log.ErrorContext(r.Context(), "ui: resolve session", "err", err)
			u.errorPage(w, r, http.StatusServiceUnavailable, "Unavailable", "Cannot check your session right now; try again shortly.")
			return
		}
		if err != nil {
			u.clearCookie(w, identity.SessionCookie)
			u.toLogin(w, r)
			return
		}
		next.ServeHTTP(w, r.WithContext(identity.WithActor(r.Context(), a)))
	})
}

func (u *UI) sessionActor(r *http.Request) (*identity.Actor, error) {
	c, err := r.Cookie(identity.SessionCookie)
	if err != nil || c.Value == "" {
		return nil, errs.Unauthorizedf("no session")
	}
	return u.ids.SessionActor(r.Context(), c.Value, clientAddr(r))
}

// toLogin redirects to the login page, which returns to this page after.
func (u *UI) toLogin(w http.ResponseWriter, r *http.Request) {
	target := "/login"
	if next := r.URL.RequestURI(); r.Method == http.MethodGet && next != "/" {
		target += "?next=" + url.QueryEscape(next)
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// localPath returns next when it is a path on this site, else "/": the
// login page must not become an open redirect.
func localPath(next string) string {
	if next == "" || next[0] != '/' || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n\t") {
		return "/"
	}
	p, err := url.Parse(next)
	if err != nil || p.Scheme != "" || p.Host != "" || p.User != nil {
		return "/"
	}
	return p.RequestURI()
}

func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// setCookie sets an HttpOnly, SameSite=Lax cookie on the whole site.
func (u *UI) setCookie(w http.ResponseWriter, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: u.cfg.SecureCookies, SameSite: http.SameSiteLaxMode})
}

func (u *UI) clearCookie(w http.ResponseWriter, name string) { u.setCookie(w, name, "", -1) }

// redirect sends the browser to target after a successful form, with a
// one-time message shown on the next page.
func (u *UI) redirect(w http.ResponseWriter, r *http.Request, target, flash string) {
	if flash != "" {
		u.setCookie(w, flashCookie, base64.RawURLEncoding.EncodeToString([]byte(flash)), 60)
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// takeFlash returns and clears the one-time message, if any.
func (u *UI) takeFlash(w http.ResponseWriter, r *http.Request) string {
	c, err := r.Cookie(flashCookie)
	if err != nil {
		return ""
	}
	u.clearCookie(w, flashCookie)
	b, err := base64.RawURLEncoding.DecodeString(c.Value)
	if err != nil || len(b) > 300 {
		return ""
	}
	return string(b)
}

// view is what every page template receives.
type view struct {
	Title   string
	Nav     string // first path segment, to mark the current section
	Actor   *identity.Actor
	Version string
	Flash   string
	D       any // the page's own data
}

// render executes page into a buffer first, so that a template error
// becomes a clean 500 page instead of half a page.
func (u *UI) render(w http.ResponseWriter, r *http.Request, status int, page, title string, data any) {
	t, ok := u.pages[page]
	if !ok {
		panic("ui: no page template " + page)
	}
	v := view{Title: title, Actor: identity.ActorFrom(r.Context()), Version: u.cfg.Version, D: data}
	v.Nav, _, _ = strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	if v.Actor != nil {
		v.Flash = u.takeFlash(w, r)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", v); err != nil {
		u.log.ErrorContext(r.Context(), "ui: render", "page", page, "err", err)
		http.Error(w, "internal error: the page could not be rendered", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

type errorData struct {
	Status  int
	Heading string
	Message string
}

func (u *UI) errorPage(w http.ResponseWriter, r *http.Request, status int, heading, msg string) {
	u.render(w, r, status, "error", heading, errorData{Status: status, Heading: heading, Message: msg})
}

// fail renders err as a page: the one place that maps error codes to
// pages. Internal errors are logged with details and shown without.
func (u *UI) fail(w http.ResponseWriter, r *http.Request, err error) {
	code := errs.CodeOf(err)
	status := errs.HTTPStatus(code)
	switch code {
	case errs.Unauthorized:
		u.toLogin(w, r)
	case errs.Forbidden:
		u.errorPage(w, r, status, "Not allowed", errs.MessageOf(err))
	case errs.NotFound:
		u.errorPage(w, r, status, "Not found", errs.MessageOf(err))
	case errs.Internal:
		if errors.Is(err, context.DeadlineExceeded) {
			u.errorPage(w, r, http.StatusServiceUnavailable, "Too slow", "The request took too long; try again.")
			return
		}
		u.log.ErrorContext(r.Context(), "ui: internal error", "path", r.URL.Path, "err", err)
		u.errorPage(w, r, status, "Something went wrong", "An internal error occurred; the server log has the details.")
	default:
		u.errorPage(w, r, status, http.StatusText(status), errs.MessageOf(err))
	}
}
