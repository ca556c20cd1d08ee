package server_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"groundcrew.dev/groundcrew/internal/config"
	"groundcrew.dev/groundcrew/internal/db/dbtest"
	"groundcrew.dev/groundcrew/internal/secret"
	"groundcrew.dev/groundcrew/internal/server"
)

const adminPassword = "admin-password-for-tests"

// testSecretKey is the secret key of every test server (32 zero bytes).
var testSecretKey = base64.StdEncoding.EncodeToString(make([]byte, 32))

// startServer runs a real server on a random loopback port against dsn
// ("" for a fresh SQLite database) and returns its URL.
func startServer(t *testing.T, dsn string) string {
	t.Helper()
	return startServerWith(t, dsn)
}

// startServerWith is startServer with the test's short lease TTL and check
// intervals.
func startServerWith(t *testing.T, dsn string) string {
	t.Helper()
	dir := t.TempDir()
	if dsn == "" {
		dsn = "sqlite://" + filepath.Join(dir, "groundcrew.db")
	}
	cfg := config.Config{Listen: "127.0.0.1:0", DataDir: dir, Database: dsn, LogFormat: "text", LogLevel: "error", BaseURL: "http://127.0.0.1:0"}
	srv := server.New(cfg, server.Options{
		Getenv: func(k string) string {
			switch k {
			case "GROUNDCREW_ADMIN_PASSWORD":
				return adminPassword
			case secret.KeyEnv: // replicas share the key
				return testSecretKey
			}
			return ""
		},
		Out:         io.Discard,
		LeaseTTL:    testLeaseTTL,
		CheckLimits: testCheckLimits,
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Start(ctx); err != nil {
		t.Fatalf("start server: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Logf("shutdown: %v", err)
		}
	})
	return srv.URL()
}

// client is a tiny JSON client for the tests.
type client struct {
	t     *testing.T
	base  string
	token string
}

func (c *client) do(method, path string, body any, header ...string) (int, http.Header, []byte) {
	c.t.Helper()
	code, h, data, err := c.request(method, path, body, header...)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	return code, h, data
}

// doNoFatal is do for other goroutines than the test's: errors become code 0.
func (c *client) doNoFatal(method, path string, body any) (int, http.Header, []byte) {
	code, h, data, _ := c.request(method, path, body)
	return code, h, data
}

func (c *client) request(method, path string, body any, header ...string) (int, http.Header, []byte, error) {
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		r = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			return 0, nil, nil, err
		}
		r = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, c.base+path, r)
	if err != nil {
		return 0, nil, nil, err
	}
	if r != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, data, err
}

// must does a request that must answer want, and decodes the body into out.
func (c *client) must(want int, method, path string, body, out any, header ...string) http.Header {
	c.t.Helper()
	code, h, data := c.do(method, path, body, header...)
	if code != want {
		c.t.Fatalf("%s %s = %d, want %d: %s", method, path, code, want, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			c.t.Fatalf("%s %s: decode %s: %v", method, path, data, err)
		}
	}
	return h
}

var tokenSeq atomic.Int64

// login returns a client holding a fresh API token of user.
func login(t *testing.T, base, user, password, scope string) *client {
	t.Helper()
	c := &client{t: t, base: base}
	var tok struct{ Secret string }
	name := fmt.Sprintf("t-%s-%d", scope, tokenSeq.Add(1))
	c.must(201, "POST", "/api/v1/auth/token", map[string]string{"user": user, "password": password, "token_name": name, "scope": scope}, &tok)
	return &client{t: t, base: base, token: tok.Secret}
}

