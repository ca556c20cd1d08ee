package ui

import (
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"groundcrew.dev/groundcrew/internal/alert"
	"groundcrew.dev/groundcrew/internal/errs"
	"groundcrew.dev/groundcrew/internal/identity"
)

const (
	defaultSilence = "2h"
	endsAtLayout   = "2006-01-02T15:04" // what <input type="datetime-local"> sends; read as UTC
	maxMatcherRows = 64
)

// silenceForm is the silence form as the person typed it.
type silenceForm struct {
	Matchers, Duration, EndsAt, Comment string
}

// silenceFields are the form's fields.
var silenceFields = []string{"matchers", "duration", "ends_at", "comment"}

// silenceRow is a silence as the list shows it.
type silenceRow struct {
	alert.Silence
	Lasts string // how long it lasts in all
}

type silencesData struct {
	Tabs      []alertTab
	Silences  []silenceRow
	All       bool // expired silences are listed too
	CanCreate bool
	Form      silenceForm
	Err       formErrors
	Preview   *silencePreview
}

// silencePreview is the firing alerts a silence would mute.
type silencePreview struct {
	Alerts []alertRow
}

// listSilences shows the silences in force or pending (with all=1 the
// recently expired too) and the form to create one, prefilled from the
// URL (as the "silence this" link of an alert does).
func (u *UI) listSilences(w http.ResponseWriter, r *http.Request) error {
	if err := u.requireAlerts(); err != nil {
		return err
	}
	p := r.URL.Query()
	f := silenceForm{Matchers: p.Get("matchers"), Duration: p.Get("duration"), Comment: p.Get("comment")}
	if f.Duration == "" {
		f.Duration = defaultSilence
	}
	return u.renderSilences(w, r, http.StatusOK, silencesData{Form: f, All: p.Get("all") != ""})
}

func (u *UI) renderSilences(w http.ResponseWriter, r *http.Request, status int, d silencesData) error {
	ctx := r.Context()
	d.Tabs = alertTabs("/silences")
	d.CanCreate = canCreateOwned(identity.ActorFrom(ctx))
	list, err := u.cfg.Alerts.ListSilences(ctx, d.All)
	if err != nil {
		return err
	}
	for _, s := range list {
		d.Silences = append(d.Silences, silenceRow{Silence: s, Lasts: fmtSpan(s.EndsAt.Sub(s.StartsAt))})
	}
	u.render(w, r, status, "silences", "Silences", d)
	return nil
}

// createSilence creates a silence from the form, or with the Preview
// button only lists the firing alerts it would mute. A rejected form comes
// back as typed, the error next to its field, and nothing is stored.
func (u *UI) createSilence(w http.ResponseWriter, r *http.Request) error {
	if err := u.requireAlerts(); err != nil {
		return err
	}
	ctx := r.Context()
	f := silenceForm{Matchers: r.PostFormValue("matchers"), Duration: strings.TrimSpace(r.PostFormValue("duration")),
		EndsAt: strings.TrimSpace(r.PostFormValue("ends_at")), Comment: r.PostFormValue("comment")}
	d := silencesData{Form: f}
	lines, rows := matcherLines(f.Matchers)
	if r.PostFormValue("action") == "preview" {
		var err error
		var found []alert.Alert
		if len(lines) > maxMatcherRows {
			err = errs.Invalidf("matchers", "at most %d matchers", maxMatcherRows)
		} else {
			found, err = u.cfg.Alerts.PreviewSilence(ctx, lines)
		}
		if err != nil {
			return u.silenceFormError(w, r, d, err, rows)
		}
		pv := &silencePreview{}
		if pv.Alerts, err = u.alertRows(ctx, found); err != nil {
			return err
		}
		d.Preview = pv
		return u.renderSilences(w, r, http.StatusOK, d)
	}
	in := alert.SilenceInput{Matchers: lines, Comment: f.Comment}
	end, err := silenceEnd(f, u.clock.Now())
	if err == nil && len(lines) > maxMatcherRows {
		err = errs.Invalidf("matchers", "at most %d matchers", maxMatcherRows)
	}
	if err == nil && len(lines) == 0 {
		err = errs.Invalidf("matchers", "give at least one matcher, such as alertname=\"DiskFull\"")
	}
	if err == nil {
		in.EndsAt = end
		var s alert.Silence
		if s, err = u.cfg.Alerts.CreateSilence(ctx, in); err == nil {
			u.redirect(w, r, "/silences", fmt.Sprintf("Silence created: %s until %s UTC.",
				strings.Join(s.Matchers, ", "), s.EndsAt.Format("2006-01-02 15:04")))
			return nil
		}
	}
	return u.silenceFormError(w, r, d, err, rows)
}

