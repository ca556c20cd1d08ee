package alert

import (
	"context"
	"database/sql"
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"groundcrew.dev/groundcrew/internal/audit"
	"groundcrew.dev/groundcrew/internal/db"
	"groundcrew.dev/groundcrew/internal/errs"
	"groundcrew.dev/groundcrew/internal/notify"
)

// Signer signs and verifies action links; secret.Box implements it.
type Signer interface {
	Sign(msg string) string
	Verify(msg, sig string) bool
}

// LinkTTL is how long the action links in a notification work.
const LinkTTL = 7 * 24 * time.Hour

// Link actions.
const (
	ActionAcknowledge = "ack"
	ActionResolve     = "resolve"
)

// SetLinks makes notifications carry signed acknowledge and resolve links
// under baseURL (groundcrew's address as people reach it), valid for
// LinkTTL. Call it before serving.
func (s *Service) SetLinks(signer Signer, baseURL string) {
	s.signer, s.baseURL = signer, strings.TrimRight(baseURL, "/")
}

func linkMessage(action string, id uuid.UUID, exp int64) string {
	return action + "/" + id.String() + "/" + strconv.FormatInt(exp, 10)
}

// ActionLinks returns the links of an alert's notification: signed,
// expiring acknowledge and resolve links (they work without an account:
// the signature is the credential) and a link to its page for silencing.
// Empty without SetLinks.
func (s *Service) ActionLinks(id uuid.UUID, now time.Time) notify.Links {
	if s.signer == nil || s.baseURL == "" || id == uuid.Nil {
		return notify.Links{}
	}
	exp := now.Add(LinkTTL).Unix()
	link := func(action string) string {
		return fmt.Sprintf("%s/a/%s/%s?exp=%d&sig=%s", s.baseURL, action, id, exp, s.signer.Sign(linkMessage(action, id, exp)))
	}
	return notify.Links{Acknowledge: link(ActionAcknowledge), Resolve: link(ActionResolve), Silence: s.baseURL + "/alerts/" + id.String()}
}

// errBadLink is returned for a link that is forged, altered or expired.
var errBadLink = errs.Forbiddenf("this link is not valid or has expired; open the alert in groundcrew instead")

// CheckLink verifies a signed link's parts.
func (s *Service) CheckLink(action, id, exp, sig string) (uuid.UUID, error) {
	if s.signer == nil || (action != ActionAcknowledge && action != ActionResolve) {
		return uuid.Nil, errBadLink
	}
	aid, err := uuid.Parse(id)
	if err != nil {
		return uuid.Nil, errBadLink
	}
	e, err := strconv.ParseInt(exp, 10, 64)
	if err != nil || !s.signer.Verify(linkMessage(action, aid, e), sig) || s.clock.Now().Unix() > e {
		return uuid.Nil, errBadLink
	}
	return aid, nil
}

// ActByLink acknowledges or resolves an alert through a signed link; the
// history and the audit log say so. Acknowledging an acknowledged alert
// or resolving a resolved one changes nothing.
func (s *Service) ActByLink(ctx context.Context, action, id, exp, sig, addr string) (Alert, error) {
	aid, err := s.CheckLink(action, id, exp, sig)
	if err != nil {
		return Alert{}, err
	}
	now := s.clock.Now()
	var out Alert
	err = s.db.InTx(ctx, func(tx *sql.Tx) error {
		a, err := scanAlert(tx.QueryRowContext(ctx, `SELECT `+alertColumns+` WHERE a.id = $1`, aid))
		if db.IsNoRows(err) {
			return errs.NotFoundf("no such alert")
		}
		if err != nil {
			return err
		}
		out = a
		if a.Status != Firing || (action == ActionAcknowledge && a.AcknowledgedAt != nil) {
			return nil
		}
		kind := EventAcknowledged
		switch action {
		case ActionAcknowledge:
			err = acknowledgeAlert(ctx, tx, aid, now)
			out.AcknowledgedAt = &now
		default:
			kind = EventResolved
			err = resolveAlert(ctx, tx, aid, now, now)
			out.Status, out.EndsAt = Resolved, &now
		}
		if err != nil {
			return err
		}
		if err := insertEvent(ctx, tx, aid, now, kind, "signed link", uuid.Nil, map[string]any{"via": "link in a notification"}); err != nil {
			return err
		}
		return audit.Append(ctx, tx, now, audit.Entry{Actor: audit.Actor{Name: "signed-link", Addr: addr}, Action: string(kind),
			ObjectKind: "alert", ObjectID: aid.String(), ObjectName: a.Summary})
	})
	return out, err
}

var linkPage = template.Must(template.New("link").Parse(`<!doctype html>
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

// LinkHandler serves the signed action links: GET shows what the link
// will do and asks to confirm (mail scanners follow links; they must not
// acknowledge), POST does it. Mount it at /a/.
func (s *Service) LinkHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/a/"), "/")
		if len(parts) != 2 {
			http.NotFound(w, r)
			return
		}
		action, id := parts[0], parts[1]
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Referrer-Policy", "no-referrer") // the signature is in the URL
		data := map[string]any{"Title": "Acknowledge alert", "Question": "Acknowledge this alert? Escalation for it stops.", "Button": "Acknowledge"}
		if action == ActionResolve {
			data = map[string]any{"Title": "Resolve alert", "Question": "Resolve this alert?", "Button": "Resolve"}
		}
		render := func(status int) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.WriteHeader(status)
			_ = linkPage.Execute(w, data)
		}
		switch r.Method {
		case http.MethodGet, http.MethodHead:
			q := r.URL.Query()
			aid, err := s.CheckLink(action, id, q.Get("exp"), q.Get("sig"))
			if err != nil {
				data["Error"] = errs.MessageOf(err)
				render(http.StatusForbidden)
				return
			}
			var summary string
			_ = s.db.Reader().QueryRowContext(r.Context(), `SELECT summary FROM alerts WHERE id = $1`, aid).Scan(&summary)
			data["Summary"], data["Exp"], data["Sig"] = summary, q.Get("exp"), q.Get("sig")
			render(http.StatusOK)
		case http.MethodPost:
			r.Body = http.MaxBytesReader(w, r.Body, 4096)
			if err := r.ParseForm(); err != nil {
				http.Error(w, "bad form", http.StatusBadRequest)
				return
			}
			a, err := s.ActByLink(r.Context(), action, id, r.PostForm.Get("exp"), r.PostForm.Get("sig"), clientAddr(r))
			if err != nil {
				data["Error"] = errs.MessageOf(err)
				status := errs.HTTPStatus(errs.CodeOf(err))
				if errs.CodeOf(err) == errs.Internal {
					data["Error"] = "something went wrong; try again or open the alert in groundcrew"
				}
				render(status)
				return
			}
			switch {
			case action == ActionResolve:
				data["Done"] = "Resolved: " + a.Summary
			default:
				data["Done"] = "Acknowledged: " + a.Summary
			}
			render(http.StatusOK)
		default:
			w.Header().Set("Allow", "GET, POST")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		}
	})
}

func clientAddr(r *http.Request) string {
	host := r.RemoteAddr
	if i := strings.LastIndexByte(host, ':'); i > 0 {
		host = host[:i]
	}
	return strings.Trim(host, "[]")
}
