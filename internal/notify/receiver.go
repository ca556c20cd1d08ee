package notify

import (
	"fmt"
	"net/url"
	"slices"
	"time"

	"github.com/google/uuid"

	"groundcrew.dev/groundcrew/internal/errs"
	"groundcrew.dev/groundcrew/internal/identity"
	"groundcrew.dev/groundcrew/internal/names"
)

// Redacted stands for a secret in everything groundcrew shows: API
// responses, exports, the audit log. Written back in an update or an
// apply, it keeps the stored secret of the same field of the same channel.
const Redacted = "<redacted>"

// MaxChannels bounds the channels of one receiver.
const MaxChannels = 20

// ChannelSpec is one channel of a receiver: exactly one of its fields is
// set.
type ChannelSpec struct {
	Email   *EmailConfig   `json:"email,omitempty" yaml:"email,omitempty"`
	Slack   *SlackConfig   `json:"slack,omitempty" yaml:"slack,omitempty"`
	Teams   *TeamsConfig   `json:"teams,omitempty" yaml:"teams,omitempty"`
	Webhook *WebhookConfig `json:"webhook,omitempty" yaml:"webhook,omitempty"`
}

// Type returns the name of the channel's type ("email", "slack", "teams",
// "webhook"), or "" when none or several are set.
func (c ChannelSpec) Type() string {
	t, n := "", 0
	for name, set := range map[string]bool{"email": c.Email != nil, "slack": c.Slack != nil, "teams": c.Teams != nil, "webhook": c.Webhook != nil} {
		if set {
			t, n = name, n+1
		}
	}
	if n != 1 {
		return ""
	}
	return t
}

// clone returns a deep enough copy of c that secrets can be replaced in
// it without touching c.
func (c ChannelSpec) clone() ChannelSpec {
	out := ChannelSpec{}
	if c.Email != nil {
		e := *c.Email
		e.To = slices.Clone(c.Email.To)
		out.Email = &e
	}
	if c.Slack != nil {
		s := *c.Slack
		out.Slack = &s
	}
	if c.Teams != nil {
		t := *c.Teams
		out.Teams = &t
	}
	if c.Webhook != nil {
		w := *c.Webhook
		out.Webhook = &w
	}
	return out
}

// Spec is the writable part of a receiver.
type Spec struct {
	Description string `json:"description,omitempty" yaml:"description,omitempty" maxLength:"4000"`
	// Owner is the team that owns the receiver; members of that team may
	// change it. Empty: only operators may.
	Owner string `json:"owner,omitempty" yaml:"owner,omitempty" doc:"owning team; its members may change the receiver (empty: operators only)"`
	// Channels are where each notification goes; every one gets it.
	Channels []ChannelSpec `json:"channels" yaml:"channels" doc:"one to 20 channels, each with exactly one of email, slack, teams, webhook"`
}

