package statuspage

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"groundcrew.dev/groundcrew/internal/check"
	"groundcrew.dev/groundcrew/internal/errs"
	"groundcrew.dev/groundcrew/internal/names"
)

//go:embed templates static
var files embed.FS

// Public caching: how long a computed page is reused, and what browsers
// and proxies are told.
const (
	DefaultCacheTTL  = 10 * time.Second
	pageCacheControl = "public, max-age=10"
	// Badges change less often than anyone looks at them.
	badgeCacheControl = "public, max-age=60"
	// The stylesheet URL carries its content hash.
	staticCacheControl = "public, max-age=31536000, immutable"
	computeTimeout     = 20 * time.Second
)

// publicHeaders go on every public response: no scripts, no framing, no
// referrer beyond this site.
var publicHeaders = map[string]string{
	"Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
	"X-Content-Type-Options":  "nosniff",
	"Referrer-Policy":         "same-origin",
}

// HandlerOptions configure a Handler. The zero value is a safe default.
type HandlerOptions struct {
	// CacheTTL is how long a computed page is reused; default
	// DefaultCacheTTL.
	CacheTTL time.Duration
	Logger   *slog.Logger
}

// Handler serves the public side: the status pages, their JSON, and the
// check badges. It needs no session and shows only what the pages show.
// Safe for concurrent use.
type Handler struct {
	svc      *Service
	log      *slog.Logger
	page     *template.Template
	pages    *cache[*rendered]
	css      []byte
	cssHash  string
	notFound []byte
}

// rendered is a computed page in every form it is served in.
type rendered struct {
	html, gz, json        []byte
	etag, gzETag, jsonTag string
}

// NewHandler returns the public handler over svc and makes svc's changes
// drop the pages it cached. It panics when the embedded templates do not
// parse, which tests catch.
func NewHandler(svc *Service, opts HandlerOptions) *Handler {
	if opts.CacheTTL <= 0 {
		opts.CacheTTL = DefaultCacheTTL
	}
	if opts.Logger == nil {
		opts.Logger = svc.log
	}
	css, err := files.ReadFile("static/style.css")
	if err != nil {
		panic(err)
	}
	h := &Handler{svc: svc, log: opts.Logger, css: css, cssHash: etagOf(css)}
	h.page = template.Must(template.New("page.html").Funcs(template.FuncMap{
		"css":     func() string { return "/status/-/style.css?v=" + strings.Trim(h.cssHash, `"`) },
		"percent": percentText,
		"bars":    bars,
		"time":    timeText,
		"date":    func(t time.Time) string { return t.UTC().Format("Jan 2, 2006") },
		"join":    strings.Join,
		"ended":   closedAt,
	}).ParseFS(files, "templates/*.html"))
	h.pages = newCache[*rendered](opts.CacheTTL, svc.clock)
	h.notFound = h.mustRender("notfound", nil)
	svc.SetChanged(h.pages.forget)
	return h
}

// Register adds the public routes to mux:
//
//	GET /status/{name}                        the page
//	GET /status/{name}/status.json            the same as JSON
//	GET /status/-/style.css                   its stylesheet
//	GET /badge/check/{name}/status.svg        a check's status badge
//	GET /badge/check/{name}/uptime.svg        a check's uptime badge (?window=30d, ?label=)
func (h *Handler) Register(mux *http.ServeMux) {
	mux.Handle("GET /status/{name}", h.public(h.servePage))
	mux.Handle("GET /status/{name}/status.json", h.public(h.serveJSON))
	mux.Handle("GET /status/-/style.css", h.public(h.serveCSS))
	mux.Handle("GET /badge/check/{name}/status.svg", h.public(h.serveStatusBadge))
	mux.Handle("GET /badge/check/{name}/uptime.svg", h.public(h.serveUptimeBadge))
}

func (h *Handler) public(next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for k, v := range publicHeaders {
			w.Header().Set(k, v)
		}
		next(w, r)
	})
}

// rendered returns the page called name, computed at most once per TTL.
func (h *Handler) rendered(r *http.Request, name string) (*rendered, error) {
	if !names.Valid(name) {
		return nil, errs.NotFoundf("no status page %q", name)
	}
	return h.pages.get(r.Context(), name, func() (*rendered, error) {
		// The computation serves every waiting request: it must not end
		// with the request that started it.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), computeTimeout)
		defer cancel()
		v, err := h.svc.Public(ctx, name)
		if err != nil {
			return nil, err
		}
		return h.render(v)
	})
}

func (h *Handler) render(v View) (*rendered, error) {
	var buf bytes.Buffer
	if err := h.page.ExecuteTemplate(&buf, "page", v); err != nil {
		return nil, err
	}
	out := &rendered{html: buf.Bytes()}
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	zw.Write(out.html)
	zw.Close()
	out.gz = gz.Bytes()
	out.etag = etagOf(out.html)
	out.gzETag = strings.TrimSuffix(out.etag, `"`) + `-gz"`
	j, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return nil, err
	}
	out.json = append(j, '\n')
	out.jsonTag = etagOf(out.json)
	return out, nil
}

