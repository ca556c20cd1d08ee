package alert

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"groundcrew.dev/groundcrew/internal/errs"
)

// Paths of the ingestion endpoints, as their ecosystems expect them.
const (
	PathAlertmanager        = "/api/v2/alerts"
	PathAlertmanagerWebhook = "/api/v1/integrations/alertmanager-webhook"
	PathWebhook             = "/api/v1/integrations/webhook"
	PathPagerDuty           = "/v2/enqueue"
)

// ingestTimeout bounds one ingestion request's database work.
const ingestTimeout = 30 * time.Second

// Handler serves the ingestion endpoints. They are plain HTTP handlers,
// not part of the JSON API: their request and response shapes are those
// of Alertmanager and PagerDuty, and they authenticate with integration
// keys, not user tokens. Safe for concurrent use.
type Handler struct {
	svc *Service
	log *slog.Logger
}

// NewHandler returns the ingestion handler of svc.
func NewHandler(svc *Service) *Handler { return &Handler{svc: svc, log: svc.log} }

// Register mounts the endpoints on mux.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.HandleFunc("POST "+PathAlertmanager, h.alertmanager)
	mux.HandleFunc("POST "+PathAlertmanagerWebhook, h.alertmanagerWebhook)
	mux.HandleFunc("POST "+PathWebhook, h.webhook)
	mux.HandleFunc("POST "+PathPagerDuty, h.pagerDuty)
}

// keyOf returns the integration key of r: a bearer token or the
// basic-auth password (Prometheus's alertmanagers configuration offers
// both).
func keyOf(r *http.Request) string {
	if _, pw, ok := r.BasicAuth(); ok {
		return pw
	}
	scheme, secret, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if strings.EqualFold(scheme, "Bearer") {
		return strings.TrimSpace(secret)
	}
	return ""
}

// authenticate checks the key of r and that its integration is of type t.
func (h *Handler) authenticate(ctx context.Context, r *http.Request, t Type) (Integration, error) {
	key := keyOf(r)
	if key == "" {
		return Integration{}, errs.Unauthorizedf("send the integration key as Authorization: Bearer gcik_… or as the basic-auth password")
	}
	return h.authenticateKey(ctx, key, t)
}

func (h *Handler) authenticateKey(ctx context.Context, key string, t Type) (Integration, error) {
	it, err := h.svc.Authenticate(ctx, key)
	if err != nil {
		return it, err
	}
	if it.Type != t {
		return it, errs.Forbiddenf("integration %q is of type %s; this endpoint takes %s integrations", it.Name, it.Type, t)
	}
	return it, nil
}

func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return nil, errs.E(errs.TooLarge, "the body is over %d MiB", limit>>20)
	}
	if err != nil {
		return nil, errs.Invalidf("", "reading the body: %v", err)
	}
	return body, nil
}

// authenticatedBody checks the request's integration key (of type t)
// and reads its body (at most max bytes); on failure it has answered and
// reports false.
func (h *Handler) authenticatedBody(ctx context.Context, w http.ResponseWriter, r *http.Request, t Type, max int64) (Integration, []byte, bool) {
	it, err := h.authenticate(ctx, r, t)
	if err != nil {
		h.fail(w, r, err)
		return Integration{}, nil, false
	}
	body, err := readBody(w, r, max)
	if err != nil {
		h.fail(w, r, err)
		return Integration{}, nil, false
	}
	return it, body, true
}

// alertmanager serves POST /api/v2/alerts: 200 with an empty body, as
// Alertmanager answers.
func (h *Handler) alertmanager(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), ingestTimeout)
	defer cancel()
	it, body, ok := h.authenticatedBody(ctx, w, r, TypeAlertmanager, MaxAlertmanagerBodyBytes)
	if !ok {
		return
	}
	alerts, err := ParseAlertmanager(body)
	if err == nil {
		_, err = h.svc.Ingest(ctx, it, alerts, "alerts")
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// alertmanagerWebhook serves an Alertmanager webhook receiver's posts.
func (h *Handler) alertmanagerWebhook(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), ingestTimeout)
	defer cancel()
	it, body, ok := h.authenticatedBody(ctx, w, r, TypeAlertmanager, MaxAlertmanagerBodyBytes)
	if !ok {
		return
	}
	alerts, err := ParseAlertmanagerWebhook(body)
	var got []Received
	if err == nil {
		got, err = h.svc.Ingest(ctx, it, alerts, "alerts")
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "success", "alerts": len(got)})
}

