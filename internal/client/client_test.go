package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"groundcrew.dev/groundcrew/internal/apply"
)

// fakeAPI serves handler under /api/v1 and returns a client of it.
func fakeAPI(t *testing.T, handler http.HandlerFunc, opts ...Option) *Client {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle(APIPrefix+"/", handler)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	c, err := New(srv.URL+"/", "gct_secret", opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestNew_BaseURL(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"http://127.0.0.1:8080", "http://127.0.0.1:8080"},
		{"https://ops.example.com/", "https://ops.example.com"},
		{"https://ops.example.com/api/v1/", "https://ops.example.com"},
		{"https://example.com/groundcrew", "https://example.com/groundcrew"},
		{" http://host:1 ", "http://host:1"},
	} {
		c, err := New(tc.in, "")
		if err != nil {
			t.Errorf("New(%q): %v", tc.in, err)
			continue
		}
		if got := c.BaseURL(); got != tc.want {
			t.Errorf("New(%q).BaseURL() = %q, want %q", tc.in, got, tc.want)
		}
	}
	for _, bad := range []string{"", "ops.example.com", "ftp://x", "http://", "http://u:p@host", "http://host/?q=1", "://x"} {
		if _, err := New(bad, ""); err == nil {
			t.Errorf("New(%q) accepted", bad)
		}
	}
}

func TestDo_Request(t *testing.T) {
	// The handler's request, kept under mu: the race detector does not
	// see the socket between handler and client as synchronization.
	var mu sync.Mutex
	var lastReq *http.Request
	var lastBody []byte
	last := func() (*http.Request, []byte) {
		mu.Lock()
		defer mu.Unlock()
		return lastReq, lastBody
	}
	c := fakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		lastReq = r.Clone(context.Background())
		lastBody, _ = io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"dry_run":true,"changes":[{"kind":"Service","name":"a","action":"created"}],"warnings":["w"]}`)
	}, WithUserAgent("test-agent"))
	docs := []apply.Document{{APIVersion: apply.APIVersion, Kind: "Service", Metadata: apply.Metadata{Name: "a"},
		Spec: json.RawMessage(`{"owner":"t"}`), Source: &apply.Source{File: "a.yaml", Index: 1}}}
	res, err := c.Apply(context.Background(), docs, true, true, "svc")
	if err != nil {
		t.Fatal(err)
	}
	got, body := last()
	if got.Method != http.MethodPost || got.URL.Path != "/api/v1/apply" {
		t.Errorf("request %s %s", got.Method, got.URL.Path)
	}
	for h, want := range map[string]string{
		"Content-Type": "application/json", "Authorization": "Bearer gct_secret", "User-Agent": "test-agent",
	} {
		if v := got.Header.Get(h); v != want {
			t.Errorf("%s: %q, want %q", h, v, want)
		}
	}
	want := `{"documents":[{"apiVersion":"groundcrew.dev/v1","kind":"Service","metadata":{"name":"a"},"spec":{"owner":"t"},"source":{"file":"a.yaml","index":1}}],"dry_run":true,"prune":true,"set":"svc"}`
	if string(body) != want {
		t.Errorf("body\n%s\nwant\n%s", body, want)
	}
	if !res.DryRun || len(res.Changes) != 1 || res.Changes[0].Action != "created" || res.Warnings[0] != "w" {
		t.Errorf("result %+v", res)
	}

	// No body, no Content-Type; no token, no Authorization.
	anon, _ := New(c.BaseURL(), "")
	if _, err := anon.WhoAmI(context.Background()); err != nil {
		t.Fatal(err)
	}
	got, _ = last()
	if got.Header.Get("Content-Type") != "" || got.Header.Get("Authorization") != "" {
		t.Errorf("GET without token sent Content-Type %q, Authorization %q", got.Header.Get("Content-Type"), got.Header.Get("Authorization"))
	}
}

func TestError(t *testing.T) {
	for _, tc := range []struct {
		name        string
		status      int
		contentType string
		body        string
		want        string
		fields      []FieldError
	}{
		{
			name: "apply problem", status: 422, contentType: "application/problem+json",
			body: `{"title":"Unprocessable Entity","status":422,"detail":"a.yaml: document 2 (Service/x): spec.owner: team \"x\" does not exist",` +
				`"errors":[{"message":"a.yaml: document 2 (Service/x): spec.owner: team \"x\" does not exist","location":"body.spec.owner","value":null}]}`,
			want:   `a.yaml: document 2 (Service/x): spec.owner: team "x" does not exist`,
			fields: []FieldError{{Location: "body.spec.owner", Message: `a.yaml: document 2 (Service/x): spec.owner: team "x" does not exist`}},
		},
		{
			name: "validation problem", status: 422, contentType: "application/problem+json",
			body:   `{"title":"Unprocessable Entity","status":422,"detail":"validation failed","errors":[{"message":"expected length <= 512","location":"body.password","value":"hunter2-secret"}]}`,
			want:   "validation failed: password: expected length <= 512",
			fields: []FieldError{{Location: "body.password", Message: "expected length <= 512"}},
		},
		{
			name: "unauthorized", status: 401, contentType: "application/problem+json",
			body: `{"title":"Unauthorized","status":401,"detail":"API token was revoked"}`,
			want: "API token was revoked",
		},
		{
			name: "proxy page", status: 502, contentType: "text/html",
			body: "<html><body>Bad gateway</body></html>",
			want: "Bad Gateway",
		},
		{
			name: "plain text", status: 503, contentType: "text/plain",
			body: "upstream connect error\n",
			want: "upstream connect error",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := fakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", tc.contentType)
				w.WriteHeader(tc.status)
				fmt.Fprint(w, tc.body)
			})
			_, err := c.WhoAmI(context.Background())
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T %v, want *Error", err, err)
			}
			if e.Status != tc.status || err.Error() != tc.want {
				t.Errorf("error %d %q, want %d %q", e.Status, err.Error(), tc.status, tc.want)
			}
			if fmt.Sprint(e.Fields) != fmt.Sprint(tc.fields) {
				t.Errorf("fields %v, want %v", e.Fields, tc.fields)
			}
			if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "gct_secret") {
				t.Errorf("error shows a secret: %v", err)
			}
			if StatusOf(fmt.Errorf("wrapped: %w", err)) != tc.status {
				t.Errorf("StatusOf a wrapped error is not %d", tc.status)
			}
		})
	}
}

func TestList_FollowsCursors(t *testing.T) {
	var mu sync.Mutex
	var cursors []string
	c := fakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		cursors = append(cursors, r.URL.Query().Get("cursor"))
		mu.Unlock()
		if r.URL.Query().Get("owner") != "payments" {
			http.Error(w, "filter lost", http.StatusBadRequest)
			return
		}
		page, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Query().Get("cursor"), "p"))
		next := ""
		if page < 2 {
			next = fmt.Sprintf(`,"next_cursor":"p%d"`, page+1)
		}
		fmt.Fprintf(w, `{"items":[{"name":"s%d-a"},{"name":"s%d-b"}]%s}`, page, page, next)
	})
	svcs, err := c.ListServices(context.Background(), map[string][]string{"owner": {"payments"}})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range svcs {
		names = append(names, s.Name)
	}
	if got := strings.Join(names, ","); got != "s0-a,s0-b,s1-a,s1-b,s2-a,s2-b" {
		t.Errorf("names %s", got)
	}
	mu.Lock()
	defer mu.Unlock()
	if got := strings.Join(cursors, ","); got != ",p1,p2" {
		t.Errorf("cursors sent %q", got)
	}
}

func TestList_RepeatedCursor(t *testing.T) {
	c := fakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"items":[{"name":"x"}],"next_cursor":"same"}`)
	})
	if _, err := c.ListTeams(context.Background(), nil); err == nil || !strings.Contains(err.Error(), "same cursor") {
		t.Errorf("a server repeating its cursor: %v", err)
	}
}

