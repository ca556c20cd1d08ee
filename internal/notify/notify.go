// Package notify delivers alert notifications to people and systems: e-mail
// over SMTP, Slack and Microsoft Teams incoming webhooks, and a generic
// webhook with an Alertmanager-compatible body and an HMAC signature.
//
// A Channel renders a Notification (the neutral description of one
// notification of one alert group) and sends it once. It does not retry:
// it returns an error that says whether a retry may help (Retryable) and
// how long the far end asked to wait (RetryAfterOf); the delivery job
// decides with a Backoff. Errors never contain secrets: webhook URLs are
// reduced to their scheme and host, passwords never appear.
package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"
)

// Channel sends a notification to one receiver.
//
// Send makes one attempt. A nil error means the far end accepted the
// notification. Errors are *Error values that say whether a retry may
// succeed. Implementations are safe for concurrent use.
type Channel interface {
	Send(ctx context.Context, n *Notification) error
}

// ChannelFunc adapts a function to a Channel.
type ChannelFunc func(ctx context.Context, n *Notification) error

// Send calls f.
func (f ChannelFunc) Send(ctx context.Context, n *Notification) error { return f(ctx, n) }

// Status is the state of an alert or of a whole notification.
type Status string

// The statuses.
const (
	Firing   Status = "firing"
	Resolved Status = "resolved"
)

// Reason says why a notification of a group was sent.
type Reason string

// The reasons, with Alertmanager's grouping semantics.
const (
	ReasonFirst        Reason = "first"         // the group's first notification
	ReasonNewAlerts    Reason = "new_alerts"    // alerts joined the group
	ReasonSomeResolved Reason = "some_resolved" // some alerts of the group resolved
	ReasonAllResolved  Reason = "all_resolved"  // every alert of the group resolved
	ReasonRepeat       Reason = "repeat"        // nothing changed; repeat_interval elapsed
)

// Links are signed action links. The caller signs them and gives them an
// expiry; channels only show them. An empty link is not shown.
type Links struct {
	Acknowledge string `json:"acknowledge,omitempty"`
	Resolve     string `json:"resolve,omitempty"`
	Silence     string `json:"silence,omitempty"`
}

// Empty reports whether no link is set.
func (l Links) Empty() bool { return l == Links{} }

// Alert is one alert of a notification, as templates see it.
type Alert struct {
	// Status is firing or resolved.
	Status Status `json:"status"`
	// Labels identify the alert (alertname, severity, service, …).
	Labels map[string]string `json:"labels"`
	// Annotations describe it (summary, description, runbook_url, …).
	Annotations map[string]string `json:"annotations"`
	// StartsAt is when the alert started firing.
	StartsAt time.Time `json:"startsAt"`
	// EndsAt is when it resolved; zero while it fires.
	EndsAt time.Time `json:"endsAt"`
	// GeneratorURL links to what produced the alert (a Prometheus graph,
	// a check's page); may be empty.
	GeneratorURL string `json:"generatorURL"`
	// Fingerprint identifies the alert (a hash of its labels, or the
	// dedup key).
	Fingerprint string `json:"fingerprint"`
	// Links are this alert's action links; may be empty.
	Links Links `json:"-"`
}

// Notification is one notification of one alert group: what every channel
// renders and what every template sees (as "."). The caller fills it; the
// channels never change it (they render a truncated copy).
type Notification struct {
	// Receiver is the name of the receiver the notification goes to.
	Receiver string
	// GroupKey identifies the alert group (stable across notifications).
	GroupKey string
	// GroupLabels are the labels the group is grouped by.
	GroupLabels map[string]string
	// CommonLabels are the labels all alerts share.
	CommonLabels map[string]string
	// CommonAnnotations are the annotations all alerts share.
	CommonAnnotations map[string]string
	// Alerts are the group's alerts, firing and resolved.
	Alerts []Alert
	// TruncatedAlerts is how many alerts were left out of Alerts. Callers
	// normally leave it 0; a channel with a maximum number of alerts per
	// message cuts Alerts and adds the number it cut here.
	TruncatedAlerts int
	// Reason says why the notification was sent.
	Reason Reason
	// ExternalURL is groundcrew's own address (for links back).
	ExternalURL string
	// Links are the group's signed action links; may be empty.
	Links Links
}

// Status is Firing when at least one alert fires, else Resolved.
func (n *Notification) Status() Status {
	for _, a := range n.Alerts {
		if a.Status == Firing {
			return Firing
		}
	}
	return Resolved
}

// Firing returns the firing alerts.
func (n *Notification) Firing() []Alert { return n.filter(Firing) }

// Resolved returns the resolved alerts.
func (n *Notification) Resolved() []Alert { return n.filter(Resolved) }

func (n *Notification) filter(s Status) []Alert {
	var out []Alert
	for _, a := range n.Alerts {
		if a.Status == s {
			out = append(out, a)
		}
	}
	return out
}

// truncate returns a copy of n with at most max alerts (firing first, as
// they matter more), counting the cut ones in TruncatedAlerts. max <= 0
// keeps all.
func (n *Notification) truncate(max int) *Notification {
	c := *n
	if max <= 0 || len(n.Alerts) <= max {
		return &c
	}
	sorted := make([]Alert, 0, len(n.Alerts))
	sorted = append(sorted, n.Firing()...)
	sorted = append(sorted, n.Resolved()...)
	for _, a := range n.Alerts { // statuses other than the two, if any
		if a.Status != Firing && a.Status != Resolved {
			sorted = append(sorted, a)
		}
	}
	c.Alerts = sorted[:max]
	c.TruncatedAlerts += len(n.Alerts) - max
	return &c
}

// Pair is one label or annotation, as the template function pairs returns.
type Pair struct{ Name, Value string }

// sortedPairs returns m's entries sorted by name.
func sortedPairs(m map[string]string) []Pair {
	out := make([]Pair, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, Pair{k, m[k]})
	}
	return out
}

// Duration is a time.Duration written as a Go duration string ("10s") in
// JSON and YAML configuration.
type Duration time.Duration

// MarshalJSON writes d as a duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads a duration string ("30s", "2m").
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration: want a string such as \"10s\": %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("duration: %w", err)
	}
	*d = Duration(v)
	return nil
}

// Std returns d as a time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }

// sample is the notification templates are test-executed against when a
// configuration is validated, so that a misspelt field fails at apply time.
func sample() *Notification {
	t := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	labels := map[string]string{"alertname": "DiskFull", "severity": "critical", "service": "payments-api"}
	ann := map[string]string{"summary": "disk / is full", "description": "95% used", "runbook_url": "https://example.com/rb"}
	links := Links{Acknowledge: "https://gc.example.com/a", Resolve: "https://gc.example.com/r", Silence: "https://gc.example.com/s"}
	return &Notification{
		Receiver: "team-payments", GroupKey: "{}:{alertname=\"DiskFull\"}",
		GroupLabels: map[string]string{"alertname": "DiskFull"}, CommonLabels: labels, CommonAnnotations: ann,
		Alerts: []Alert{
			{Status: Firing, Labels: labels, Annotations: ann, StartsAt: t, GeneratorURL: "https://prom.example.com/g", Fingerprint: "abc", Links: links},
			{Status: Resolved, Labels: labels, Annotations: ann, StartsAt: t, EndsAt: t.Add(time.Hour), Fingerprint: "def"},
		},
		Reason: ReasonNewAlerts, ExternalURL: "https://gc.example.com", Links: links,
	}
}
