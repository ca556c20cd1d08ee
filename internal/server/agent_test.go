package server_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"groundcrew.dev/groundcrew/internal/agent"
	"groundcrew.dev/groundcrew/internal/check"
	gcclient "groundcrew.dev/groundcrew/internal/client"
	"groundcrew.dev/groundcrew/internal/db/dbtest"
	"groundcrew.dev/groundcrew/internal/fleet"
)

// catalogFixture creates an environment, a team and a service to hang
// checks on.
func catalogFixture(admin *client) {
	admin.must(201, "POST", "/api/v1/environments", map[string]any{"name": "prod", "criticality": "high"}, nil)
	admin.must(201, "POST", "/api/v1/teams", map[string]any{"name": "platform"}, nil)
	admin.must(201, "POST", "/api/v1/services", map[string]any{"name": "web", "owner": "platform", "tier": 1, "environments": []string{"prod"}}, nil)
}

func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestAgent_ProbesFromItsLocation enrolls a real agent with a token an
// operator created, and checks that a check probed from the server and
// the agent's location records runs from both, and goes DOWN from both
// when the target fails; a revoked agent stops.
func TestAgent_ProbesFromItsLocation(t *testing.T) {
	base := startServer(t, "")
	admin := login(t, base, "admin", adminPassword, "write")
	catalogFixture(admin)
	var up atomic.Bool
	up.Store(true)
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !up.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer target.Close()

	// A viewer cannot create enrollment tokens; an operator (admin) can.
	var tok struct{ Secret, Location string }
	admin.must(201, "POST", "/api/v1/enroll-tokens", map[string]any{"name": "eu-hosts", "location": "eu", "expires_in": "1h", "uses": 1}, &tok)
	if !strings.HasPrefix(tok.Secret, "gcet_") || tok.Location != "eu" {
		t.Fatalf("token = %+v", tok)
	}
	admin.must(201, "POST", "/api/v1/checks", map[string]any{"name": "web-multi", "service": "web", "environment": "prod",
		"type": "http", "interval": "500ms", "timeout": "300ms", "locations": []string{"local", "eu"}, "http": map[string]any{"url": target.URL}}, nil)

	state := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ag, err := agent.New(ctx, agent.Options{Server: base, EnrollToken: tok.Secret, Name: "edge-1", StateDir: state, PollInterval: 100 * time.Millisecond, ReportInterval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(state, agent.StateFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("state file: %v, mode %v; want 0600", err, fi.Mode().Perm())
	}
	done := make(chan error, 1)
	go func() { done <- ag.Run(ctx) }()

	// The token had one use: a second agent cannot enroll with it.
	if _, err := agent.New(ctx, agent.Options{Server: base, EnrollToken: tok.Secret, Name: "edge-2", StateDir: t.TempDir()}); err == nil || !strings.Contains(err.Error(), "used up") {
		t.Fatalf("second enrollment with a one-use token: %v", err)
	}

	locations := func() map[string]int {
		var page struct{ Items []check.Result }
		admin.must(200, "GET", "/api/v1/checks/web-multi/results?limit=200", nil, &page)
		m := map[string]int{}
		for _, r := range page.Items {
			m[r.Location]++
		}
		return m
	}
	waitFor(t, "runs from both locations", 15*time.Second, func() bool { m := locations(); return m["local"] > 0 && m["eu"] > 0 })

	up.Store(false)
	waitFor(t, "the check is DOWN from both locations", 20*time.Second, func() bool {
		var c check.Check
		admin.must(200, "GET", "/api/v1/checks/web-multi", nil, &c)
		return c.State.Status == check.Down && strings.Contains(c.State.Reason, "down from 2 of 2 locations")
	})

	// The agent is listed, seen, and stops once revoked.
	var agents struct{ Items []fleet.Agent }
	admin.must(200, "GET", "/api/v1/agents", nil, &agents)
	if len(agents.Items) != 1 || agents.Items[0].Name != "edge-1" || agents.Items[0].Location != "eu" || agents.Items[0].LastSeenAt == nil {
		t.Fatalf("agents = %+v", agents.Items)
	}
	admin.must(204, "DELETE", "/api/v1/agents/edge-1", nil, nil)
	select {
	case err := <-done:
		if err != agent.ErrRevoked {
			t.Fatalf("Run after revocation = %v, want ErrRevoked", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the agent kept running after it was revoked")
	}
}

// TestAgent_LocationQuorum reports results from two locations through the
// agent protocol and checks that a run fails only when
// min_failing_locations of them fail.
func TestAgent_LocationQuorum(t *testing.T) {
	base := startServer(t, "")
	testLocationQuorum(t, base, base)
}

// TestAgent_LocationQuorumTwoReplicas runs the same on PostgreSQL with two
// replicas, the agents reporting to one of them: whichever holds the
// check's lease decides its runs.
func TestAgent_LocationQuorumTwoReplicas(t *testing.T) {
	if dbtest.PostgresURL(t) == "" {
		t.Skip("GROUNDCREW_TEST_POSTGRES not set")
	}
	dsn := dbtest.PostgresDSN(t)
	a, b := startServerWith(t, dsn), startServerWith(t, dsn)
	testLocationQuorum(t, a, b)
}

// testLocationQuorum configures through base and reports to agentBase.
func testLocationQuorum(t *testing.T, base, agentBase string) {
	admin := login(t, base, "admin", adminPassword, "write")
	catalogFixture(admin)
	admin.must(201, "POST", "/api/v1/checks", map[string]any{"name": "api-quorum", "service": "web", "environment": "prod",
		"type": "http", "interval": "1s", "timeout": "500ms", "locations": []string{"eu", "us"}, "min_failing_locations": 2,
		"http": map[string]any{"url": "http://127.0.0.1:1/"}}, nil)
	// min_failing_locations above the number of locations is refused, naming the field.
	code, _, body := admin.do("POST", "/api/v1/checks", map[string]any{"name": "bad", "service": "web", "environment": "prod",
		"type": "http", "interval": "1s", "locations": []string{"eu"}, "min_failing_locations": 2, "http": map[string]any{"url": "http://127.0.0.1:1/"}})
	if code != 422 || !strings.Contains(string(body), "min_failing_locations") {
		t.Fatalf("bad quorum: %d %s", code, body)
	}

	ctx := context.Background()
	reporter := func(loc string) *gcclient.Client {
		var tok struct{ Secret string }
		admin.must(201, "POST", "/api/v1/enroll-tokens", map[string]any{"name": "t-" + loc}, &tok)
		anon, err := gcclient.New(agentBase, "")
		if err != nil {
			t.Fatal(err)
		}
		// The token names no location: the agent must.
		if _, err := anon.Enroll(ctx, fleet.Enrollment{Token: tok.Secret, Name: "agent-" + loc, Protocol: fleet.Protocol}); gcclient.StatusOf(err) != 422 {
			t.Fatalf("enroll without a location: %v", err)
		}
		if _, err := anon.Enroll(ctx, fleet.Enrollment{Token: tok.Secret, Name: "agent-" + loc, Location: loc, Protocol: 99}); gcclient.StatusOf(err) != 422 {
			t.Fatalf("enroll with an unknown protocol: %v", err)
		}
		out, err := anon.Enroll(ctx, fleet.Enrollment{Token: tok.Secret, Name: "agent-" + loc, Location: loc, Protocol: fleet.Protocol})
		if err != nil {
			t.Fatal(err)
		}
		cl, err := gcclient.New(agentBase, out.Credential)
		if err != nil {
			t.Fatal(err)
		}
		as, err := cl.AgentChecks(ctx, "")
		if err != nil || len(as.Checks) != 1 || as.Checks[0].Name != "api-quorum" {
			t.Fatalf("assignments of %s: %+v, %v", loc, as, err)
		}
		if again, err := cl.AgentChecks(ctx, as.Version); err != nil || !again.Unchanged {
			t.Fatalf("unchanged assignments: %+v, %v", again, err)
		}
		return cl
	}
	eu, us := reporter("eu"), reporter("us")
	var c check.Check
	admin.must(200, "GET", "/api/v1/checks/api-quorum", nil, &c)

	// Slots just ahead of now: a slot already past its deadline would be
	// decided as soon as its first location reports (a straggler is left
	// out), and the two agents report separately.
	slot := time.Now().Add(5 * time.Second).Truncate(time.Second)
	send := func(cl *gcclient.Client, at time.Time, s check.Status, reason string) {
		t.Helper()
		n, err := cl.AgentReport(ctx, []check.Result{{CheckID: c.ID, At: at, Status: s, Duration: 20 * time.Millisecond, Reason: reason}})
		if err != nil || n != 1 {
			t.Fatalf("report: %d, %v", n, err)
		}
	}
	stateAfter := func(at time.Time) check.State {
		t.Helper()
		var got check.Check
		waitFor(t, "slot "+at.Format(time.TimeOnly)+" decided", 10*time.Second, func() bool {
			admin.must(200, "GET", "/api/v1/checks/api-quorum", nil, &got)
			return got.State.LastRunAt != nil && !got.State.LastRunAt.Before(at)
		})
		return *got.State
	}
	// One of two locations failing is not enough.
	for i := range 3 {
		at := slot.Add(time.Duration(i) * time.Second)
		send(eu, at, check.Down, "connection refused")
		send(us, at, check.Up, "")
		if st := stateAfter(at); st.Status != check.Up {
			t.Fatalf("slot %d: state %s (%s), want up", i, st.Status, st.Reason)
		}
	}
	// Both failing, twice in a row (confirm.down 2): DOWN, saying why.
	for i := 3; i < 5; i++ {
		at := slot.Add(time.Duration(i) * time.Second)
		send(us, at, check.Down, "timeout")
		send(eu, at, check.Down, "connection refused")
		stateAfter(at)
	}
	admin.must(200, "GET", "/api/v1/checks/api-quorum", nil, &c)
	if c.State.Status != check.Down || !strings.Contains(c.State.Reason, "down from 2 of 2 locations") || !strings.Contains(c.State.Reason, "eu: connection refused") {
		t.Fatalf("state = %+v", c.State)
	}
	// A malformed report is refused whole, naming the result.
	_, err := eu.AgentReport(ctx, []check.Result{{CheckID: c.ID, At: time.Now(), Status: check.Up}, {CheckID: c.ID, At: time.Now(), Status: "maybe"}})
	if gcclient.StatusOf(err) != 422 || !strings.Contains(err.Error(), "results[1].status") {
		t.Fatalf("malformed report: %v", err)
	}
	// An unknown credential is refused.
	bogus, _ := gcclient.New(base, "gca_bogus")
	if _, err := bogus.AgentChecks(ctx, ""); !gcclient.IsUnauthorized(err) {
		t.Fatalf("bogus credential: %v", err)
	}
}
