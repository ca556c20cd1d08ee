package server_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"groundcrew.dev/groundcrew/internal/check"
	"groundcrew.dev/groundcrew/internal/db"
	"groundcrew.dev/groundcrew/internal/db/dbtest"
)

// Short leases and intervals so that failover happens in test time.
const testLeaseTTL = time.Second

var testCheckLimits = check.Limits{MinInterval: 50 * time.Millisecond}

// TestChecks_ReplicaFailover runs two replicas on one PostgreSQL database:
// the checks are split between them and every check runs once per slot;
// when one replica is killed (SIGKILL: it releases nothing), the other
// takes its checks over once the leases expire.
func TestChecks_ReplicaFailover(t *testing.T) {
	if dbtest.PostgresURL(t) == "" {
		t.Skip("GROUNDCREW_TEST_POSTGRES not set")
	}
	if testing.Short() {
		t.Skip("starts server processes")
	}
	dsn := dbtest.PostgresDSN(t)
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer target.Close()

	child, baseA := startChild(t, t.TempDir(), "GROUNDCREW_TEST_DSN="+dsn)
	baseB := startServerWith(t, dsn)
	admin := login(t, baseA, "admin", adminPassword, "write")
	admin.must(201, "POST", "/api/v1/environments", map[string]any{"name": "prod", "criticality": "high"}, nil)
	admin.must(201, "POST", "/api/v1/teams", map[string]any{"name": "platform"}, nil)
	admin.must(201, "POST", "/api/v1/services", map[string]any{"name": "web", "owner": "platform", "tier": 1, "environments": []string{"prod"}}, nil)
	const n = 20
	for i := range n {
		admin.must(201, "POST", "/api/v1/checks", map[string]any{"name": fmt.Sprintf("c%02d", i), "service": "web", "environment": "prod",
			"type": "http", "interval": "200ms", "timeout": "150ms", "http": map[string]any{"url": target.URL}}, nil)
	}
	d, err := db.Open(context.Background(), dsn, db.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ranSince := func(t0 time.Time) int {
		var k int
		if err := d.Reader().QueryRowContext(context.Background(),
			`SELECT count(DISTINCT check_id) FROM check_results WHERE at >= $1`, t0).Scan(&k); err != nil {
			t.Fatal(err)
		}
		return k
	}
	waitUntil := func(what string, timeout time.Duration, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(timeout)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting until %s", what)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	// Both replicas pick the new checks up and share them.
	start := time.Now()
	waitUntil("every check ran", 15*time.Second, func() bool { return ranSince(start) == n })

	// Kill replica A; B must run every check again within a few lease lifetimes.
	if err := child.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	child.Wait()
	killed := time.Now().Add(500 * time.Millisecond)
	waitUntil("replica B runs every check after A died", 10*testLeaseTTL, func() bool { return ranSince(killed) == n })

	// Never two runs of one check for one slot.
	var dups int
	if err := d.Reader().QueryRowContext(context.Background(), `SELECT count(*) FROM (SELECT check_id, at FROM check_results
		WHERE location = 'local' GROUP BY check_id, at HAVING count(*) > 1) x`).Scan(&dups); err != nil {
		t.Fatal(err)
	}
	if dups > 0 {
		t.Fatalf("%d slots ran on both replicas", dups)
	}
	_ = baseB
}