func TestHealthAndMetrics(t *testing.T) {
	base := startServer(t, "")
	c := &client{t: t, base: base}
	var ready map[string]string
	c.must(200, "GET", "/readyz", nil, &ready)
	if ready["database"] != "ok" || ready["migrations"] != "current" {
		t.Fatalf("readyz = %v", ready)
	}
	c.must(200, "GET", "/healthz", nil, nil)
	c.must(401, "GET", "/api/v1/services", nil, nil)
	_, _, metrics := c.do("GET", "/metrics", nil)
	for _, want := range []string{
		`groundcrew_http_request_duration_seconds_count{code="401",method="GET",route="GET /api/v1/services"}`,
		`groundcrew_db_connections_open{pool="write"}`,
		"go_goroutines",
	} {
		if !bytes.Contains(metrics, []byte(want)) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	var doc struct {
		OpenAPI string         `json:"openapi"`
		Paths   map[string]any `json:"paths"`
	}
	c.must(200, "GET", "/api/v1/openapi.json", nil, &doc)
	if doc.OpenAPI != "3.1.0" || doc.Paths["/services/{name}"] == nil {
		t.Fatalf("openapi = %s with %d paths", doc.OpenAPI, len(doc.Paths))
	}
}

func TestAPI_BadInput(t *testing.T) {
	base := startServer(t, "")
	admin := login(t, base, "admin", adminPassword, "write")
	admin.must(201, "POST", "/api/v1/teams", map[string]any{"name": "payments"}, nil)
	problem := func(wantCode int, wantLocation, wantDetail, method, path string, body any, header ...string) {
		t.Helper()
		var p struct {
			Status int
			Detail string
			Errors []struct{ Location, Message string }
		}
		admin.must(wantCode, method, path, body, &p, header...)
		if !strings.Contains(p.Detail, wantDetail) {
			t.Errorf("%s %s detail = %q, want it to contain %q", method, path, p.Detail, wantDetail)
		}
		if wantLocation != "" && (len(p.Errors) == 0 || p.Errors[0].Location != wantLocation) {
			t.Errorf("%s %s errors = %+v, want location %s", method, path, p.Errors, wantLocation)
		}
	}
	problem(400, "", "", "POST", "/api/v1/services", []byte(`{"name": "x",`))
	problem(422, "body.bogus", "validation failed", "POST", "/api/v1/services", map[string]any{"name": "x", "owner": "payments", "tier": 1, "bogus": true})
	problem(422, "body.name", "not a valid name", "POST", "/api/v1/services", map[string]any{"name": "X_Y", "owner": "payments", "tier": 1})
	problem(422, "body.owner", `team "ghost" does not exist`, "POST", "/api/v1/services", map[string]any{"name": "x", "owner": "ghost", "tier": 1})
	problem(422, "body.depends_on[0]", `service "ghost" does not exist`, "POST", "/api/v1/services", map[string]any{"name": "x", "owner": "payments", "tier": 1, "depends_on": []string{"ghost"}})
	big := map[string]any{"name": "x", "owner": "payments", "tier": 1, "description": strings.Repeat("a", 2<<20)}
	code, _, _ := admin.do("POST", "/api/v1/services", big)
	if code != http.StatusRequestEntityTooLarge {
		t.Errorf("2 MiB body = %d, want 413", code)
	}
	var list struct{ Items []any }
	admin.must(200, "GET", "/api/v1/services", nil, &list)
	if len(list.Items) != 0 {
		t.Fatalf("bad input wrote %d services", len(list.Items))
	}

	// ETag and If-Match guard against lost updates.
	h := admin.must(201, "POST", "/api/v1/services", map[string]any{"name": "api", "owner": "payments", "tier": 2}, nil)
	etag := h.Get("ETag")
	if etag != `"1"` {
		t.Fatalf("ETag = %q", etag)
	}
	admin.must(200, "PUT", "/api/v1/services/api", map[string]any{"owner": "payments", "tier": 1}, nil, "If-Match", etag)
	problem(412, "", "changed by someone else", "PUT", "/api/v1/services/api", map[string]any{"owner": "payments", "tier": 3}, "If-Match", etag)
	problem(412, "header.If-Match", "", "DELETE", "/api/v1/services/api", nil, "If-Match", "garbage")
	admin.must(204, "DELETE", "/api/v1/services/api", nil, nil, "If-Match", `"2"`)

	// Revoked and unknown tokens are refused.
	var tok struct{ Secret string }
	admin.must(201, "POST", "/api/v1/tokens", map[string]any{"name": "short-lived"}, &tok)
	other := &client{t: t, base: base, token: tok.Secret}
	other.must(200, "GET", "/api/v1/whoami", nil, nil)
	admin.must(204, "DELETE", "/api/v1/tokens/short-lived", nil, nil)
	other.must(401, "GET", "/api/v1/whoami", nil, nil)
	(&client{t: t, base: base, token: "gct_nope"}).must(401, "GET", "/api/v1/whoami", nil, nil)
}

func TestAPI_Pagination(t *testing.T) {
	base := startServer(t, "")
	admin := login(t, base, "admin", adminPassword, "write")
	admin.must(201, "POST", "/api/v1/teams", map[string]any{"name": "payments"}, nil)
	for i := range 7 {
		admin.must(201, "POST", "/api/v1/services", map[string]any{"name": fmt.Sprintf("svc-%02d", i), "owner": "payments", "tier": 2}, nil)
	}
	var names []string
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("pagination does not end")
		}
		var p struct {
			Items      []struct{ Name string }
			NextCursor string `json:"next_cursor"`
		}
		admin.must(200, "GET", "/api/v1/services?limit=3&cursor="+cursor, nil, &p)
		for _, it := range p.Items {
			names = append(names, it.Name)
		}
		if p.NextCursor == "" {
			break
		}
		cursor = p.NextCursor
	}
	if len(names) != 7 || names[0] != "svc-00" || names[6] != "svc-06" {
		t.Fatalf("paged names = %v", names)
	}
	admin.must(422, "GET", "/api/v1/services?cursor=!!!", nil, nil)
}

// TestTwoReplicas starts two servers on one PostgreSQL database, writes
// through one and reads through the other.
func TestTwoReplicas(t *testing.T) {
	if dbtest.PostgresURL(t) == "" {
		t.Skip("GROUNDCREW_TEST_POSTGRES not set")
	}
	dsn := dbtest.PostgresDSN(t)
	a := startServer(t, dsn)
	b := startServer(t, dsn)
	ca := login(t, a, "admin", adminPassword, "write")
	ca.must(201, "POST", "/api/v1/teams", map[string]any{"name": "payments"}, nil)
	ca.must(201, "POST", "/api/v1/services", map[string]any{"name": "api", "owner": "payments", "tier": 1}, nil)
	// The token issued by replica a works on replica b: nothing lives in memory.
	cb := &client{t: t, base: b, token: ca.token}
	var s struct {
		Name, Owner string
		Tier        int
	}
	cb.must(200, "GET", "/api/v1/services/api", nil, &s)
	if s.Owner != "payments" || s.Tier != 1 {
		t.Fatalf("replica b sees %+v", s)
	}
	cb.must(200, "PUT", "/api/v1/services/api", map[string]any{"owner": "payments", "tier": 3}, nil, "If-Match", `"1"`)
	ca.must(200, "GET", "/api/v1/services/api", nil, &s)
	if s.Tier != 3 {
		t.Fatalf("replica a sees tier %d after the update through b", s.Tier)
	}
	var rep struct {
		OK      bool
		Checked int
	}
	cb.must(200, "GET", "/api/v1/audit/verify", nil, &rep)
	if !rep.OK || rep.Checked < 4 {
		t.Fatalf("audit chain across replicas = %+v", rep)
	}
}
