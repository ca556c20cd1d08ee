// Package signedlink serves the signed action links of notifications
// ("acknowledge", "resolve"): a GET shows what the link will do and asks to
// confirm — mail scanners and chat previews follow links, and must not
// acknowledge anything — and a POST of the confirmation form does it. The
// signature in the link is the credential; the caller checks it.
package signedlink

import (
	"context"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"groundcrew.dev/groundcrew/internal/errs"
)

// Action is how the confirmation page words one action.
type Action struct {
	Title    string // "Acknowledge alert"
	Question string // "Acknowledge this alert? Escalation for it stops."
	Button   string // "Acknowledge"
	Done     string // "Acknowledged" (followed by ": " and the summary)
}

// Spec is what a Handler serves.
type Spec struct {
	// Prefix is where the handler is mounted ("/a/"); links are
	// Prefix + action + "/" + id + "?exp=…&sig=…".
	Prefix string
	// Actions are the actions links may name.
	Actions map[string]Action
	// Describe verifies the link and returns a one-line summary of what
	// it acts on.
	Describe func(ctx context.Context, action, id, exp, sig string) (string, error)
	// Act verifies the link and does the action for a client at addr; it
	// returns the summary.
	Act func(ctx context.Context, action, id, exp, sig, addr string) (string, error)
	// Where names the place to go instead when a link fails ("the
	// alert").
	Where string
}

var page = template.Must(template.New("link").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} — groundcrew</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;color-scheme:light dark}
button{font:inherit;padding:.5rem 1rem}</style></head>
<body><main><h1>{{.Title}}</h1>
{{if .Error}}<p role="alert">{{.Error}}</p>
{{else if .Done}}<p>{{.Done}}</p>
{{else}}<p>{{.Question}}</p><p><strong>{{.Summary}}</strong></p>
<form method="post"><input type="hidden" name="exp" value="{{.Exp}}"><input type="hidden" name="sig" value="{{.Sig}}">
<button type="submit">{{.Button}}</button></form>{{end}}
</main></body></html>`))

type view struct {
	Action
	Summary, Exp, Sig, Error, Done string
}

// Handler serves spec's links.
func Handler(spec Spec) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		parts := strings.Split(strings.TrimPrefix(r.URL.Path, spec.Prefix), "/")
		if len(parts) != 2 {
			http.NotFound(w, r)
			return
		}
		action, id := parts[0], parts[1]
		a, ok := spec.Actions[action]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Referrer-Policy", "no-referrer") // the signature is in the URL
		v := view{Action: a}
		render := func(status int) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.WriteHeader(status)
			_ = page.Execute(w, v)
		}
		fail := func(err error) {
			v.Error = errs.MessageOf(err)
			if errs.CodeOf(err) == errs.Internal {
				v.Error = "something went wrong; try again or open " + spec.Where + " in groundcrew"
			}
			render(errs.HTTPStatus(errs.CodeOf(err)))
		}
		switch r.Method {
		case http.MethodGet, http.MethodHead:
			q := r.URL.Query()
			summary, err := spec.Describe(r.Context(), action, id, q.Get("exp"), q.Get("sig"))
			if err != nil {
				fail(err)
				return
			}
			v.Summary, v.Exp, v.Sig = summary, q.Get("exp"), q.Get("sig")
			render(http.StatusOK)
		case http.MethodPost:
			r.Body = http.MaxBytesReader(w, r.Body, 4096)
			if err := r.ParseForm(); err != nil {
				http.Error(w, "bad form", http.StatusBadRequest)
				return
			}
			summary, err := spec.Act(r.Context(), action, id, r.PostForm.Get("exp"), r.PostForm.Get("sig"), ClientAddr(r))
			if err != nil {
				fail(err)
				return
			}
			v.Done = a.Done + ": " + summary
			render(http.StatusOK)
		default:
			w.Header().Set("Allow", "GET, POST")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		}
	})
}

// ClientAddr is the request's client address without the port.
func ClientAddr(r *http.Request) string {
	host := r.RemoteAddr
	if i := strings.LastIndexByte(host, ':'); i > 0 {
		host = host[:i]
	}
	return strings.Trim(host, "[]")
}

// Signer signs and verifies messages; secret.Box implements it.
type Signer interface {
	Sign(msg string) string
	Verify(msg, sig string) bool
}

// Links makes and checks the signed links of one kind of object.
type Links struct {
	Signer Signer
	// Kind prefixes the signed message ("page/"), so a link for one kind
	// of object is no good for another; "" for alerts (links out there
	// were signed without one).
	Kind string
	// Actions are the actions a link may name.
	Actions []string
	// Bad is the error for a forged, altered or expired link.
	Bad error
}

func (l Links) message(action string, id uuid.UUID, exp int64) string {
	return l.Kind + action + "/" + id.String() + "/" + strconv.FormatInt(exp, 10)
}

// URL returns base + prefix + action/id?exp=…&sig=…, valid until exp.
func (l Links) URL(base, prefix, action string, id uuid.UUID, exp time.Time) string {
	e := exp.Unix()
	return fmt.Sprintf("%s%s%s/%s?exp=%d&sig=%s", strings.TrimRight(base, "/"), prefix, action, id, e, l.Signer.Sign(l.message(action, id, e)))
}

// Check verifies a link's parts at now and returns the object's id.
func (l Links) Check(now time.Time, action, id, exp, sig string) (uuid.UUID, error) {
	if l.Signer == nil || !slices.Contains(l.Actions, action) {
		return uuid.Nil, l.Bad
	}
	oid, err := uuid.Parse(id)
	if err != nil {
		return uuid.Nil, l.Bad
	}
	e, err := strconv.ParseInt(exp, 10, 64)
	if err != nil || !l.Signer.Verify(l.message(action, oid, e), sig) || now.Unix() > e {
		return uuid.Nil, l.Bad
	}
	return oid, nil
}
