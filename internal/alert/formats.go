package alert

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"groundcrew.dev/groundcrew/internal/db"
	"groundcrew.dev/groundcrew/internal/errs"
)

// Body limits of the ingestion endpoints.
const (
	MaxBodyBytes             = 1 << 20 // PagerDuty events, webhooks
	MaxAlertmanagerBodyBytes = 4 << 20 // Alertmanager API v2 arrays
)

// postableAlert is one alert of Alertmanager's API v2 (POST
// /api/v2/alerts), exactly as Prometheus's notifier sends it. Prometheus
// sends zero times as "0001-01-01T00:00:00Z": they mean "not given".
type postableAlert struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL"`
}

// ParseAlertmanager parses the body of Alertmanager's POST /api/v2/alerts:
// a JSON array of alerts. Errors name the alert ("alerts[3].labels").
func ParseAlertmanager(body []byte) ([]Incoming, error) {
	// Decode once, in one pass (formats_fast.go); only a body that it
	// does not take is decoded again alert by alert, by encoding/json, to
	// name the alert at fault or to take what encoding/json takes.
	if out, ok := decodeAlertmanagerFast(body); ok {
		for i := range out {
			if len(out[i].Labels) == 0 {
				return nil, errs.Invalidf(fmt.Sprintf("alerts[%d].labels", i), "must not be empty")
			}
		}
		return out, nil
	}
	var raw []json.RawMessage
	if err := decodeJSON(body, &raw, ""); err != nil {
		return nil, err
	}
	if len(raw) > MaxAlertsPerPost {
		return nil, errs.Invalidf("alerts", "at most %d alerts per request", MaxAlertsPerPost)
	}
	out := make([]Incoming, 0, len(raw))
	for i, r := range raw {
		var a postableAlert
		if err := decodeJSON(r, &a, fmt.Sprintf("alerts[%d]", i)); err != nil {
			return nil, err
		}
		if len(a.Labels) == 0 {
			return nil, errs.Invalidf(fmt.Sprintf("alerts[%d].labels", i), "must not be empty")
		}
		out = append(out, Incoming{Labels: a.Labels, Annotations: a.Annotations, StartsAt: a.StartsAt.UTC(),
			EndsAt: a.EndsAt.UTC(), GeneratorURL: a.GeneratorURL})
	}
	return out, nil
}

// webhookMessage is what an Alertmanager webhook receiver is sent
// (version 4).
type webhookMessage struct {
	Version  string `json:"version"`
	GroupKey string `json:"groupKey"`
	Status   string `json:"status"`
	Receiver string `json:"receiver"`
	Alerts   []struct {
		Status       string            `json:"status"`
		Labels       map[string]string `json:"labels"`
		Annotations  map[string]string `json:"annotations"`
		StartsAt     time.Time         `json:"startsAt"`
		EndsAt       time.Time         `json:"endsAt"`
		GeneratorURL string            `json:"generatorURL"`
		Fingerprint  string            `json:"fingerprint"`
	} `json:"alerts"`
}

// ParseAlertmanagerWebhook parses what an Alertmanager webhook_configs
// receiver posts (payload version 4). Firing alerts stay open until the
// Alertmanager sends them resolved (send_resolved, on by default).
func ParseAlertmanagerWebhook(body []byte) ([]Incoming, error) {
	var m webhookMessage
	if err := decodeJSON(body, &m, ""); err != nil {
		return nil, err
	}
	if m.Version != "4" {
		return nil, errs.Invalidf("version", "%q is not supported: want \"4\"", truncate(m.Version, 20))
	}
	if len(m.Alerts) > MaxAlertsPerPost {
		return nil, errs.Invalidf("alerts", "at most %d alerts per request", MaxAlertsPerPost)
	}
	out := make([]Incoming, 0, len(m.Alerts))
	for i, a := range m.Alerts {
		if len(a.Labels) == 0 {
			return nil, errs.Invalidf(fmt.Sprintf("alerts[%d].labels", i), "must not be empty")
		}
		in := Incoming{Labels: a.Labels, Annotations: a.Annotations, StartsAt: a.StartsAt.UTC(), GeneratorURL: a.GeneratorURL, KeepOpen: true}
		switch a.Status {
		case "firing":
		case "resolved":
			in.Resolve, in.EndsAt = true, a.EndsAt.UTC()
		default:
			return nil, errs.Invalidf(fmt.Sprintf("alerts[%d].status", i), "%q is not a status: want firing or resolved", truncate(a.Status, 20))
		}
		out = append(out, in)
	}
	return out, nil
}

