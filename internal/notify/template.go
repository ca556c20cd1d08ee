package notify

import (
	"bytes"
	"embed"
	htmltemplate "html/template"
	"strings"
	"text/template"

	"groundcrew.dev/groundcrew/internal/errs"
)

//go:embed templates/*.tmpl
var defaultTemplates embed.FS

// defaultTemplate returns the embedded default template name.
func defaultTemplate(name string) string {
	b, err := defaultTemplates.ReadFile("templates/" + name)
	if err != nil {
		panic("notify: missing default template " + name) // a build defect
	}
	return string(b)
}

// maxTemplate bounds the source of one user template.
const maxTemplate = 64 << 10

// maxRendered bounds the output of one template execution, so a template
// ranging over thousands of alerts cannot build a message no receiver
// accepts.
const maxRendered = 256 << 10

// reasonTexts are the words templates show for a Reason.
var reasonTexts = map[Reason]string{
	ReasonFirst:        "new alert group",
	ReasonNewAlerts:    "new alerts",
	ReasonSomeResolved: "some alerts resolved",
	ReasonAllResolved:  "all alerts resolved",
	ReasonRepeat:       "still firing (reminder)",
}

// funcs are the functions every template may call, documented in
// docs/notifications.md.
var funcs = template.FuncMap{
	"upper":     func(s any) string { return strings.ToUpper(toString(s)) },
	"lower":     func(s any) string { return strings.ToLower(toString(s)) },
	"trimSpace": strings.TrimSpace,
	"join":      func(sep string, s []string) string { return strings.Join(s, sep) },
	"pairs":     sortedPairs,
	"values": func(m map[string]string) []string {
		out := make([]string, 0, len(m))
		for _, p := range sortedPairs(m) {
			out = append(out, p.Value)
		}
		return out
	},
	"reasonText": func(r Reason) string {
		if s, ok := reasonTexts[r]; ok {
			return s
		}
		return string(r)
	},
	"truncate": func(n int, s string) string {
		r := []rune(s)
		if n < 1 || len(r) <= n {
			return s
		}
		return string(r[:n-1]) + "…"
	},
	// slackEscape escapes the three characters Slack's mrkdwn reserves.
	"slackEscape": strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace,
}

func toString(v any) string {
	switch s := v.(type) {
	case string:
		return s
	case Status:
		return string(s)
	case Reason:
		return string(s)
	default:
		return ""
	}
}

// limitedBuffer is a bytes.Buffer that fails past maxRendered bytes.
type limitedBuffer struct{ bytes.Buffer }

var errTooLong = errs.E(errs.Invalid, "rendered text exceeds %d bytes", maxRendered)

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if b.Len()+len(p) > maxRendered {
		return 0, errTooLong
	}
	return b.Buffer.Write(p)
}

// textTemplate is a parsed text/template, checked against sample data.
type textTemplate struct{ t *template.Template }

// parseText parses src (the embedded default def when src is empty) and
// runs it once on sample data, so that a misspelt field is an
// errs.Invalid naming field at configuration time.
func parseText(field, src, def string) (textTemplate, error) {
	if len(src) > maxTemplate {
		return textTemplate{}, errs.Invalidf(field, "template must be at most %d bytes", maxTemplate)
	}
	if src == "" {
		src = defaultTemplate(def)
	}
	t, err := template.New(field).Funcs(funcs).Option("missingkey=zero").Parse(src)
	if err != nil {
		return textTemplate{}, errs.Invalidf(field, "template: %v", err)
	}
	tt := textTemplate{t}
	if _, err := tt.render(sample()); err != nil {
		return textTemplate{}, errs.Invalidf(field, "template: %v", err)
	}
	return tt, nil
}

func (t textTemplate) render(n *Notification) (string, error) {
	var b limitedBuffer
	if err := t.t.Execute(&b, n); err != nil {
		return "", err
	}
	return b.String(), nil
}

// htmlTemplate is a parsed html/template, checked against sample data;
// values are escaped for their HTML context.
type htmlTemplate struct{ t *htmltemplate.Template }

func parseHTML(field, src, def string) (htmlTemplate, error) {
	if len(src) > maxTemplate {
		return htmlTemplate{}, errs.Invalidf(field, "template must be at most %d bytes", maxTemplate)
	}
	if src == "" {
		src = defaultTemplate(def)
	}
	t, err := htmltemplate.New(field).Funcs(htmltemplate.FuncMap(funcs)).Option("missingkey=zero").Parse(src)
	if err != nil {
		return htmlTemplate{}, errs.Invalidf(field, "template: %v", err)
	}
	ht := htmlTemplate{t}
	if _, err := ht.render(sample()); err != nil {
		return htmlTemplate{}, errs.Invalidf(field, "template: %v", err)
	}
	return ht, nil
}

func (t htmlTemplate) render(n *Notification) (string, error) {
	var b limitedBuffer
	if err := t.t.Execute(&b, n); err != nil {
		return "", err
	}
	return b.String(), nil
}

// oneLine collapses s to one line (for subjects and titles).
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
