package ui

import (
	"bytes"
	"encoding/json"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"groundcrew.dev/groundcrew/internal/audit"
	"groundcrew.dev/groundcrew/internal/errs"
	"groundcrew.dev/groundcrew/internal/identity"
)

// auditKinds are the object kinds offered as a filter.
var auditKinds = []string{"service", "team", "user", "environment", "tool", "check", "token"}

// auditActions are the actions offered as suggestions.
var auditActions = []string{"create", "update", "delete", "login", "set-password", "revoke"}

// auditRow is an audit record as the page shows it.
type auditRow struct {
	audit.Record
	URL     string   // the object's page, if it has one and still exists
	Changed []string // top-level fields an update changed
	Before  string   // indented JSON
	After   string
}

// ignoredChanges are fields every update changes.
var ignoredChanges = map[string]bool{"revision": true, "updated_at": true}

func auditRows(recs []audit.Record) []auditRow {
	out := make([]auditRow, len(recs))
	for i, r := range recs {
		row := auditRow{Record: r, Before: indentJSON(r.Before), After: indentJSON(r.After)}
		if r.Action != "delete" {
			row.URL = objectURL(r.ObjectKind, r.ObjectName)
		}
		var before, after map[string]json.RawMessage
		if json.Unmarshal(r.Before, &before) == nil && json.Unmarshal(r.After, &after) == nil && before != nil && after != nil {
			for _, k := range slices.Sorted(maps.Keys(after)) {
				if !ignoredChanges[k] && !bytes.Equal(before[k], after[k]) {
					row.Changed = append(row.Changed, k)
				}
			}
			for _, k := range slices.Sorted(maps.Keys(before)) {
				if _, ok := after[k]; !ok && !ignoredChanges[k] {
					row.Changed = append(row.Changed, k)
				}
			}
		}
		out[i] = row
	}
	return out
}

func indentJSON(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, raw, "", "  "); err != nil {
		return string(raw)
	}
	return buf.String()
}

// auditQuery is the audit page's filters, all in the URL.
type auditQuery struct {
	Actor, Action, Kind, Object, Since string
	Before                             int64
}

func (q auditQuery) values() url.Values {
	v := url.Values{}
	for k, s := range map[string]string{"actor": q.Actor, "action": q.Action, "kind": q.Kind, "object": q.Object, "since": q.Since} {
		if s != "" {
			v.Set(k, s)
		}
	}
	if q.Before > 0 {
		v.Set("before", strconv.FormatInt(q.Before, 10))
	}
	return v
}

type auditData struct {
	Query    auditQuery
	Rows     []auditRow
	Err      formErrors
	Kinds    []string
	Actions  []string
	NextURL  string
	FirstURL string
}

// auditLog shows the audit log, newest first, to those allowed to read it.
func (u *UI) auditLog(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	if err := identity.Authorize(ctx, identity.PermReadAudit, uuid.Nil); err != nil {
		return err
	}
	p := r.URL.Query()
	q := auditQuery{Actor: p.Get("actor"), Action: p.Get("action"), Kind: p.Get("kind"), Object: p.Get("object"), Since: p.Get("since")}
	q.Before, _ = strconv.ParseInt(p.Get("before"), 10, 64)
	d := auditData{Query: q, Kinds: auditKinds, Actions: auditActions}
	since, err := parseSince(q.Since, u.clock.Now())
	if err != nil {
		d.Err = newFormErrors(err, []string{"since"}, nil)
		u.render(w, r, http.StatusUnprocessableEntity, "audit", "Audit log", d)
		return nil
	}
	recs, err := audit.List(ctx, u.cfg.DB.Reader(), audit.Filter{Actor: q.Actor, Action: q.Action, ObjectKind: q.Kind,
		ObjectName: q.Object, Since: since, BeforeSeq: q.Before, Limit: listLimit})
	if err != nil {
		return err
	}
	d.Rows = auditRows(recs)
	if len(recs) == listLimit {
		nq := q
		nq.Before = recs[len(recs)-1].Seq
		d.NextURL = "/audit?" + nq.values().Encode()
	}
	if q.Before > 0 {
		fq := q
		fq.Before = 0
		d.FirstURL = "/audit?" + fq.values().Encode()
	}
	u.render(w, r, http.StatusOK, "audit", "Audit log", d)
	return nil
}

// parseSince reads the "since" filter: a duration back from now ("90m",
// "24h", "7d") or a UTC date or time ("2025-03-01", "2025-03-01T14:00",
// RFC 3339).
func parseSince(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if n, ok := strings.CutSuffix(s, "d"); ok {
		if days, err := strconv.Atoi(n); err == nil && days > 0 {
			return now.AddDate(0, 0, -days), nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return now.Add(-d), nil
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04", "2006-01-02 15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			return t, nil
		}
	}
	return time.Time{}, errs.Invalidf("since", "%q is neither a duration (24h, 7d) nor a UTC date or time (2025-03-01, 2025-03-01T14:00)", s)
}