// silenceFormError shows the form again with err next to its field, or at
// the top when it names none; errors other than bad input or a refusal
// are returned.
func (u *UI) silenceFormError(w http.ResponseWriter, r *http.Request, d silencesData, err error, rows []int) error {
	status := http.StatusUnprocessableEntity
	switch errs.CodeOf(err) {
	case errs.Invalid:
		d.Err = newFormErrors(err, silenceFields, map[string]string{"starts_at": "ends_at"})
		if msg, ok := d.Err.Field["matchers"]; ok {
			if i, ok := matcherIndex(errs.FieldOf(err)); ok && i < len(rows) {
				d.Err.Field["matchers"] = fmt.Sprintf("line %d: %s", rows[i], msg)
			}
		}
		if msg, ok := d.Err.Field["ends_at"]; ok && d.Form.EndsAt == "" {
			delete(d.Err.Field, "ends_at")
			d.Err.Field["duration"] = msg
		}
	case errs.Forbidden:
		d.Err = formErrors{Field: map[string]string{}, Form: errs.MessageOf(err)}
		status = http.StatusForbidden
	default:
		return err
	}
	return u.renderSilences(w, r, status, d)
}

var matcherIndexRe = regexp.MustCompile(`^matchers\[(\d+)\]`)

// matcherIndex returns the index in the path of an error about one
// matcher ("matchers[2]").
func matcherIndex(path string) (int, bool) {
	m := matcherIndexRe.FindStringSubmatch(path)
	if m == nil {
		return 0, false
	}
	i, err := strconv.Atoi(m[1])
	return i, err == nil
}

// matcherLines returns the non-empty lines of text and, for each, its line
// number (from 1), so that an error about the third matcher can name the
// line it is on.
func matcherLines(text string) (lines []string, rows []int) {
	for i, l := range strings.Split(text, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
			rows = append(rows, i+1)
		}
	}
	return lines, rows
}

// silenceEnd is when the silence of the form ends: its end time when
// given (read as UTC), else now plus its duration.
func silenceEnd(f silenceForm, now time.Time) (time.Time, error) {
	if f.EndsAt != "" {
		t, err := time.ParseInLocation(endsAtLayout, f.EndsAt, time.UTC)
		if err != nil {
			if t, err = time.Parse(time.RFC3339, f.EndsAt); err != nil {
				return time.Time{}, errs.Invalidf("ends_at", "%q is not a time like 2026-05-01T18:00 (UTC)", truncate(f.EndsAt, 40))
			}
		}
		return t, nil
	}
	if f.Duration == "" {
		return time.Time{}, errs.Invalidf("duration", "give a duration (2h, 30m, 1d) or an end time")
	}
	d, err := parseSpan(f.Duration)
	if err != nil || d <= 0 {
		return time.Time{}, errs.Invalidf("duration", "%q is not a duration such as 2h, 30m or 1d", truncate(f.Duration, 40))
	}
	return now.Add(d), nil
}

// parseSpan reads a Go duration, or a whole number of days ("3d").
func parseSpan(s string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n > 366 {
			return 0, fmt.Errorf("bad days %q", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	return time.ParseDuration(s)
}

// expireSilence ends a silence now.
func (u *UI) expireSilence(w http.ResponseWriter, r *http.Request) error {
	if err := u.requireAlerts(); err != nil {
		return err
	}
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		return errs.NotFoundf("no silence %q", truncate(r.PathValue("id"), 40))
	}
	if err := u.cfg.Alerts.ExpireSilence(r.Context(), id); err != nil {
		return err
	}
	u.redirect(w, r, "/silences", "Silence expired: the alerts it muted notify again.")
	return nil
}
