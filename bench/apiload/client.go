package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// client talks to the API with keep-alive connections, enough idle ones
// for every concurrent caller. Safe for concurrent use.
type client struct {
	base  string
	token string
	hc    *http.Client
}

func newClient(base string, conns int, timeout time.Duration) *client {
	tr := &http.Transport{
		Proxy:               nil, // loopback only, whatever the environment says
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        2 * conns,
		MaxIdleConnsPerHost: 2 * conns,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true, // measure the server's JSON as it is sent
	}
	return &client{base: base + "/api/v1", hc: &http.Client{Transport: tr, Timeout: timeout}}
}

// do sends one request and reads the whole response into buf (reset
// first). It returns the status code; err is a transport error.
func (c *client) do(ctx context.Context, method, path string, body []byte, buf *bytes.Buffer) (int, error) {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, r)
	if err != nil {
		return 0, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	buf.Reset()
	if _, err := buf.ReadFrom(resp.Body); err != nil {
		return resp.StatusCode, err
	}
	return resp.StatusCode, nil
}

// call sends a request with a JSON body and expects status want; out, when
// not nil, receives the decoded response.
func (c *client) call(ctx context.Context, method, path string, in any, want int, out any) error {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return err
		}
	}
	var buf bytes.Buffer
	code, err := c.do(ctx, method, path, body, &buf)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if code != want {
		return &statusError{method: method, path: path, code: code, body: buf.String()}
	}
	if out != nil {
		if err := json.Unmarshal(buf.Bytes(), out); err != nil {
			return fmt.Errorf("%s %s: decode: %w", method, path, err)
		}
	}
	return nil
}

type statusError struct {
	method, path string
	code         int
	body         string
}

func (e *statusError) Error() string {
	return fmt.Sprintf("%s %s: %d %s", e.method, e.path, e.code, truncate(e.body, 300))
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// login exchanges the admin password for an API token.
func (c *client) login(ctx context.Context, user, password string) (string, error) {
	var out struct {
		Secret string `json:"secret"`
	}
	err := c.call(ctx, http.MethodPost, "/auth/token", map[string]string{
		"user": user, "password": password, "token_name": "apiload",
	}, http.StatusCreated, &out)
	if err != nil {
		return "", fmt.Errorf("log in: %w", err)
	}
	if out.Secret == "" {
		return "", errors.New("log in: no secret in the response")
	}
	return out.Secret, nil
}

// catalog is what seed created.
type catalog struct {
	team     string
	envs     []string
	services []string // sorted by name
}

const benchTeam = "bench-team"

var benchEnvs = []struct{ name, criticality string }{
	{"production", "critical"}, {"staging", "medium"}, {"development", "low"},
}

// serviceInput is the body of a service create, shaped like a real
// catalog entry (links, tags, labels, environments, a dependency).
type serviceInput struct {
	Name         string            `json:"name"`
	DisplayName  string            `json:"display_name"`
	Description  string            `json:"description"`
	Owner        string            `json:"owner"`
	Tier         int               `json:"tier"`
	Lifecycle    string            `json:"lifecycle"`
	System       string            `json:"system"`
	Environments []string          `json:"environments"`
	DependsOn    []string          `json:"depends_on,omitempty"`
	Runbook      string            `json:"runbook"`
	Repository   string            `json:"repository"`
	Tags         []string          `json:"tags"`
	Labels       map[string]string `json:"labels"`
}

func newService(name string, i int, dep string) serviceInput {
	in := serviceInput{
		Name:        name,
		DisplayName: "Service " + name,
		Description: "Benchmark service " + strconv.Itoa(i) + ", seeded by apiload; owned by the benchmark team.",
		Owner:       benchTeam,
		Tier:        1 + i%4,
		Lifecycle:   "production",
		System:      "system-" + strconv.Itoa(i%20),
		Runbook:     "https://runbooks.example.com/" + name,
		Repository:  "https://git.example.com/bench/" + name,
		Tags:        []string{"bench", "group-" + strconv.Itoa(i%10)},
		Labels:      map[string]string{"cost-center": "cc-" + strconv.Itoa(i%7)},
	}
	switch {
	case i%10 == 9:
		in.Lifecycle = "experimental"
	case i%25 == 24:
		in.Lifecycle = "deprecated"
	}
	switch i % 3 {
	case 0:
		in.Environments = []string{"production", "staging"}
	case 1:
		in.Environments = []string{"production"}
	default:
		in.Environments = []string{"staging", "development"}
	}
	if dep != "" {
		in.DependsOn = []string{dep}
	}
	return in
}

// seedName is the name of the i-th seeded service; fixed width so that
// the API's name order is the index order.
func seedName(i, n int) string {
	width := max(5, len(strconv.Itoa(n-1)))
	return fmt.Sprintf("svc-%0*d", width, i)
}

// depGap is how far back a seeded service's dependency is: far enough that
// with a handful of seeding clients it exists already.
const depGap = 997

// seed creates the benchmark team, three environments and cfg.services
// services through the API, with cfg.seedClients concurrent clients.
func seed(ctx context.Context, c *client, cfg config) (catalog, error) {
	cat := catalog{team: benchTeam}
	if err := c.call(ctx, http.MethodPost, "/teams", map[string]any{
		"name": benchTeam, "display_name": "Benchmark team", "description": "owns what apiload creates",
	}, http.StatusCreated, nil); err != nil {
		return cat, fmt.Errorf("seed: %w", err)
	}
	for _, e := range benchEnvs {
		if err := c.call(ctx, http.MethodPost, "/environments", map[string]any{
			"name": e.name, "criticality": e.criticality,
		}, http.StatusCreated, nil); err != nil {
			return cat, fmt.Errorf("seed: %w", err)
		}
		cat.envs = append(cat.envs, e.name)
	}
	n := cfg.services
	cat.services = make([]string, n)
	for i := range n {
		cat.services[i] = seedName(i, n)
	}

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	next := atomic.Int64{}
	var done atomic.Int64
	var wg sync.WaitGroup
	for range min(cfg.seedClients, max(n, 1)) {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				dep := ""
				if cfg.deps && i%4 == 0 && i >= depGap {
					dep = cat.services[i-depGap]
				}
				if err := createSeeded(ctx, c, newService(cat.services[i], i, dep)); err != nil {
					cancel(err)
					return
				}
				if d := done.Add(1); d%2000 == 0 {
					fmt.Fprintf(os.Stderr, "apiload: seeded %d/%d\n", d, n)
				}
			}
		})
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return cat, fmt.Errorf("seed: %w", err)
	}
	return cat, nil
}

// createSeeded creates one service, retrying a few times when its
// dependency is still being created by another seeding client.
func createSeeded(ctx context.Context, c *client, in serviceInput) error {
	var err error
	for attempt := range 5 {
		err = c.call(ctx, http.MethodPost, "/services", in, http.StatusCreated, nil)
		var se *statusError
		if err == nil || !errors.As(err, &se) || se.code != http.StatusUnprocessableEntity || len(in.DependsOn) == 0 {
			return err
		}
		time.Sleep(time.Duration(attempt+1) * 50 * time.Millisecond)
	}
	return err
}
