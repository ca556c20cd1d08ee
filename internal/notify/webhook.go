package notify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"golang.org/x/net/http/httpguts"

	"groundcrew.dev/groundcrew/internal/errs"
)

// WebhookConfig configures a generic webhook: a POST of an
// Alertmanager-compatible (version 4) JSON body, so receivers written for
// Alertmanager keep working. The body is fixed (no template); groundcrew's
// additions live under "groundcrew". The zero value is not valid: URL is
// required.
type WebhookConfig struct {
	// URL receives the POST. Errors show only its scheme and host.
	// Required.
	URL string `json:"url" yaml:"url"`
	// Secret, when set, signs each request: the header
	// X-Groundcrew-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of
	// "<t>.<body>" keyed with Secret>. Receivers check it with Verify.
	Secret string `json:"secret,omitempty" yaml:"secret,omitempty"`
	// BearerToken, when set, is sent as "Authorization: Bearer …".
	BearerToken string `json:"bearer_token,omitempty" yaml:"bearer_token,omitempty"`
	// MaxAlerts caps the alerts in one body; the rest are counted in
	// truncatedAlerts (as Alertmanager's max_alerts). 0 means 1000.
	MaxAlerts int `json:"max_alerts,omitempty" yaml:"max_alerts,omitempty"`
}

// Validate reports the first invalid field, named as in the YAML.
func (c *WebhookConfig) Validate() error {
	_, err := newWebhook(c, Options{})
	return err
}

// SignatureHeader is the header that carries a webhook's signature.
const SignatureHeader = "X-Groundcrew-Signature"

// Webhook posts notifications as Alertmanager version 4 JSON. Safe for
// concurrent use.
type Webhook struct {
	cfg  WebhookConfig
	post poster
}

var _ Channel = (*Webhook)(nil)

// NewWebhook validates cfg and returns its channel.
func NewWebhook(cfg WebhookConfig, opts Options) (*Webhook, error) { return newWebhook(&cfg, opts) }

func newWebhook(c *WebhookConfig, opts Options) (*Webhook, error) {
	if err := checkHTTPURL("url", c.URL); err != nil {
		return nil, err
	}
	if err := checkMaxAlerts("max_alerts", c.MaxAlerts); err != nil {
		return nil, err
	}
	if c.Secret != "" && len(c.Secret) < 16 {
		return nil, errs.Invalidf("secret", "must be at least 16 characters")
	}
	if c.BearerToken != "" && !httpguts.ValidHeaderFieldValue(c.BearerToken) {
		return nil, errs.Invalidf("bearer_token", "must be a valid header value")
	}
	w := &Webhook{cfg: *c, post: newPoster("webhook", opts)}
	if w.cfg.MaxAlerts == 0 {
		w.cfg.MaxAlerts = 1000
	}
	return w, nil
}

// WebhookMessage is the body the webhook channel posts: Alertmanager's
// webhook payload, version 4, plus a "groundcrew" object.
type WebhookMessage struct {
	Version           string            `json:"version"`
	GroupKey          string            `json:"groupKey"`
	TruncatedAlerts   int               `json:"truncatedAlerts"`
	Status            Status            `json:"status"`
	Receiver          string            `json:"receiver"`
	GroupLabels       map[string]string `json:"groupLabels"`
	CommonLabels      map[string]string `json:"commonLabels"`
	CommonAnnotations map[string]string `json:"commonAnnotations"`
	ExternalURL       string            `json:"externalURL"`
	Alerts            []WebhookAlert    `json:"alerts"`
	Groundcrew        WebhookExtra      `json:"groundcrew"`
}

// WebhookAlert is one alert of a WebhookMessage.
type WebhookAlert struct {
	Alert
	// Links are the alert's action links, when any.
	Links *Links `json:"links,omitempty"`
}

// WebhookExtra is what groundcrew adds to the Alertmanager payload.
type WebhookExtra struct {
	Reason Reason `json:"reason"`
	Links  *Links `json:"links,omitempty"`
}

// Message returns the body n is posted as, truncated to max alerts (0:
// all).
func Message(n *Notification, max int) WebhookMessage {
	c := n.truncate(max)
	m := WebhookMessage{
		Version: "4", GroupKey: c.GroupKey, TruncatedAlerts: c.TruncatedAlerts, Status: c.Status(),
		Receiver: c.Receiver, GroupLabels: nonNil(c.GroupLabels), CommonLabels: nonNil(c.CommonLabels),
		CommonAnnotations: nonNil(c.CommonAnnotations), ExternalURL: c.ExternalURL,
		Alerts:     make([]WebhookAlert, 0, len(c.Alerts)),
		Groundcrew: WebhookExtra{Reason: c.Reason},
	}
	if !c.Links.Empty() {
		l := c.Links
		m.Groundcrew.Links = &l
	}
	for _, a := range c.Alerts {
		wa := WebhookAlert{Alert: a}
		wa.Labels, wa.Annotations = nonNil(a.Labels), nonNil(a.Annotations)
		if !a.Links.Empty() {
			l := a.Links
			wa.Links = &l
		}
		m.Alerts = append(m.Alerts, wa)
	}
	return m
}

func nonNil(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// Send posts n to the URL, signed when a secret is configured.
func (w *Webhook) Send(ctx context.Context, n *Notification) error {
	if n == nil {
		return &Error{Channel: "webhook", Message: "nothing to send", Err: errNilNotification}
	}
	body, err := json.Marshal(Message(n, w.cfg.MaxAlerts))
	if err != nil {
		return &Error{Channel: "webhook", Message: "encode body", Err: err}
	}
	h := http.Header{}
	if w.cfg.Secret != "" {
		h.Set(SignatureHeader, Sign(w.cfg.Secret, body, w.post.clock.Now()))
	}
	if w.cfg.BearerToken != "" {
		h.Set("Authorization", "Bearer "+w.cfg.BearerToken)
	}
	return w.post.post(ctx, w.cfg.URL, body, h)
}

// Sign returns the signature header value for body at time t:
// "t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<unix>.<body>")>".
func Sign(secret string, body []byte, t time.Time) string {
	ts := t.Unix()
	return "t=" + strconv.FormatInt(ts, 10) + ",v1=" + signature(secret, ts, body)
}

func signature(secret string, ts int64, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(strconv.FormatInt(ts, 10)))
	m.Write([]byte{'.'})
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}
