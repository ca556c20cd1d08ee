package api

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"groundcrew.dev/groundcrew/internal/check"
	"groundcrew.dev/groundcrew/internal/errs"
	"groundcrew.dev/groundcrew/internal/fleet"
)

// AgentPrefix is where the agent protocol is mounted; its version is part
// of the path, so a later protocol can be served next to this one.
const AgentPrefix = "/api/agent/v1"

// AgentMaxBodyBytes bounds an agent's request (a report of up to
// check.MaxReport results).
const AgentMaxBodyBytes = 8 << 20

// EnrollTokenCreate is the body that creates an enrollment token.
type EnrollTokenCreate struct {
	Name      string `json:"name" maxLength:"63"`
	Location  string `json:"location,omitempty" maxLength:"63" doc:"the location agents enrolling with it probe from; empty: each agent names its own with --location"`
	ExpiresIn string `json:"expires_in,omitempty" maxLength:"20" doc:"Go duration; default 24h, at most 720h"`
	Uses      int    `json:"uses,omitempty" minimum:"0" doc:"how many agents may enroll with it; default any number until it expires"`
}

// EnrollTokenCreated is a new enrollment token with its secret, shown only
// this once.
type EnrollTokenCreated struct {
	fleet.EnrollToken
	Secret string `json:"secret"`
}

func (a *API) registerFleet() {
	svc := a.cfg.Fleet
	tags := []string{"Agents"}
	huma.Register(a.huma, huma.Operation{
		OperationID: "create-enroll-token", Method: http.MethodPost, Path: "/enroll-tokens", Tags: tags,
		Summary: "Create an agent enrollment token", DefaultStatus: http.StatusCreated, MaxBodyBytes: 64 << 10,
		Description: "Operators and admins. The secret is shown only in this response: pass it to `groundcrew agent --enroll-token`.",
	}, func(ctx context.Context, in *struct{ Body EnrollTokenCreate }) (*struct{ Body EnrollTokenCreated }, error) {
		exp, err := parseExpiry(in.Body.ExpiresIn)
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		t, secret, err := svc.CreateToken(ctx, fleet.TokenInput{Name: in.Body.Name, Location: in.Body.Location, ExpiresIn: exp, Uses: in.Body.Uses})
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		return &struct{ Body EnrollTokenCreated }{EnrollTokenCreated{t, secret}}, nil
	})
	huma.Register(a.huma, huma.Operation{
		OperationID: "list-enroll-tokens", Method: http.MethodGet, Path: "/enroll-tokens", Tags: tags,
		Summary: "List agent enrollment tokens", Description: "Newest first, expired and revoked ones included; never the secrets.",
	}, func(ctx context.Context, _ *struct{}) (*PageOutput[fleet.EnrollToken], error) {
		list, err := svc.ListTokens(ctx)
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		return page(list, ""), nil
	})
	huma.Register(a.huma, huma.Operation{
		OperationID: "revoke-enroll-token", Method: http.MethodDelete, Path: "/enroll-tokens/{name}", Tags: tags,
		Summary: "Revoke an enrollment token", DefaultStatus: http.StatusNoContent,
		Description: "No agent can enroll with it any more; agents enrolled with it keep working.",
	}, func(ctx context.Context, in *NameParam) (*struct{}, error) {
		if err := svc.RevokeToken(ctx, in.Name); err != nil {
			return nil, a.fail(ctx, err)
		}
		return nil, nil
	})
	huma.Register(a.huma, huma.Operation{
		OperationID: "list-agents", Method: http.MethodGet, Path: "/agents", Tags: tags,
		Summary: "List enrolled agents", Description: "By name, with location, version and when each was last seen.",
	}, func(ctx context.Context, _ *struct{}) (*PageOutput[fleet.Agent], error) {
		list, err := svc.ListAgents(ctx)
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		return page(list, ""), nil
	})
	huma.Register(a.huma, huma.Operation{
		OperationID: "revoke-agent", Method: http.MethodDelete, Path: "/agents/{name}", Tags: tags,
		Summary: "Revoke an agent", DefaultStatus: http.StatusNoContent,
		Description: "Its credential is refused from its next request; enroll it again to bring it back.",
	}, func(ctx context.Context, in *NameParam) (*struct{}, error) {
		if err := svc.RevokeAgent(ctx, in.Name); err != nil {
			return nil, a.fail(ctx, err)
		}
		return nil, nil
	})
}