// PagerDutyEvent is a PagerDuty Events API v2 event, parsed.
type PagerDutyEvent struct {
	RoutingKey string
	Action     string // trigger, acknowledge or resolve
	Alert      Incoming
}

type pdEvent struct {
	RoutingKey  *string `json:"routing_key"`
	EventAction string  `json:"event_action"`
	DedupKey    string  `json:"dedup_key"`
	Client      string  `json:"client"`
	ClientURL   string  `json:"client_url"`
	Payload     *struct {
		Summary       string          `json:"summary"`
		Source        string          `json:"source"`
		Severity      string          `json:"severity"`
		Timestamp     string          `json:"timestamp"`
		Component     string          `json:"component"`
		Group         string          `json:"group"`
		Class         string          `json:"class"`
		CustomDetails json.RawMessage `json:"custom_details"`
	} `json:"payload"`
	Links  json.RawMessage `json:"links"`
	Images json.RawMessage `json:"images"`
}

// ParsePagerDuty parses a PagerDuty Events API v2 event (POST
// /v2/enqueue). A trigger without dedup_key gets a new one.
func ParsePagerDuty(body []byte) (PagerDutyEvent, error) {
	var e pdEvent
	if err := decodeJSON(body, &e, ""); err != nil {
		return PagerDutyEvent{}, err
	}
	if e.RoutingKey == nil || *e.RoutingKey == "" {
		return PagerDutyEvent{}, errs.Invalidf("routing_key", "is required")
	}
	ev := PagerDutyEvent{RoutingKey: *e.RoutingKey, Action: e.EventAction}
	if len(e.DedupKey) > MaxDedupKey {
		return ev, errs.Invalidf("dedup_key", "must be at most %d characters", MaxDedupKey)
	}
	in := Incoming{DedupKey: e.DedupKey}
	switch e.EventAction {
	case "acknowledge", "resolve":
		if e.DedupKey == "" {
			return ev, errs.Invalidf("dedup_key", "is required for %s", e.EventAction)
		}
		in.Acknowledge, in.Resolve = e.EventAction == "acknowledge", e.EventAction == "resolve"
		ev.Alert = in
		return ev, nil
	case "trigger":
	case "":
		return ev, errs.Invalidf("event_action", "is required: trigger, acknowledge or resolve")
	default:
		return ev, errs.Invalidf("event_action", "%q is not an action: want trigger, acknowledge or resolve", truncate(e.EventAction, 20))
	}
	p := e.Payload
	switch {
	case p == nil:
		return ev, errs.Invalidf("payload", "is required for trigger")
	case strings.TrimSpace(p.Summary) == "":
		return ev, errs.Invalidf("payload.summary", "is required")
	case len(p.Summary) > MaxSummary:
		return ev, errs.Invalidf("payload.summary", "must be at most %d characters", MaxSummary)
	case strings.TrimSpace(p.Source) == "":
		return ev, errs.Invalidf("payload.source", "is required")
	case !slices.Contains(Severities, p.Severity):
		return ev, errs.Invalidf("payload.severity", "%q is not a severity: want critical, error, warning or info", truncate(p.Severity, 20))
	}
	if in.DedupKey == "" {
		id := db.NewID()
		in.DedupKey = hex.EncodeToString(id[:])
	}
	if p.Timestamp != "" {
		t, err := parsePDTime(p.Timestamp)
		if err != nil {
			return ev, errs.Invalidf("payload.timestamp", "%q is not an ISO 8601 time", truncate(p.Timestamp, 40))
		}
		in.StartsAt = t
	}
	in.Summary, in.Severity, in.GeneratorURL = p.Summary, p.Severity, e.ClientURL
	in.Labels = map[string]string{}
	for k, v := range map[string]string{"source": p.Source, "component": p.Component, "group": p.Group, "class": p.Class, "severity": p.Severity} {
		if v != "" {
			in.Labels[k] = truncate(v, MaxLabelValue)
		}
	}
	in.Annotations = map[string]string{"summary": p.Summary}
	for k, v := range map[string]string{"client": e.Client, "client_url": e.ClientURL} {
		if v != "" {
			in.Annotations[k] = truncate(v, MaxAnnotation)
		}
	}
	for k, raw := range map[string]json.RawMessage{"custom_details": p.CustomDetails, "links": e.Links, "images": e.Images} {
		if s := compactJSON(raw); s != "" {
			if len(s) > MaxAnnotation {
				return ev, errs.Invalidf(pdField(k), "must be at most %d bytes", MaxAnnotation)
			}
			in.Annotations[k] = s
		}
	}
	ev.Alert = in
	return ev, nil
}

