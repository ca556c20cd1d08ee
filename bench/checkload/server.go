package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

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
		return nil, fmt.Errorf("-database %q: want postgres://…", redactDSN(dsn))
	}
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, err
	}
	admin.SetMaxOpenConns(2)
	name := "checkload_" + randomHex(6)
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+name); err != nil {
		admin.Close()
		return nil, fmt.Errorf("create schema on %s: %w", redactDSN(dsn), err)
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

func redactDSN(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.User == nil {
		return dsn
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
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

// memory is a process's resident set now and at its peak, in bytes.
type memory struct{ rss, hwm int64 }

func procMemory(pid int) memory {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return memory{-1, -1}
	}
	var m memory
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		f := strings.Fields(v)
		if len(f) != 2 || f[1] != "kB" {
			continue
		}
		n, _ := strconv.ParseInt(f[0], 10, 64)
		switch k {
		case "VmRSS":
			m.rss = n << 10
		case "VmHWM":
			m.hwm = n << 10
		}
	}
	return m
}

// userHZ is the unit of the CPU times in /proc/PID/stat.
const userHZ = 100

// procCPU returns the CPU time (utime + stime) of pid and its command name.
func procCPU(pid int) (time.Duration, string, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, "", false
	}
	open, i := strings.IndexByte(string(b), '('), strings.LastIndexByte(string(b), ')')
	if open < 0 || i < open {
		return 0, "", false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, "", false
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * time.Second / userHZ, string(b[open+1 : i]), true
}

// commCPU returns the CPU time of every process named comm, by PID.
func commCPU(comm string) map[int]time.Duration {
	out := map[int]time.Duration{}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return out
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if d, c, ok := procCPU(pid); ok && c == comm {
			out[pid] = d
		}
	}
	return out
}

func cpuSince(before, after map[int]time.Duration) time.Duration {
	var d time.Duration
	for pid, t := range after {
		d += t - before[pid]
	}
	return d
}

func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// machineCPU returns the busy and total CPU time of the machine in clock
// ticks, from /proc/stat.
func machineCPU() (busy, total int64) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 5 || f[0] != "cpu" {
		return 0, 0
	}
	for i, v := range f[1:min(len(f), 9)] {
		n, _ := strconv.ParseInt(v, 10, 64)
		total += n
		if i != 3 && i != 4 { // idle, iowait
			busy += n
		}
	}
	return busy, total
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func mib(n int64) string {
	if n < 0 {
		return "?"
	}
	return fmt.Sprintf("%.0f MiB", float64(n)/(1<<20))
}