func TestListAudit_Limit(t *testing.T) {
	var mu sync.Mutex
	var limits []string
	c := fakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		mu.Lock()
		limits = append(limits, q.Get("limit"))
		mu.Unlock()
		if q.Get("actor") != "alice" || q.Get("kind") != "service" {
			http.Error(w, "filter lost", http.StatusBadRequest)
			return
		}
		n, _ := strconv.Atoi(q.Get("limit"))
		before := 1000
		if cur := q.Get("cursor"); cur != "" {
			before, _ = strconv.Atoi(cur)
		}
		var items []string
		for i := range n {
			items = append(items, fmt.Sprintf(`{"seq":%d}`, before-1-i))
		}
		fmt.Fprintf(w, `{"items":[%s],"next_cursor":"%d"}`, strings.Join(items, ","), before-n)
	})
	recs, err := c.ListAudit(context.Background(), AuditFilter{Actor: "alice", Kind: "service", Limit: 700})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 700 || recs[0].Seq != 999 || recs[699].Seq != 300 {
		t.Errorf("%d records from %d to %d", len(recs), recs[0].Seq, recs[len(recs)-1].Seq)
	}
	mu.Lock()
	defer mu.Unlock()
	if got := strings.Join(limits, ","); got != "500,200" {
		t.Errorf("page sizes asked %s, want 500,200", got)
	}
}

func TestDo_BoundsResponses(t *testing.T) {
	c := fakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"name":"%s"}`, strings.Repeat("x", 2<<20))
	}, WithMaxBodyBytes(1<<20))
	if _, err := c.WhoAmI(context.Background()); err == nil || !strings.Contains(err.Error(), "larger than 1 MiB") {
		t.Errorf("a 2 MiB response with a 1 MiB bound: %v", err)
	}
}

func TestDo_Timeout(t *testing.T) {
	release := make(chan struct{})
	c := fakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}, WithTimeout(50*time.Millisecond))
	defer close(release)
	_, err := c.WhoAmI(context.Background())
	if err == nil || strings.Contains(err.Error(), "gct_secret") {
		t.Errorf("a hanging server: %v", err)
	}
}
