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
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// loopbackClient ignores proxy settings: every request goes to 127.0.0.1.
var loopbackClient = &http.Client{
	Transport: &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConnsPerHost: 16,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true, // measure what the server sends
	},
	Timeout: 2 * time.Minute,
	CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse // the login's 303 carries the cookie
	},
}

// client talks to one server with an API token and, once loginUI has run,
// a UI session cookie. Safe for concurrent use.
type client struct {
	base    string
	token   string
	session string
	timeout time.Duration
}

// get sends a GET (API paths start with /api/v1) and reads the whole body
// into buf; it returns the status code and the time to the last byte.
func (c *client) get(ctx context.Context, path string, buf *bytes.Buffer) (int, time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return 0, 0, err
	}
	if strings.HasPrefix(path, "/api/") {
		req.Header.Set("Accept", "application/json")
		req.Header.Set("Authorization", "Bearer "+c.token)
	} else if c.session != "" {
		req.AddCookie(&http.Cookie{Name: sessionCookie, Value: c.session})
	}
	start := time.Now()
	resp, err := loopbackClient.Do(req)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	buf.Reset()
	_, err = buf.ReadFrom(resp.Body)
	return resp.StatusCode, time.Since(start), err
}

// call sends a JSON request to the API and expects status want; out, when
// not nil, receives the decoded response.
func (c *client) call(ctx context.Context, method, path string, in any, want int, out any) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+"/api/v1"+path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := loopbackClient.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, truncate(string(b), 400))
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("%s %s: decode: %w", method, path, err)
		}
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// login exchanges the admin password for an API token.
func (c *client) login(ctx context.Context, password string) error {
	var out struct {
		Secret string `json:"secret"`
	}
	err := c.call(ctx, http.MethodPost, "/auth/token", map[string]string{
		"user": "admin", "password": password, "token_name": "checkload",
	}, http.StatusCreated, &out)
	if err != nil {
		return fmt.Errorf("log in: %w", err)
	}
	if out.Secret == "" {
		return errors.New("log in: no secret in the response")
	}
	c.token = out.Secret
	return nil
}

const sessionCookie = "groundcrew_session" // identity.SessionCookie

// loginUI logs in through the UI's form and keeps the session cookie.
func (c *client) loginUI(ctx context.Context, password string) error {
	form := url.Values{"user": {"admin"}, "password": {password}, "next": {"/checks"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/login", strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := loopbackClient.Do(req)
	if err != nil {
		return fmt.Errorf("UI log in: %w", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		return fmt.Errorf("UI log in: status %d, want 303", resp.StatusCode)
	}
	for _, ck := range resp.Cookies() {
		if ck.Name == sessionCookie && ck.Value != "" {
			c.session = ck.Value
			return nil
		}
	}
	return errors.New("UI log in: no session cookie")
}

// document is one document of POST /api/v1/apply.
type document struct {
	APIVersion string         `json:"apiVersion"`
	Kind       string         `json:"kind"`
	Metadata   map[string]any `json:"metadata"`
	Spec       map[string]any `json:"spec"`
}

func doc(kind, name string, spec map[string]any) document {
	return document{APIVersion: "groundcrew.dev/v1", Kind: kind, Metadata: map[string]any{"name": name}, Spec: spec}
}

// apply applies documents in one transaction.
func (c *client) apply(ctx context.Context, docs []document) error {
	return c.call(ctx, http.MethodPost, "/apply", map[string]any{"documents": docs, "set": "checkload"}, http.StatusOK, nil)
}

const (
	benchTeam = "checkload"
	benchEnv  = "prod"
)

func checkName(i int) string   { return fmt.Sprintf("chk-%05d", i) }
func serviceName(i int) string { return fmt.Sprintf("svc-%04d", i) }

// seeding is what seed created and when.
type seeding struct {
	took      time.Duration // the check batches only
	batchDone []time.Time   // when each batch of checks was applied
}

// seed creates a team, an environment, the services and n HTTP checks
// through POST /api/v1/apply: check i probes targetURL/c/i every interval,
// with the default condition. Check batches go in with `clients`
// concurrent requests.
func seed(ctx context.Context, c *client, cfg config, n int, targetURL string) (seeding, error) {
	var s seeding
	nServices := (n + cfg.perService - 1) / cfg.perService
	docs := []document{
		doc("Team", benchTeam, map[string]any{"display_name": "Checkload", "description": "owns what checkload creates"}),
		doc("Environment", benchEnv, map[string]any{"criticality": "critical"}),
	}
	if err := c.apply(ctx, docs); err != nil {
		return s, fmt.Errorf("seed team and environment: %w", err)
	}
	for lo := 0; lo < nServices; lo += cfg.batch {
		docs = docs[:0]
		for i := lo; i < min(nServices, lo+cfg.batch); i++ {
			docs = append(docs, doc("Service", serviceName(i), map[string]any{
				"owner": benchTeam, "tier": 2, "environments": []string{benchEnv},
			}))
		}
		if err := c.apply(ctx, docs); err != nil {
			return s, fmt.Errorf("seed services: %w", err)
		}
	}

	batches := (n + cfg.batch - 1) / cfg.batch
	s.batchDone = make([]time.Time, batches)
	start := time.Now()
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var mu sync.Mutex
	next := 0
	var wg sync.WaitGroup
	for range min(cfg.seedClients, batches) {
		wg.Go(func() {
			for ctx.Err() == nil {
				mu.Lock()
				b := next
				next++
				mu.Unlock()
				if b >= batches {
					return
				}
				var docs []document
				for i := b * cfg.batch; i < min(n, (b+1)*cfg.batch); i++ {
					docs = append(docs, doc("Check", checkName(i), map[string]any{
						"service":     serviceName(i / cfg.perService),
						"environment": benchEnv,
						"type":        "http",
						"interval":    cfg.interval.String(),
						"http":        map[string]any{"url": targetURL + "/c/" + strconv.Itoa(i)},
					}))
				}
				if err := c.apply(ctx, docs); err != nil {
					cancel(fmt.Errorf("seed checks %d–%d: %w", b*cfg.batch, min(n, (b+1)*cfg.batch)-1, err))
					return
				}
				mu.Lock()
				s.batchDone[b] = time.Now()
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return s, err
	}
	s.took = time.Since(start)
	return s, nil
}