func (h *Handler) servePage(w http.ResponseWriter, r *http.Request) {
	p, err := h.rendered(r, r.PathValue("name"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Vary", "Accept-Encoding")
	body, etag := p.html, p.etag
	if acceptsGzip(r) {
		body, etag = p.gz, p.gzETag
		w.Header().Set("Content-Encoding", "gzip")
	}
	serve(w, r, "text/html; charset=utf-8", pageCacheControl, etag, body)
}

func (h *Handler) serveJSON(w http.ResponseWriter, r *http.Request) {
	p, err := h.rendered(r, r.PathValue("name"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	serve(w, r, "application/json", pageCacheControl, p.jsonTag, p.json)
}

func (h *Handler) serveCSS(w http.ResponseWriter, r *http.Request) {
	cc := "no-cache"
	if r.URL.Query().Get("v") != "" {
		cc = staticCacheControl
	}
	serve(w, r, "text/css; charset=utf-8", cc, h.cssHash, h.css)
}

func (h *Handler) serveStatusBadge(w http.ResponseWriter, r *http.Request) {
	label, err := cleanLabel(r.URL.Query().Get("label"), "status")
	if err != nil {
		h.fail(w, r, err)
		return
	}
	_, st, err := publicCheck(r.Context(), h.svc.db.Reader(), badgeName(r))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	value, color := statusBadge(check.Status(st))
	h.serveBadge(w, r, Badge(label, value, color))
}

func (h *Handler) serveUptimeBadge(w http.ResponseWriter, r *http.Request) {
	name := r.URL.Query().Get("window")
	window, err := ParseWindow(name)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if name == "" {
		name = "30d"
	}
	label, err := cleanLabel(r.URL.Query().Get("label"), "uptime "+name)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	q := h.svc.db.Reader()
	id, _, err := publicCheck(r.Context(), q, badgeName(r))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	since := h.svc.now().Add(-window).Truncate(time.Hour)
	runs, down, err := hourlyRuns(r.Context(), q, id, since)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	value, color := uptimeBadge(runs, down)
	h.serveBadge(w, r, Badge(label, value, color))
}

// badgeName returns the check name of a badge URL, or "" when it cannot
// be one (which no check has).
func badgeName(r *http.Request) string {
	if n := r.PathValue("name"); names.Valid(n) {
		return n
	}
	return ""
}

func (h *Handler) serveBadge(w http.ResponseWriter, r *http.Request, svg []byte) {
	w.Header().Set("Content-Security-Policy", "default-src 'none'")
	serve(w, r, "image/svg+xml; charset=utf-8", badgeCacheControl, etagOf(svg), svg)
}

// fail answers with a plain error: the public side says no more than
// "not found" or "bad request"; internal errors go to the log.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	w.Header().Set("Cache-Control", "no-cache")
	code := errs.CodeOf(err)
	switch code {
	case errs.NotFound:
		if strings.HasPrefix(r.URL.Path, "/status/") && !strings.HasSuffix(r.URL.Path, ".json") {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.WriteHeader(http.StatusNotFound)
			w.Write(h.notFound)
			return
		}
		http.Error(w, errs.MessageOf(err), http.StatusNotFound)
	case errs.Invalid:
		http.Error(w, errs.MessageOf(err), http.StatusBadRequest)
	default:
		if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
			return // the client left
		}
		h.log.ErrorContext(r.Context(), "status page", "path", r.URL.Path, "err", err)
		http.Error(w, "the status is not available right now; try again shortly", http.StatusServiceUnavailable)
	}
}

func (h *Handler) mustRender(name string, data any) []byte {
	var buf bytes.Buffer
	if err := h.page.ExecuteTemplate(&buf, name, data); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// serve writes body with its validators, or 304 Not Modified when the
// request's If-None-Match names etag.
func serve(w http.ResponseWriter, r *http.Request, contentType, cacheControl, etag string, body []byte) {
	hd := w.Header()
	hd.Set("Cache-Control", cacheControl)
	hd.Set("ETag", etag)
	if noneMatch(r.Header.Get("If-None-Match"), etag) {
		hd.Del("Content-Encoding")
		w.WriteHeader(http.StatusNotModified)
		return
	}
	hd.Set("Content-Type", contentType)
	hd.Set("Content-Length", strconv.Itoa(len(body)))
	w.Write(body)
}

// noneMatch reports whether an If-None-Match header names etag (weakly, as
// RFC 9110 asks for GET).
func noneMatch(header, etag string) bool {
	if header == "" {
		return false
	}
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" || t == etag {
			return true
		}
	}
	return false
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(coding), "gzip") {
			return strings.ReplaceAll(strings.TrimSpace(params), " ", "") != "q=0"
		}
	}
	return false
}

func etagOf(b []byte) string {
	sum := sha256.Sum256(b)
	return `"` + hex.EncodeToString(sum[:12]) + `"`
}
