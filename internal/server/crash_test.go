package server_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"groundcrew.dev/groundcrew/internal/config"
	"groundcrew.dev/groundcrew/internal/secret"
	"groundcrew.dev/groundcrew/internal/server"
)

// TestMain lets a test start this test binary as a real server process
// (GROUNDCREW_TEST_CHILD=serve), so that it can be killed with SIGKILL.
func TestMain(m *testing.M) {
	if os.Getenv("GROUNDCREW_TEST_CHILD") == "serve" {
		serveChild()
		return
	}
	os.Exit(m.Run())
}

func serveChild() {
	dir := os.Getenv("GROUNDCREW_TEST_DIR")
	dsn := os.Getenv("GROUNDCREW_TEST_DSN")
	if dsn == "" {
		dsn = "sqlite://" + filepath.Join(dir, "groundcrew.db")
	}
	cfg := config.Config{Listen: "127.0.0.1:0", DataDir: dir, Database: dsn, LogFormat: "text", LogLevel: "error", BaseURL: "http://127.0.0.1:0",
		PagingMailer: os.Getenv("GROUNDCREW_TEST_PAGING_MAILER")}
	srv := server.New(cfg, server.Options{Out: io.Discard, LeaseTTL: testLeaseTTL, CheckLimits: testCheckLimits, Getenv: os.Getenv})
	if err := srv.Start(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := os.WriteFile(filepath.Join(dir, "url"), []byte(srv.URL()), 0o600); err != nil {
		os.Exit(1)
	}
	select {} // until killed
}

func startChild(t *testing.T, dir string, env ...string) (*exec.Cmd, string) {
	t.Helper()
	os.Remove(filepath.Join(dir, "url"))
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "GROUNDCREW_TEST_CHILD=serve", "GROUNDCREW_TEST_DIR="+dir, "GROUNDCREW_ADMIN_PASSWORD="+adminPassword, secret.KeyEnv+"="+testSecretKey)
	cmd.Env = append(cmd.Env, env...)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(filepath.Join(dir, "url")); err == nil && len(b) > 0 { // empty: being written
			return cmd, string(b)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("child server did not start")
	return nil, ""
}

// TestApply_KilledMidwayLeavesNothing kills the server with SIGKILL while
// a large apply runs and checks, after a restart, that none of it landed.
func TestApply_KilledMidwayLeavesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("starts server processes")
	}
	dir := t.TempDir()
	cmd, base := startChild(t, dir)
	admin := login(t, base, "admin", adminPassword, "write")
	admin.must(201, "POST", "/api/v1/teams", map[string]any{"name": "payments"}, nil)

	const n = 4000
	docs := make([]any, n)
	for i := range docs {
		docs[i] = map[string]any{"apiVersion": "groundcrew.dev/v1", "kind": "Service",
			"metadata": map[string]any{"name": fmt.Sprintf("svc-%05d", i)},
			"spec":     map[string]any{"owner": "payments", "tier": 3, "description": strings.Repeat("x", 200)}}
	}
	done := make(chan int, 1)
	go func() {
		c := &client{t: t, base: base, token: admin.token}
		code, _, _ := c.doNoFatal("POST", "/api/v1/apply", map[string]any{"documents": docs})
		done <- code
	}()
	time.Sleep(150 * time.Millisecond)
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	code := <-done

	_, base = startChild(t, dir)
	admin = login(t, base, "admin", adminPassword, "write")
	var all struct{ Items []any }
	admin.must(200, "GET", "/api/v1/documents/services", nil, &all)
	switch got := len(all.Items); {
	case got == 0:
		t.Logf("killed mid-apply (response %d): nothing landed", code)
	case got == n && code != 200:
		t.Logf("the apply committed just before the kill: all %d landed", n)
	case got == n:
		t.Logf("the apply finished before the kill")
	default:
		t.Fatalf("after a crash mid-apply %d of %d services exist; want all or none", got, n)
	}
	var rep struct{ OK bool }
	admin.must(200, "GET", "/api/v1/audit/verify", nil, &rep)
	if !rep.OK {
		t.Fatal("audit chain broken after the crash")
	}
}