// Assignments is the answer to an agent asking for its checks.
type Assignments struct {
	Version   string             `json:"version" doc:"pass as ?since= to be told when nothing changed"`
	Unchanged bool               `json:"unchanged,omitempty" doc:"nothing changed since the version given: keep the checks you have"`
	Location  string             `json:"location"`
	Checks    []check.Assignment `json:"checks"`
}

// Report is what an agent sends with the results of its runs.
type Report struct {
	Results []check.Reported `json:"results"`
}

// ReportAccepted says how many reported results were stored; the others
// belong to checks no longer assigned to the agent's location.
type ReportAccepted struct {
	Accepted int `json:"accepted"`
}

// AgentProtocol serves the agent protocol (version 1) under AgentPrefix:
//
//	POST /enroll   {token, name, hostname, version, protocol} → credential (no authentication: the token is the credential)
//	GET  /checks?since=VERSION → the checks of the agent's location
//	POST /results  {results: [...]} → {accepted}
//
// Agents authenticate with `Authorization: Bearer gca_…`. Errors are
// problem details, as in the API.
func AgentProtocol(f *fleet.Service, checks *check.Service, log *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+AgentPrefix+"/enroll", func(w http.ResponseWriter, r *http.Request) {
		var in fleet.Enrollment
		if !decodeAgentBody(w, r, &in) {
			return
		}
		out, err := f.Enroll(r.Context(), in)
		if err != nil {
			agentFail(w, r, log, err)
			return
		}
		writeJSON(w, http.StatusCreated, out)
	})
	mux.HandleFunc("GET "+AgentPrefix+"/checks", func(w http.ResponseWriter, r *http.Request) {
		ag, ok := agentFrom(w, r, f, log)
		if !ok {
			return
		}
		list, version, unchanged, err := checks.Assignments(r.Context(), ag.Location, r.URL.Query().Get("since"))
		if err != nil {
			agentFail(w, r, log, err)
			return
		}
		if list == nil {
			list = []check.Assignment{}
		}
		writeJSON(w, http.StatusOK, Assignments{Version: version, Unchanged: unchanged, Location: ag.Location, Checks: list})
	})
	mux.HandleFunc("POST "+AgentPrefix+"/results", func(w http.ResponseWriter, r *http.Request) {
		ag, ok := agentFrom(w, r, f, log)
		if !ok {
			return
		}
		var in Report
		if !decodeAgentBody(w, r, &in) {
			return
		}
		rs := make([]check.Result, len(in.Results))
		for i, res := range in.Results {
			rs[i] = res.Result()
		}
		n, err := checks.Report(r.Context(), ag.Location, rs)
		if err != nil {
			agentFail(w, r, log, err)
			return
		}
		writeJSON(w, http.StatusAccepted, ReportAccepted{Accepted: n})
	})
	mux.HandleFunc(AgentPrefix+"/", func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, http.StatusNotFound, "not part of agent protocol v1")
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Groundcrew-Agent-Protocol", "1")
		mux.ServeHTTP(w, r)
	})
}

func agentFrom(w http.ResponseWriter, r *http.Request, f *fleet.Service, log *slog.Logger) (fleet.Agent, bool) {
	scheme, secret, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "Bearer") || secret == "" {
		writeProblem(w, http.StatusUnauthorized, "use Authorization: Bearer <agent credential>")
		return fleet.Agent{}, false
	}
	ag, err := f.Authenticate(r.Context(), strings.TrimSpace(secret))
	if err != nil {
		agentFail(w, r, log, err)
		return fleet.Agent{}, false
	}
	return ag, true
}

func decodeAgentBody(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, AgentMaxBodyBytes))
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeProblem(w, http.StatusRequestEntityTooLarge, "request body over 8 MiB")
			return false
		}
		writeProblem(w, http.StatusBadRequest, "malformed JSON body: "+err.Error())
		return false
	}
	return true
}

// agentFail writes a service error as problem details naming the field.
func agentFail(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	code := errs.CodeOf(err)
	status := errs.HTTPStatus(code)
	if code == errs.Internal {
		log.ErrorContext(r.Context(), "agent request", "path", r.URL.Path, "err", err)
		writeProblem(w, status, "internal error; see the server log")
		return
	}
	msg := errs.MessageOf(err)
	field := errs.FieldOf(err)
	w.Header().Set("Content-Type", "application/problem+json")
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="groundcrew-agent"`)
	}
	w.WriteHeader(status)
	p := map[string]any{"title": http.StatusText(status), "status": status, "detail": msg}
	if field != "" {
		p["errors"] = []map[string]string{{"message": msg, "location": "body." + field}}
	}
	_ = json.NewEncoder(w).Encode(p)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
