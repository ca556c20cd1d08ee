package main

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"groundcrew.dev/groundcrew/bench/harness"

	_ "github.com/jackc/pgx/v5/stdlib" // "pgx" driver: the fresh schema and result counts
	_ "modernc.org/sqlite"             // "sqlite" driver: read-only result counts
)

// The process plumbing below follows bench/apiload (build, start with a
// fresh data directory or schema, read the address from the log, stop by
// PID); it is copied rather than shared because both are main packages.

// build builds pkg (./cmd/groundcrew or ./bench/profserve) into dir.
func build(ctx context.Context, pkg, dir string) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("run from groundcrew's source tree, or pass -bin")
	}
	bin := filepath.Join(dir, filepath.Base(pkg))
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, pkg)
	cmd.Dir = filepath.Dir(mod)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("build %s: %w", pkg, err)
	}
	logf("built %s in %s", pkg, time.Since(start).Round(time.Millisecond))
	return bin, nil
}

// pgSchema is the fresh PostgreSQL schema of one run.
type pgSchema struct {
	name  string
	dsn   string // the server's DSN: search_path selects the schema
	admin *sql.DB
}

func freshSchema(ctx context.Context, dsn string) (*pgSchema, error) {
	u, err := url.Parse(dsn)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return nil, fmt.Errorf("-database %q: want postgres://…", harness.RedactDSN(dsn))
	}
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, err
	}
	admin.SetMaxOpenConns(2)
	name := "checkload_" + harness.RandomHex(6)
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+name); err != nil {
		admin.Close()
		return nil, fmt.Errorf("create schema on %s: %w", harness.RedactDSN(dsn), err)
	}
	q := u.Query()
	q.Set("search_path", name)
	u.RawQuery = q.Encode()
	return &pgSchema{name: name, dsn: u.String(), admin: admin}, nil
}

// analyze collects planner statistics for the schema's tables, as
// autovacuum would after the inserts of creating the checks and their
// first runs; test servers often run without autovacuum, and plans without
// statistics are not what production sees.
func (s *pgSchema) analyze(ctx context.Context) error {
	rows, err := s.admin.QueryContext(ctx, "SELECT tablename FROM pg_tables WHERE schemaname = $1", s.name)
	if err != nil {
		return err
	}
	var tables []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			rows.Close()
			return err
		}
		tables = append(tables, t)
	}
	rows.Close()
	for _, t := range tables {
		if _, err := s.admin.ExecContext(ctx, fmt.Sprintf("ANALYZE %s.%q", s.name, t)); err != nil {
			return fmt.Errorf("analyze %s: %w", t, err)
		}
	}
	return nil
}

func (s *pgSchema) drop() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := s.admin.ExecContext(ctx, "DROP SCHEMA "+s.name+" CASCADE"); err != nil {
		logf("drop schema %s: %v", s.name, err)
	}
	s.admin.Close()
}

type serverOptions struct {
	bin, work     string
	database      string // "" for SQLite in work/data
	adminPassword string
	pprof         bool // bench/profserve: ask for a pprof listener
	echoLog       bool
	env           []string
}

// server is the child `groundcrew serve` process.
type server struct {
	pid      int
	url      string
	pprofURL string
	cmd      *exec.Cmd
	exited   chan struct{}
	waitErr  error
}

// startServer starts the server and returns once /readyz answers 200.
func startServer(ctx context.Context, o serverOptions) (*server, error) {
	data, empty := filepath.Join(o.work, "data"), filepath.Join(o.work, "config")
	for _, d := range []string{data, empty} {
		if err := os.MkdirAll(d, 0o750); err != nil {
			return nil, err
		}
	}
	args := []string{"serve", "--listen", "127.0.0.1:0", "--data-dir", data, "--config-dir", empty,
		"--log-format", "json", "--log-level", "info"}
	if o.database != "" {
		args = append(args, "--database", o.database)
	}
	if o.pprof {
		args = append(args, "--pprof-listen", "127.0.0.1:0")
	}
	cmd := exec.Command(o.bin, args...) // stopped by stop, gently first
	cmd.Dir = o.work                    // not the source tree, whose examples/ serve would apply
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GROUNDCREW_") {
			env = append(env, kv)
		}
	}
	cmd.Env = append(append(env, o.env...), "GROUNDCREW_ADMIN_PASSWORD="+o.adminPassword)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	logFile, err := os.Create(filepath.Join(o.work, "server.log"))
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start %s: %w", o.bin, err)
	}
	s := &server{pid: cmd.Process.Pid, cmd: cmd, exited: make(chan struct{})}
	ready := make(chan logLine, 4)
	go s.readLog(stderr, logFile, o.echoLog, ready)
	go func() {
		s.waitErr = cmd.Wait()
		logFile.Close()
		close(s.exited)
	}()
	timer := time.NewTimer(2 * time.Minute)
	defer timer.Stop()
	for s.url == "" || (o.pprof && s.pprofURL == "") {
		select {
		case l := <-ready:
			switch l.Msg {
			case "groundcrew is ready":
				s.url = l.URL
			case "pprof is listening":
				s.pprofURL = l.URL
			}
		case <-s.exited:
			return nil, fmt.Errorf("server exited during start (%v); its log: %s", s.waitErr, filepath.Join(o.work, "server.log"))
		case <-timer.C:
			s.stop()
			return nil, errors.New("server did not start within 2 minutes")
		case <-ctx.Done():
			s.stop()
			return nil, ctx.Err()
		}
	}
	if err := s.waitReady(ctx); err != nil {
		s.stop()
		return nil, err
	}
	return s, nil
}

type logLine struct {
	Msg string `json:"msg"`
	URL string `json:"url"`
}

func (s *server) readLog(r io.Reader, w io.Writer, echo bool, ready chan<- logLine) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		w.Write(append(line, '\n'))
		if echo {
			os.Stderr.Write(append([]byte("server: "), append(line, '\n')...))
		}
		var l logLine
		if json.Unmarshal(line, &l) == nil && l.URL != "" && (l.Msg == "groundcrew is ready" || l.Msg == "pprof is listening") {
			select {
			case ready <- l:
			default:
			}
		}
	}
	io.Copy(w, r)
}

func (s *server) waitReady(ctx context.Context) error {
	deadline := time.Now().Add(time.Minute)
	var last string
	for time.Now().Before(deadline) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.url+"/readyz", nil)
		resp, err := loopbackClient.Do(req)
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = fmt.Sprintf("%s %s", resp.Status, strings.TrimSpace(string(body)))
		} else {
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("server not ready within a minute: %s", last)
}

// stop ends the child: SIGTERM, then SIGKILL after 30 s. Only this PID is
// signalled.
func (s *server) stop() {
	select {
	case <-s.exited:
		return
	default:
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(30 * time.Second):
		logf("server pid %d ignored SIGTERM for 30 s; killing it", s.pid)
		s.cmd.Process.Kill()
		<-s.exited
	}
}

// alive reports whether the child still runs.
func (s *server) alive() bool {
	select {
	case <-s.exited:
		return false
	default:
		return true
	}
}