// WebhookResponse is the generic webhook's answer.
type WebhookResponse struct {
	Status      string `json:"status"`
	ID          string `json:"id,omitempty"`
	Fingerprint string `json:"fingerprint"`
	DedupKey    string `json:"dedup_key,omitempty"`
	AlertStatus Status `json:"alert_status"`
}

// webhook serves the generic JSON webhook: 202 with the alert's identity.
func (h *Handler) webhook(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), ingestTimeout)
	defer cancel()
	it, body, ok := h.authenticatedBody(ctx, w, r, TypeWebhook, MaxBodyBytes)
	if !ok {
		return
	}
	in, err := ParseWebhook(body)
	var got []Received
	if err == nil {
		got, err = h.svc.Ingest(ctx, it, []Incoming{in}, "")
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	resp := WebhookResponse{Status: "success", Fingerprint: got[0].Fingerprint, DedupKey: got[0].DedupKey, AlertStatus: got[0].Status}
	if got[0].ID != uuid.Nil {
		resp.ID = got[0].ID.String()
	}
	writeJSON(w, http.StatusAccepted, resp)
}

// pagerDutyResponse is PagerDuty's Events API v2 answer.
type pagerDutyResponse struct {
	Status   string   `json:"status"`
	Message  string   `json:"message"`
	DedupKey string   `json:"dedup_key,omitempty"`
	Errors   []string `json:"errors,omitempty"`
}

// pagerDuty serves POST /v2/enqueue like PagerDuty's Events API v2: 202
// {"status":"success","message":"Event processed","dedup_key":…}, or 400
// {"status":"invalid event","message":…,"errors":[…]}.
func (h *Handler) pagerDuty(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), ingestTimeout)
	defer cancel()
	invalid := func(err error) {
		msg := errs.MessageOf(err)
		if errs.CodeOf(err) != errs.Invalid {
			h.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusBadRequest, pagerDutyResponse{Status: "invalid event", Message: "Event object is invalid", Errors: []string{msg}})
	}
	body, err := readBody(w, r, MaxBodyBytes)
	if err != nil {
		invalid(err)
		return
	}
	ev, err := ParsePagerDuty(body)
	if err != nil && ev.RoutingKey == "" {
		invalid(err)
		return
	}
	// Authenticate before saying more about the event than that it is
	// malformed.
	it, aerr := h.authenticateKey(ctx, ev.RoutingKey, TypePagerDuty)
	if aerr != nil {
		h.fail(w, r, aerr)
		return
	}
	if err != nil {
		invalid(err)
		return
	}
	got, err := h.svc.Ingest(ctx, it, []Incoming{ev.Alert}, "")
	if err != nil {
		invalid(err)
		return
	}
	writeJSON(w, http.StatusAccepted, pagerDutyResponse{Status: "success", Message: "Event processed", DedupKey: got[0].DedupKey})
}

// fail writes err as a problem document: 400 for invalid input (what
// Alertmanager clients expect), 401, 403, 413, 429 with Retry-After.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	code := errs.CodeOf(err)
	status := errs.HTTPStatus(code)
	msg := errs.MessageOf(err)
	switch code {
	case errs.Invalid:
		status = http.StatusBadRequest
	case errs.Unauthorized:
		w.Header().Set("WWW-Authenticate", `Bearer realm="groundcrew alerts"`)
	case errs.TooMany:
		var rl *RateLimited
		if errors.As(err, &rl) {
			w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(rl.RetryAfter.Seconds()))))
		}
	case errs.Internal:
		if errors.Is(err, context.DeadlineExceeded) {
			status, msg = http.StatusServiceUnavailable, "the request took too long"
		} else {
			h.log.ErrorContext(r.Context(), "alert ingestion", "path", r.URL.Path, "err", err)
		}
	}
	p := map[string]any{"title": http.StatusText(status), "status": status, "detail": msg}
	if f := errs.FieldOf(err); f != "" && code == errs.Invalid {
		p["errors"] = []map[string]string{{"location": "body." + f, "message": msg}}
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(p)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
