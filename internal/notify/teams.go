package notify

import (
	"context"
	"encoding/json"
)

// TeamsConfig configures a Microsoft Teams incoming webhook created with
// the Workflows app ("Post to a channel when a webhook request is
// received"), which replaced the retired Office 365 connectors. The zero
// value is not valid: URL is required.
type TeamsConfig struct {
	// URL is the workflow's HTTP POST URL. It is a secret (its query
	// carries a signature): errors show only its scheme and host.
	// Required.
	URL string `json:"url" yaml:"url"`
	// Title is the card title template; empty: the default title.
	Title string `json:"title,omitempty" yaml:"title,omitempty"`
	// Text is the card text template (the Markdown subset Adaptive Card
	// text blocks render); empty: the default, listing each alert.
	Text string `json:"text,omitempty" yaml:"text,omitempty"`
	// MaxAlerts caps the alerts shown in one card; the rest are counted
	// in TruncatedAlerts and the default text says so. 0 means 20.
	MaxAlerts int `json:"max_alerts,omitempty" yaml:"max_alerts,omitempty"`
}

// Validate reports the first invalid field, named as in the YAML ("url",
// "text"), with the templates parsed and test-run on sample data.
func (c *TeamsConfig) Validate() error {
	_, err := newTeams(c, Options{})
	return err
}

// Teams sends notifications to a Teams Workflows webhook as a message
// carrying one Adaptive Card (version 1.4, which Teams renders on every
// client): the title coloured by status, the text, the common labels as a
// fact set and the action links as Action.OpenUrl buttons. MessageCard is
// not used: only the retired connectors accepted it. Safe for concurrent
// use.
type Teams struct {
	cfg         TeamsConfig
	title, text textTemplate
	post        poster
}

var _ Channel = (*Teams)(nil)

// NewTeams validates cfg and returns its channel.
func NewTeams(cfg TeamsConfig, opts Options) (*Teams, error) { return newTeams(&cfg, opts) }

func newTeams(c *TeamsConfig, opts Options) (*Teams, error) {
	if err := checkHTTPURL("url", c.URL); err != nil {
		return nil, err
	}
	if err := checkMaxAlerts("max_alerts", c.MaxAlerts); err != nil {
		return nil, err
	}
	t := &Teams{cfg: *c, post: newPoster("teams", opts)}
	var err error
	if t.title, err = parseText("title", c.Title, "title.tmpl"); err != nil {
		return nil, err
	}
	if t.text, err = parseText("text", c.Text, "teams.text.tmpl"); err != nil {
		return nil, err
	}
	if t.cfg.MaxAlerts == 0 {
		t.cfg.MaxAlerts = 20
	}
	return t, nil
}

type teamsMessage struct {
	Type        string            `json:"type"`
	Attachments []teamsAttachment `json:"attachments"`
}

type teamsAttachment struct {
	ContentType string    `json:"contentType"`
	ContentURL  *string   `json:"contentUrl"`
	Content     teamsCard `json:"content"`
}

type teamsCard struct {
	Schema  string         `json:"$schema"`
	Type    string         `json:"type"`
	Version string         `json:"version"`
	MSTeams map[string]any `json:"msteams,omitempty"`
	Body    []any          `json:"body"`
	Actions []teamsAction  `json:"actions,omitempty"`
}

type teamsTextBlock struct {
	Type   string `json:"type"`
	Text   string `json:"text"`
	Wrap   bool   `json:"wrap"`
	Weight string `json:"weight,omitempty"`
	Size   string `json:"size,omitempty"`
	Color  string `json:"color,omitempty"`
	Style  string `json:"style,omitempty"`
}

type teamsFactSet struct {
	Type  string      `json:"type"`
	Facts []teamsFact `json:"facts"`
}

type teamsFact struct {
	Title string `json:"title"`
	Value string `json:"value"`
}

type teamsAction struct {
	Type  string `json:"type"`
	Title string `json:"title"`
	URL   string `json:"url"`
}

// Send posts n to the workflow.
func (t *Teams) Send(ctx context.Context, n *Notification) error {
	if n == nil {
		return &Error{Channel: "teams", Message: "nothing to send", Err: errNilNotification}
	}
	body, err := t.render(n)
	if err != nil {
		return err
	}
	return t.post.post(ctx, t.cfg.URL, body, nil)
}

func (t *Teams) render(n *Notification) ([]byte, error) {
	c := n.truncate(t.cfg.MaxAlerts)
	title, err := t.title.render(c)
	if err != nil {
		return nil, &Error{Channel: "teams", Message: "title template", Err: err}
	}
	text, err := t.text.render(c)
	if err != nil {
		return nil, &Error{Channel: "teams", Message: "text template", Err: err}
	}
	color := "Attention"
	switch {
	case c.Status() == Resolved:
		color = "Good"
	case c.CommonLabels["severity"] == "warning":
		color = "Warning"
	}
	card := teamsCard{
		Schema: "http://adaptivecards.io/schemas/adaptive-card.json", Type: "AdaptiveCard", Version: "1.4",
		MSTeams: map[string]any{"width": "Full"},
		Body: []any{
			teamsTextBlock{Type: "TextBlock", Text: truncateRunes(oneLine(title), 250), Wrap: true, Weight: "Bolder", Size: "Medium", Color: color, Style: "heading"},
			teamsTextBlock{Type: "TextBlock", Text: truncateRunes(text, 20000), Wrap: true},
		},
	}
	if len(c.CommonLabels) > 0 {
		fs := teamsFactSet{Type: "FactSet"}
		for _, p := range sortedPairs(c.CommonLabels) {
			if len(fs.Facts) == maxFields {
				break
			}
			fs.Facts = append(fs.Facts, teamsFact{Title: p.Name, Value: truncateRunes(p.Value, 200)})
		}
		card.Body = append(card.Body, fs)
	}
	for _, l := range []struct{ title, url string }{
		{"Acknowledge", c.Links.Acknowledge}, {"Resolve", c.Links.Resolve}, {"Silence", c.Links.Silence},
	} {
		if l.url != "" {
			card.Actions = append(card.Actions, teamsAction{Type: "Action.OpenUrl", Title: l.title, URL: l.url})
		}
	}
	msg := teamsMessage{Type: "message", Attachments: []teamsAttachment{{
		ContentType: "application/vnd.microsoft.card.adaptive", Content: card,
	}}}
	return json.Marshal(msg)
}