// Receiver is a named set of channels that notifications are sent to.
// Secrets in its channels read as Redacted.
type Receiver struct {
	ID     uuid.UUID         `json:"id"`
	Name   string            `json:"name"`
	Labels map[string]string `json:"labels,omitempty"`
	Spec
	Origin    string    `json:"origin,omitempty"`
	Revision  int64     `json:"revision"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Input creates or replaces a receiver. Any secret given as Redacted keeps
// the stored value of the same field of the channel at the same index
// (which must be of the same type).
type Input struct {
	Name   string            `json:"name,omitempty" doc:"required on create; fixed afterwards"`
	Labels map[string]string `json:"labels,omitempty"`
	Spec
}

// Validate reports the first invalid field of in ("channels[1].email.smtp.port").
// The channels' own checks run too, templates test-executed on sample
// data. Redacted secrets must have been resolved first (Service does).
func (in *Input) Validate() error {
	if err := names.Check("name", in.Name); err != nil {
		return err
	}
	if err := identity.CheckLabels("labels", in.Labels); err != nil {
		return err
	}
	return in.Spec.Validate()
}

// Validate reports the first invalid field of s.
func (s *Spec) Validate() error {
	if len(s.Description) > 4000 {
		return errs.Invalidf("description", "must be at most 4000 characters")
	}
	if s.Owner != "" {
		if err := names.Check("owner", s.Owner); err != nil {
			return err
		}
	}
	if len(s.Channels) == 0 {
		return errs.Invalidf("channels", "is required: at least one channel")
	}
	if len(s.Channels) > MaxChannels {
		return errs.Invalidf("channels", "must have at most %d channels", MaxChannels)
	}
	for i, c := range s.Channels {
		field := fmt.Sprintf("channels[%d]", i)
		if c.Type() == "" {
			return errs.Invalidf(field, "must have exactly one of email, slack, teams, webhook")
		}
		if _, err := c.build(Options{}); err != nil {
			return errs.WithField(field+"."+c.Type(), err)
		}
	}
	return nil
}

// build returns c's channel.
func (c ChannelSpec) build(opts Options) (Channel, error) {
	switch {
	case c.Email != nil:
		return NewEmail(*c.Email, opts)
	case c.Slack != nil:
		return NewSlack(*c.Slack, opts)
	case c.Teams != nil:
		return NewTeams(*c.Teams, opts)
	case c.Webhook != nil:
		return NewWebhook(*c.Webhook, opts)
	}
	return nil, errs.Invalidf("", "no channel type set")
}

// channelSecrets are the secrets of one channel, as sealed at rest.
type channelSecrets struct {
	Password    string `json:"password,omitempty"`     // email smtp.password
	URL         string `json:"url,omitempty"`          // slack, teams; webhook when it carries credentials
	Secret      string `json:"secret,omitempty"`       // webhook signing secret
	BearerToken string `json:"bearer_token,omitempty"` // webhook
}

// secretFields lists the secret fields of c as pointers with their YAML
// names, so that splitting and merging treat them alike.
func (c ChannelSpec) secretFields(s *channelSecrets) []secretField {
	switch {
	case c.Email != nil:
		return []secretField{{"smtp.password", &c.Email.SMTP.Password, &s.Password, true}}
	case c.Slack != nil:
		return []secretField{{"url", &c.Slack.URL, &s.URL, true}}
	case c.Teams != nil:
		return []secretField{{"url", &c.Teams.URL, &s.URL, true}}
	case c.Webhook != nil:
		return []secretField{
			{"url", &c.Webhook.URL, &s.URL, urlHasCredentials(c.Webhook.URL)},
			{"secret", &c.Webhook.Secret, &s.Secret, true},
			{"bearer_token", &c.Webhook.BearerToken, &s.BearerToken, true},
		}
	}
	return nil
}

type secretField struct {
	name   string
	spec   *string // the field in the channel's config
	stored *string // the field in its secrets
	secret bool    // whether the value is a secret (a webhook URL only with credentials)
}

// urlHasCredentials reports whether a webhook URL carries credentials:
// user information or a query string (tokens often travel as ?token=…).
// Such a URL is a secret as a whole.
func urlHasCredentials(raw string) bool {
	if raw == Redacted {
		return true
	}
	u, err := url.Parse(raw)
	return err == nil && (u.User != nil || u.RawQuery != "")
}

// split returns a copy of channels with every secret replaced by Redacted,
// and the secrets, index-aligned.
func split(channels []ChannelSpec) ([]ChannelSpec, []channelSecrets) {
	pub := make([]ChannelSpec, len(channels))
	sec := make([]channelSecrets, len(channels))
	for i, c := range channels {
		pub[i] = c.clone()
		for _, f := range pub[i].secretFields(&sec[i]) {
			if f.secret && *f.spec != "" {
				*f.stored, *f.spec = *f.spec, Redacted
			}
		}
	}
	return pub, sec
}

// join returns a copy of the public channels with the secrets put back.
func join(pub []ChannelSpec, sec []channelSecrets) []ChannelSpec {
	out := make([]ChannelSpec, len(pub))
	for i, c := range pub {
		out[i] = c.clone()
		var s channelSecrets
		if i < len(sec) {
			s = sec[i]
		}
		for _, f := range out[i].secretFields(&s) {
			if *f.spec == Redacted {
				*f.spec = *f.stored
			}
		}
	}
	return out
}

// resolve returns a copy of channels in which every Redacted secret is
// replaced by the stored value of the same field of the stored channel at
// the same index; one with nothing to keep is an Invalid error naming it.
func resolve(channels, stored []ChannelSpec) ([]ChannelSpec, error) {
	out := make([]ChannelSpec, len(channels))
	for i, c := range channels {
		out[i] = c.clone()
		var none channelSecrets
		var old []secretField
		if i < len(stored) && stored[i].Type() == c.Type() {
			old = stored[i].clone().secretFields(&none)
		}
		for j, f := range out[i].secretFields(&none) {
			if *f.spec != Redacted {
				continue
			}
			if old == nil || *old[j].spec == "" || *old[j].spec == Redacted {
				return nil, errs.Invalidf(fmt.Sprintf("channels[%d].%s.%s", i, c.Type(), f.name),
					"is %q but there is no stored value to keep: channel %d of the receiver is not a %s channel with this secret; give the value", Redacted, i, c.Type())
			}
			*f.spec = *old[j].spec
		}
	}
	return out, nil
}
