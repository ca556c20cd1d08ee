// Package api is groundcrew's JSON API under /api/v1, built with huma on
// the standard library router so that the OpenAPI 3.1 document
// (/api/v1/openapi.json) is generated from the handlers and never drifts.
//
// Handlers parse, call one service method and render; services decide and
// authorize. Errors are RFC 9457 problem details naming the field at fault.
package api

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"

	"groundcrew.dev/groundcrew/internal/apply"
	"groundcrew.dev/groundcrew/internal/catalog"
	"groundcrew.dev/groundcrew/internal/check"
	"groundcrew.dev/groundcrew/internal/check/probe"
	"groundcrew.dev/groundcrew/internal/db"
	"groundcrew.dev/groundcrew/internal/errs"
	"groundcrew.dev/groundcrew/internal/fleet"
	"groundcrew.dev/groundcrew/internal/identity"
	"groundcrew.dev/groundcrew/internal/maintenance"
	"groundcrew.dev/groundcrew/internal/notify"
	"groundcrew.dev/groundcrew/internal/statuspage"
)

// Prefix is where the API is mounted.
const Prefix = "/api/v1"

// MaxBodyBytes bounds request bodies; apply takes ApplyMaxBodyBytes.
const (
	MaxBodyBytes      = 1 << 20
	ApplyMaxBodyBytes = 16 << 20
)

// Config holds what the API needs. All fields are required.
type Config struct {
	DB       *db.DB
	Identity *identity.Service
	Catalog  *catalog.Catalog
	Registry *apply.Registry
	Checks   *check.Service
	// StatusPages manages status pages and their notices.
	StatusPages *statuspage.Service
	// Maintenance manages maintenance windows.
	Maintenance *maintenance.Service
	// Fleet manages agent enrollment tokens and agents.
	Fleet *fleet.Service
	// Notify manages notification receivers and deliveries.
	Notify  *notify.Service
	Logger  *slog.Logger
	Version string
	BaseURL string // the URL people reach the server at, for links in responses
}

// API serves /api/v1.
type API struct {
	cfg  Config
	huma huma.API
	log  *slog.Logger
}

// New registers every operation on mux under Prefix and returns the API.
func New(mux humago.Mux, cfg Config) *API {
	hc := huma.DefaultConfig("groundcrew", cfg.Version)
	hc.Components.Schemas = huma.NewMapRegistry("#/components/schemas/", newSchemaNamer())
	// Durations travel as Go duration strings ("30s"), not nanoseconds.
	hc.Components.Schemas.RegisterTypeAlias(reflect.TypeFor[probe.Duration](), reflect.TypeFor[string]())
	hc.Components.Schemas.RegisterTypeAlias(reflect.TypeFor[notify.Duration](), reflect.TypeFor[string]())
	hc.CreateHooks = nil // no $schema links in bodies: plain JSON that `get -o json` can print
	hc.DocsPath = "/docs"
	hc.OpenAPI.Servers = []*huma.Server{{URL: Prefix}}
	hc.OpenAPI.Info.Description = "groundcrew: the self-hosted Ops platform. Authenticate with `Authorization: Bearer gct_…` (an API token) or a session cookie."
	hc.Components.SecuritySchemes = map[string]*huma.SecurityScheme{
		"bearer":  {Type: "http", Scheme: "bearer"},
		"session": {Type: "apiKey", In: "cookie", Name: identity.SessionCookie},
	}
	hc.Security = []map[string][]string{{"bearer": {}}, {"session": {}}}
	a := &API{cfg: cfg, log: cfg.Logger}
	a.huma = humago.NewWithPrefix(mux, Prefix, hc)
	a.registerIdentity()
	a.registerCatalog()
	a.registerAudit()
	a.registerApply()
	a.registerChecks()
	a.registerMaintenance()
	a.registerStatusPages()
	a.registerFleet()
	a.registerReceivers()
	return a
}

// OpenAPI returns the generated OpenAPI document.
func (a *API) OpenAPI() *huma.OpenAPI { return a.huma.OpenAPI() }

// newSchemaNamer names schemas like huma does, but when two packages have a
// type of the same name (check.Result, apply.Result) the later one gets its
// package name in front (CheckResult).
func newSchemaNamer() func(t reflect.Type, hint string) string {
	var mu sync.Mutex
	seen := map[string]reflect.Type{}
	return func(t reflect.Type, hint string) string {
		name := huma.DefaultSchemaNamer(t, hint)
		mu.Lock()
		defer mu.Unlock()
		base := t
		for base.Kind() == reflect.Pointer {
			base = base.Elem()
		}
		if prev, ok := seen[name]; ok && prev != base {
			pkg := base.PkgPath()
			pkg = pkg[strings.LastIndexByte(pkg, '/')+1:]
			if pkg != "" {
				name = strings.ToUpper(pkg[:1]) + pkg[1:] + name
			}
		}
		seen[name] = base
		return name
	}
}

