package notify

import (
	"context"
	"encoding/json"

	"groundcrew.dev/groundcrew/internal/errs"
)

// SlackConfig configures a Slack incoming webhook. Templates see the
// Notification (see docs/notifications.md); empty templates use the
// embedded defaults. The zero value is not valid: URL is required.
type SlackConfig struct {
	// URL is the incoming webhook URL (https://hooks.slack.com/services/…).
	// It is a secret: errors show only its scheme and host. Required.
	URL string `json:"url" yaml:"url"`
	// Channel overrides the webhook's channel where Slack still allows it
	// (legacy webhooks); empty: the webhook's own.
	Channel string `json:"channel,omitempty" yaml:"channel,omitempty"`
	// Username overrides the poster's name (legacy webhooks); empty: the
	// webhook's own.
	Username string `json:"username,omitempty" yaml:"username,omitempty"`
	// Title is the attachment title template; empty: the default title
	// ("[FIRING:2] DiskFull").
	Title string `json:"title,omitempty" yaml:"title,omitempty"`
	// Text is the attachment text template (Slack mrkdwn); empty: the
	// default, listing each alert.
	Text string `json:"text,omitempty" yaml:"text,omitempty"`
	// MaxAlerts caps the alerts shown in one message; the rest are counted
	// in TruncatedAlerts and the default text says so. 0 means 20.
	MaxAlerts int `json:"max_alerts,omitempty" yaml:"max_alerts,omitempty"`
}

// Validate reports the first invalid field, named as in the YAML ("url",
// "title"), with the templates parsed and test-run on sample data.
func (c *SlackConfig) Validate() error {
	_, err := newSlack(c, Options{})
	return err
}

// Slack sends notifications to a Slack incoming webhook as one message
// with an attachment: a colour by status (red firing, orange firing with
// severity=warning, green resolved), the title, the text, the common
// labels as fields and the action links as buttons. Safe for concurrent
// use.
type Slack struct {
	cfg         SlackConfig
	title, text textTemplate
	post        poster
}

var _ Channel = (*Slack)(nil)

// NewSlack validates cfg and returns its channel.
func NewSlack(cfg SlackConfig, opts Options) (*Slack, error) { return newSlack(&cfg, opts) }

func newSlack(c *SlackConfig, opts Options) (*Slack, error) {
	if err := checkHTTPURL("url", c.URL); err != nil {
		return nil, err
	}
	if err := checkMaxAlerts("max_alerts", c.MaxAlerts); err != nil {
		return nil, err
	}
	if len(c.Channel) > 80 {
		return nil, errs.Invalidf("channel", "must be at most 80 characters")
	}
	if len(c.Username) > 80 {
		return nil, errs.Invalidf("username", "must be at most 80 characters")
	}
	s := &Slack{cfg: *c, post: newPoster("slack", opts)}
	var err error
	if s.title, err = parseText("title", c.Title, "title.tmpl"); err != nil {
		return nil, err
	}
	if s.text, err = parseText("text", c.Text, "slack.text.tmpl"); err != nil {
		return nil, err
	}
	if s.cfg.MaxAlerts == 0 {
		s.cfg.MaxAlerts = 20
	}
	return s, nil
}

// Slack message shapes (legacy attachments: the only incoming-webhook
// format with a colour bar).
type slackMessage struct {
	Channel     string            `json:"channel,omitempty"`
	Username    string            `json:"username,omitempty"`
	Text        string            `json:"text,omitempty"`
	Attachments []slackAttachment `json:"attachments"`
}

type slackAttachment struct {
	Fallback  string        `json:"fallback"`
	Color     string        `json:"color"`
	Title     string        `json:"title"`
	TitleLink string        `json:"title_link,omitempty"`
	Text      string        `json:"text"`
	MrkdwnIn  []string      `json:"mrkdwn_in"`
	Fields    []slackField  `json:"fields,omitempty"`
	Actions   []slackAction `json:"actions,omitempty"`
	Footer    string        `json:"footer,omitempty"`
}

type slackField struct {
	Title string `json:"title"`
	Value string `json:"value"`
	Short bool   `json:"short"`
}

type slackAction struct {
	Type  string `json:"type"`
	Text  string `json:"text"`
	URL   string `json:"url"`
	Style string `json:"style,omitempty"`
}

// Colours of the attachment bar.
const (
	colorFiring   = "#d63232"
	colorWarning  = "#daa038"
	colorResolved = "#2eb886"
)

// maxFields bounds the label fields of one attachment.
const maxFields = 10

// Send posts n to the webhook.
func (s *Slack) Send(ctx context.Context, n *Notification) error {
	if n == nil {
		return &Error{Channel: "slack", Message: "nothing to send", Err: errNilNotification}
	}
	body, err := s.render(n)
	if err != nil {
		return err
	}
	return s.post.post(ctx, s.cfg.URL, body, nil)
}

func (s *Slack) render(n *Notification) ([]byte, error) {
	t := n.truncate(s.cfg.MaxAlerts)
	title, err := s.title.render(t)
	if err != nil {
		return nil, &Error{Channel: "slack", Message: "title template", Err: err}
	}
	text, err := s.text.render(t)
	if err != nil {
		return nil, &Error{Channel: "slack", Message: "text template", Err: err}
	}
	title = truncateRunes(oneLine(title), 250)
	a := slackAttachment{
		Fallback: title, Title: title, TitleLink: t.ExternalURL,
		Text: truncateRunes(text, 7000), MrkdwnIn: []string{"text"}, Footer: "groundcrew",
	}
	switch {
	case t.Status() == Resolved:
		a.Color = colorResolved
	case t.CommonLabels["severity"] == "warning":
		a.Color = colorWarning
	default:
		a.Color = colorFiring
	}
	for _, p := range sortedPairs(t.CommonLabels) {
		if len(a.Fields) == maxFields {
			break
		}
		a.Fields = append(a.Fields, slackField{Title: p.Name, Value: truncateRunes(p.Value, 200), Short: true})
	}
	for _, l := range []struct{ text, url, style string }{
		{"Acknowledge", t.Links.Acknowledge, "primary"},
		{"Resolve", t.Links.Resolve, ""},
		{"Silence", t.Links.Silence, "danger"},
	} {
		if l.url != "" {
			a.Actions = append(a.Actions, slackAction{Type: "button", Text: l.text, URL: l.url, Style: l.style})
		}
	}
	return json.Marshal(slackMessage{Channel: s.cfg.Channel, Username: s.cfg.Username, Attachments: []slackAttachment{a}})
}

// truncateRunes cuts s to at most n runes, marking the cut with "…".
func truncateRunes(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