func pdField(annotation string) string {
	if annotation == "custom_details" {
		return "payload.custom_details"
	}
	return annotation
}

// parsePDTime reads the ISO 8601 forms PagerDuty accepts, such as
// "2015-07-17T08:42:58.315+0000" and RFC 3339.
func parsePDTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999Z0700", "2006-01-02T15:04:05Z0700", "2006-01-02T15:04:05.999999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, errors.New("not an ISO 8601 time")
}

// webhookAlert is the generic webhook's body.
type webhookAlert struct {
	Summary  string            `json:"summary"`
	Details  json.RawMessage   `json:"details"`
	Severity string            `json:"severity"`
	DedupKey string            `json:"dedup_key"`
	Labels   map[string]string `json:"labels"`
	Status   string            `json:"status"`
	Service  string            `json:"service"`
}

// ParseWebhook parses the generic webhook's JSON: {summary, details,
// severity, dedup_key, labels, status firing|resolved, service}. The alert
// is identified by dedup_key when given, else by its labels.
func ParseWebhook(body []byte) (Incoming, error) {
	var w webhookAlert
	if err := decodeJSON(body, &w, ""); err != nil {
		return Incoming{}, err
	}
	in := Incoming{Summary: w.Summary, Severity: w.Severity, DedupKey: w.DedupKey, Labels: w.Labels, Service: w.Service}
	switch w.Status {
	case "", "firing":
		if strings.TrimSpace(w.Summary) == "" {
			return in, errs.Invalidf("summary", "is required")
		}
	case "resolved":
		in.Resolve = true
	default:
		return in, errs.Invalidf("status", "%q is not a status: want firing or resolved", truncate(w.Status, 20))
	}
	if len(w.Labels) == 0 && w.DedupKey == "" {
		return in, errs.Invalidf("labels", "must not be empty when there is no dedup_key")
	}
	if d := w.Details; len(d) > 0 && string(d) != "null" {
		var s string
		if json.Unmarshal(d, &s) != nil {
			s = compactJSON(d)
		}
		if s != "" {
			if len(s) > MaxAnnotation {
				return in, errs.Invalidf("details", "must be at most %d bytes", MaxAnnotation)
			}
			in.Annotations = map[string]string{"details": s}
		}
	}
	if w.Summary != "" {
		if in.Annotations == nil {
			in.Annotations = map[string]string{}
		}
		in.Annotations["summary"] = truncate(w.Summary, MaxAnnotation)
	}
	return in, nil
}

// decodeJSON decodes one JSON value, refusing trailing data, and turns
// errors into Invalid errors naming where they are.
func decodeJSON(data []byte, v any, field string) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			f := te.Field
			if field != "" && f != "" {
				f = field + "." + f
			} else if field != "" {
				f = field
			}
			return errs.Invalidf(f, "must be %s, not %s", jsonType(te.Type.Kind().String()), te.Value)
		}
		var pe *time.ParseError
		if errors.As(err, &pe) {
			return errs.Invalidf(field, "%q is not an RFC 3339 time", truncate(pe.Value, 40))
		}
		return errs.Invalidf(field, "malformed JSON: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
	if dec.More() {
		return errs.Invalidf(field, "malformed JSON: data after the value")
	}
	return nil
}

func jsonType(kind string) string {
	switch kind {
	case "map", "struct":
		return "an object"
	case "slice", "array":
		return "an array"
	case "string":
		return "a string"
	case "int", "int64", "float64":
		return "a number"
	}
	return "a " + kind
}

// compactJSON returns raw JSON without insignificant space, "" for absent
// or null.
func compactJSON(raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil {
		return ""
	}
	return b.String()
}