// fail turns a service error into a problem-details response. Internal
// errors are logged with details and shown without.
func (a *API) fail(ctx context.Context, err error) error {
	code := errs.CodeOf(err)
	status := errs.HTTPStatus(code)
	if code == errs.Internal {
		if errors.Is(err, context.DeadlineExceeded) {
			return huma.NewError(http.StatusServiceUnavailable, "the request took too long")
		}
		a.log.ErrorContext(ctx, "internal error", "err", err)
		return huma.NewError(http.StatusInternalServerError, "internal error; see the server log")
	}
	msg := errs.MessageOf(err)
	if field := errs.FieldOf(err); field != "" {
		return huma.NewError(status, msg, &huma.ErrorDetail{Message: msg, Location: "body." + field})
	}
	return huma.NewError(status, msg)
}

// Authenticate resolves the caller from a bearer token or a session cookie
// and puts the Actor into the request context. Invalid credentials are
// refused with 401 right away; requests without any credentials continue
// anonymously and the services refuse what needs an actor.
func Authenticate(ids *identity.Service, log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		addr := ClientAddr(r)
		var actor *identity.Actor
		var err error
		if h := r.Header.Get("Authorization"); h != "" {
			scheme, secret, _ := strings.Cut(h, " ")
			if !strings.EqualFold(scheme, "Bearer") {
				writeProblem(w, http.StatusUnauthorized, "use Authorization: Bearer <API token>")
				return
			}
			actor, err = ids.TokenActor(r.Context(), strings.TrimSpace(secret), addr)
		} else if c, cerr := r.Cookie(identity.SessionCookie); cerr == nil {
			actor, err = ids.SessionActor(r.Context(), c.Value, addr)
		}
		if err != nil {
			if errs.CodeOf(err) == errs.Internal {
				log.ErrorContext(r.Context(), "authenticate", "err", err)
				writeProblem(w, http.StatusServiceUnavailable, "cannot check credentials right now")
				return
			}
			writeProblem(w, http.StatusUnauthorized, errs.MessageOf(err))
			return
		}
		if actor != nil {
			r = r.WithContext(identity.WithActor(r.Context(), actor))
		}
		next.ServeHTTP(w, r)
	})
}

func writeProblem(w http.ResponseWriter, status int, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="groundcrew"`)
	}
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"title":%q,"status":%d,"detail":%q}`, http.StatusText(status), status, detail)
}

// ClientAddr returns the address of the peer that sent r.
func ClientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// Page is the body of every list response.
type Page[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor,omitempty" doc:"pass as ?cursor= to get the next page; absent on the last page"`
}

// PageOutput is a list response.
type PageOutput[T any] struct {
	Body Page[T]
}

// ListParams are the query parameters of every list.
type ListParams struct {
	Q      string `query:"q" maxLength:"200" doc:"case-insensitive search in names and titles"`
	Limit  int    `query:"limit" minimum:"0" maximum:"1000" default:"100" doc:"page size"`
	Cursor string `query:"cursor" maxLength:"400" doc:"next_cursor of the previous page"`
}

// Options returns the service list options, or an error for a bad cursor.
func (p ListParams) Options() (identity.ListOptions, error) {
	after := ""
	if p.Cursor != "" {
		b, err := base64.RawURLEncoding.DecodeString(p.Cursor)
		if err != nil {
			return identity.ListOptions{}, huma.NewError(http.StatusUnprocessableEntity, "invalid cursor",
				&huma.ErrorDetail{Location: "query.cursor", Message: "is not a cursor this API returned", Value: p.Cursor})
		}
		after = string(b)
	}
	return identity.ListOptions{Query: p.Q, After: after, Limit: p.Limit}, nil
}

func page[T any](items []T, next string) *PageOutput[T] {
	if items == nil {
		items = []T{}
	}
	out := &PageOutput[T]{Body: Page[T]{Items: items}}
	if next != "" {
		out.Body.NextCursor = base64.RawURLEncoding.EncodeToString([]byte(next))
	}
	return out
}

// NameParam is the {name} path parameter.
type NameParam struct {
	Name string `path:"name" maxLength:"63"`
}

// ETag returns the entity tag of a revision.
func ETag(revision int64) string { return `"` + strconv.FormatInt(revision, 10) + `"` }

// IfMatch is the If-Match request header guarding updates and deletes.
type IfMatch struct {
	IfMatch string `header:"If-Match" doc:"the ETag of the version you read; a changed object answers 412"`
}

// Revision returns the revision If-Match names: 0 when absent or "*".
func (m IfMatch) Revision() (int64, error) {
	v := strings.TrimSpace(m.IfMatch)
	if v == "" || v == "*" {
		return 0, nil
	}
	v = strings.TrimPrefix(v, "W/")
	n, err := strconv.ParseInt(strings.Trim(v, `"`), 10, 64)
	if err != nil || n <= 0 {
		return 0, huma.NewError(http.StatusPreconditionFailed, "If-Match does not name a version of this object",
			&huma.ErrorDetail{Location: "header.If-Match", Message: "is not an ETag this API returned", Value: m.IfMatch})
	}
	return n, nil
}

// Timeout bounds how long one API request may take.
func Timeout(d time.Duration, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), d)
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}
