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

	_ "github.com/jackc/pgx/v5/stdlib" // "pgx" driver to create the schema
)

// binary returns the server binary to run: -bin, or one built now from
// the module in the current directory.
func binary(ctx context.Context, cfg config, work string) (string, error) {
	pkg := "./cmd/groundcrew"
	if cfg.profileDir != "" {
		pkg = "./bench/profserve"
		if cfg.bin != "" {
			return "", errors.New("-profile builds its own server; leave out -bin")
		}
	}
	if cfg.bin != "" {
		return filepath.Abs(cfg.bin)
	}
	root, err := moduleRoot(ctx)
	if err != nil {
		return "", err
	}
	out := filepath.Join(work, "groundcrew")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, pkg)
	cmd.Dir = root
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("build %s: %w", pkg, err)
	}
	fmt.Fprintf(os.Stderr, "apiload: built %s in %s\n", pkg, time.Since(start).Round(time.Millisecond))
	return out, nil
}

func moduleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("run from groundcrew's source tree, or pass -bin")
	}
	return filepath.Dir(mod), nil
}

// pgSchema is the fresh PostgreSQL schema a run uses.
type pgSchema struct {
	name  string
	dsn   string // the server's DSN: search_path selects the schema
	admin *sql.DB
}

// freshSchema creates an empty schema on the PostgreSQL server of dsn.
func freshSchema(ctx context.Context, dsn string) (*pgSchema, error) {
	u, err := url.Parse(dsn)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return nil, fmt.Errorf("-database %q: want postgres://…", redactDSN(dsn))
	}
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, err
	}
	name := "apiload_" + randomHex(6)
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
// autovacuum would after the seeding's inserts; test servers often run
// without autovacuum, and plans without statistics are not what
// production sees.
func (s *pgSchema) analyze(ctx context.Context) error {
	var auto string
	if err := s.admin.QueryRowContext(ctx, "SHOW autovacuum").Scan(&auto); err == nil && auto != "on" {
		fmt.Fprintf(os.Stderr, "apiload: PostgreSQL runs with autovacuum=%s; analyzing the seeded tables\n", auto)
	}
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

// drop drops the schema and everything in it.
func (s *pgSchema) drop() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := s.admin.ExecContext(ctx, "DROP SCHEMA "+s.name+" CASCADE"); err != nil {
		fmt.Fprintf(os.Stderr, "apiload: drop schema %s: %v\n", s.name, err)
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
	pprof         bool // the binary is bench/profserve: ask it for a pprof listener
	echoLog       bool
	env           []string // added to the server's environment
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
	data := filepath.Join(o.work, "data")
	empty := filepath.Join(o.work, "config")
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
	// Not CommandContext: the child is stopped by stop, gently first.
	cmd := exec.Command(o.bin, args...)
	cmd.Dir = o.work // not the source tree, whose examples/ serve would apply
	env := []string{}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GROUNDCREW_") {
			env = append(env, kv)
		}
	}
	cmd.Env = append(append(env, o.env...), "GROUNDCREW_ADMIN_PASSWORD="+o.adminPassword)
	// Should apiload die, the kernel ends the child too.
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

// readLog copies the server's log to w (and standard error when echo is
// set) and passes the start-up lines apiload waits for to ready.
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
	io.Copy(w, r) // a line too long for the scanner: keep draining
}

func (s *server) waitReady(ctx context.Context) error {
	deadline := time.Now().Add(time.Minute)
	var last string
	for time.Now().Before(deadline) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.url+"/readyz", nil)
		resp, err := http.DefaultClient.Do(req)
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
		fmt.Fprintf(os.Stderr, "apiload: server pid %d ignored SIGTERM for 30 s; killing it\n", s.pid)
		s.cmd.Process.Kill()
		<-s.exited
	}
}

// memory is the server's resident set now and at its peak, in bytes.
type memory struct{ rss, hwm int64 }

func (s *server) memory() memory {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.pid))
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

// userHZ is the unit of the CPU times in /proc/PID/stat; 100 on every
// Linux platform Go supports.
const userHZ = 100

// cpu returns the CPU time (user + system) the server has used.
func (s *server) cpu() time.Duration {
	d, _, _ := procCPU(s.pid)
	return d
}

// procCPU returns the CPU time of the process pid from /proc/PID/stat.
func procCPU(pid int) (time.Duration, string, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, "", false
	}
	// The command name in parentheses may hold spaces; fields follow it.
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

// commCPU returns the CPU time of every process whose command name is comm
// (such as "postgres"), by PID.
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

// cpuSince returns the CPU the processes in after used since before; a
// process that is new counts whole, one that ended is lost (a pool's
// connections live through a phase).
func cpuSince(before, after map[int]time.Duration) time.Duration {
	var d time.Duration
	for pid, t := range after {
		d += t - before[pid]
	}
	return d
}

// selfCPU returns the CPU time the load generator has used.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// machineCPU returns the busy and total CPU time of the whole machine, in
// clock ticks, from /proc/stat.
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
	// user nice system idle iowait irq softirq steal; guest time is
	// already counted in user and nice.
	for i, v := range f[1:min(len(f), 9)] {
		n, _ := strconv.ParseInt(v, 10, 64)
		total += n
		if i != 3 && i != 4 { // idle, iowait
			busy += n
		}
	}
	return busy, total
}

func mib(n int64) string {
	if n < 0 {
		return "?"
	}
	return fmt.Sprintf("%.0f MiB", float64(n)/(1<<20))
}
