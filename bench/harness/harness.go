// Package harness starts a `groundcrew serve` child process for the load
// generators in bench/ and measures it from the outside: a fresh
// PostgreSQL schema per run, the server's resident memory and CPU time,
// PostgreSQL's CPU and the machine's. Linux only (it reads /proc). Traffic
// goes to 127.0.0.1 only.
package harness

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
	"net"
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

// Build builds the package pkg (such as "./cmd/groundcrew") of the module
// in the current directory into dir and returns the binary's path. name
// prefixes the progress line on standard error.
func Build(ctx context.Context, name, pkg, dir string) (string, error) {
	root, err := ModuleRoot(ctx)
	if err != nil {
		return "", err
	}
	out := filepath.Join(dir, "groundcrew")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, pkg)
	cmd.Dir = root
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("build %s: %w", pkg, err)
	}
	fmt.Fprintf(os.Stderr, "%s: built %s in %s\n", name, pkg, time.Since(start).Round(time.Millisecond))
	return out, nil
}

// ModuleRoot returns the directory of the go.mod of the current directory.
func ModuleRoot(ctx context.Context) (string, error) {
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

// Schema is a fresh PostgreSQL schema for one run.
type Schema struct {
	Name  string
	DSN   string // the server's DSN: search_path selects the schema
	admin *sql.DB
}

// FreshSchema creates an empty schema named prefix_<random> on the
// PostgreSQL server of dsn.
func FreshSchema(ctx context.Context, dsn, prefix string) (*Schema, error) {
	u, err := url.Parse(dsn)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return nil, fmt.Errorf("-database %q: want postgres://…", RedactDSN(dsn))
	}
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, err
	}
	name := prefix + "_" + RandomHex(6)
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+name); err != nil {
		admin.Close()
		return nil, fmt.Errorf("create schema on %s: %w", RedactDSN(dsn), err)
	}
	q := u.Query()
	q.Set("search_path", name)
	u.RawQuery = q.Encode()
	return &Schema{Name: name, DSN: u.String(), admin: admin}, nil
}

// Analyze collects planner statistics for the schema's tables, as
// autovacuum would after a load's inserts; test servers often run without
// autovacuum, and plans without statistics are not what production sees.
func (s *Schema) Analyze(ctx context.Context) error {
	var auto string
	if err := s.admin.QueryRowContext(ctx, "SHOW autovacuum").Scan(&auto); err == nil && auto != "on" {
		fmt.Fprintf(os.Stderr, "harness: PostgreSQL runs with autovacuum=%s; analyzing the tables\n", auto)
	}
	rows, err := s.admin.QueryContext(ctx, "SELECT tablename FROM pg_tables WHERE schemaname = $1", s.Name)
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
		if _, err := s.admin.ExecContext(ctx, fmt.Sprintf("ANALYZE %s.%q", s.Name, t)); err != nil {
			return fmt.Errorf("analyze %s: %w", t, err)
		}
	}
	return nil
}

// DB returns the administrative connection to the schema's server.
func (s *Schema) DB() *sql.DB { return s.admin }

// Drop drops the schema and everything in it.
func (s *Schema) Drop() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := s.admin.ExecContext(ctx, "DROP SCHEMA "+s.Name+" CASCADE"); err != nil {
		fmt.Fprintf(os.Stderr, "harness: drop schema %s: %v\n", s.Name, err)
	}
	s.admin.Close()
}

// RedactDSN hides the password of a DSN.
func RedactDSN(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.User == nil {
		return dsn
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

// RandomHex returns n random bytes in hexadecimal.
func RandomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Options say how to start the server.
type Options struct {
	Bin, Work     string
	Database      string // "" for SQLite in Work/data
	AdminPassword string
	Pprof         bool // the binary is bench/profserve: ask it for a pprof listener
	EchoLog       bool
	Env           []string // added to the server's environment
	Name          string   // the load generator's name, for messages
}

// Server is the child `groundcrew serve` process.
type Server struct {
	PID      int
	URL      string
	PprofURL string
	name     string
	cmd      *exec.Cmd
	exited   chan struct{}
	waitErr  error
}

// Start starts `groundcrew serve --listen 127.0.0.1:0` with a fresh data
// directory and an empty configuration directory under o.Work, every
// GROUNDCREW_* variable of this process removed, and returns once /readyz
// answers 200 (at most 2 minutes). The child gets SIGKILL should this
// process die.
func Start(ctx context.Context, o Options) (*Server, error) {
	data := filepath.Join(o.Work, "data")
	empty := filepath.Join(o.Work, "config")
	for _, d := range []string{data, empty} {
		if err := os.MkdirAll(d, 0o750); err != nil {
			return nil, err
		}
	}
	args := []string{"serve", "--listen", "127.0.0.1:0", "--data-dir", data, "--config-dir", empty,
		"--log-format", "json", "--log-level", "info"}
	if o.Database != "" {
		args = append(args, "--database", o.Database)
	}
	if o.Pprof {
		args = append(args, "--pprof-listen", "127.0.0.1:0")
	}
	env := []string{}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GROUNDCREW_") {
			env = append(env, kv)
		}
	}
	ready := make(chan logLine, 4)
	s, err := spawn(o.Bin, args, o.Work, append(append(env, o.Env...), "GROUNDCREW_ADMIN_PASSWORD="+o.AdminPassword), o.Name, o.EchoLog, ready)
	if err != nil {
		return nil, err
	}

	timer := time.NewTimer(2 * time.Minute)
	defer timer.Stop()
	for s.URL == "" || (o.Pprof && s.PprofURL == "") {
		select {
		case l := <-ready:
			switch l.Msg {
			case "groundcrew is ready":
				s.URL = l.URL
			case "pprof is listening":
				s.PprofURL = l.URL
			}
		case <-s.exited:
			return nil, fmt.Errorf("server exited during start (%v); its log: %s", s.waitErr, filepath.Join(o.Work, "server.log"))
		case <-timer.C:
			s.Stop()
			return nil, errors.New("server did not start within 2 minutes")
		case <-ctx.Done():
			s.Stop()
			return nil, ctx.Err()
		}
	}
	if err := s.waitReady(ctx); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

// spawn starts bin with args in dir (the cmd's working directory and where
// server.log goes) and copies its standard error to that log, passing
// groundcrew's start-up lines to ready (nil: none). The child gets SIGKILL
// should this process die.
func spawn(bin string, args []string, dir string, env []string, name string, echo bool, ready chan<- logLine) (*Server, error) {
	// Not CommandContext: the child is stopped by Stop, gently first.
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir // for groundcrew: not the source tree, whose examples/ serve would apply
	cmd.Env = env
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	logFile, err := os.Create(filepath.Join(dir, "server.log"))
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	if name == "" {
		name = "harness"
	}
	s := &Server{PID: cmd.Process.Pid, cmd: cmd, exited: make(chan struct{}), name: name}
	go s.readLog(stderr, logFile, echo, ready)
	go func() {
		s.waitErr = cmd.Wait()
		logFile.Close()
		close(s.exited)
	}()
	return s, nil
}

// OtherOptions say how to start another server than groundcrew (such as
// Alertmanager, to compare with) for the same load.
type OtherOptions struct {
	Bin   string
	Args  []string
	Work  string // working directory; server.log is written here
	URL   string // where it listens, chosen by the caller (FreePort)
	Ready string // path that answers 200 once it is ready
	Name  string
	Echo  bool
}

// StartOther starts another server and returns once o.URL+o.Ready answers
// 200 (at most a minute). Stop, CPU and Memory work as for groundcrew.
func StartOther(ctx context.Context, o OtherOptions) (*Server, error) {
	s, err := spawn(o.Bin, o.Args, o.Work, os.Environ(), o.Name, o.Echo, nil)
	if err != nil {
		return nil, err
	}
	s.URL = o.URL
	if err := s.waitPath(ctx, o.Ready); err != nil {
		s.Stop()
		return nil, fmt.Errorf("%w; its log: %s", err, filepath.Join(o.Work, "server.log"))
	}
	return s, nil
}

// FreePort returns a loopback address (127.0.0.1:PORT) that was free a
// moment ago, for a server that cannot listen on port 0 and say where.
func FreePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

type logLine struct {
	Msg string `json:"msg"`
	URL string `json:"url"`
}

// readLog copies the server's log to w (and standard error when echo is
// set) and passes the start-up lines Start waits for to ready.
func (s *Server) readLog(r io.Reader, w io.Writer, echo bool, ready chan<- logLine) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		w.Write(append(line, '\n'))
		if echo {
			os.Stderr.Write(append([]byte("server: "), append(line, '\n')...))
		}
		var l logLine
		if ready != nil && json.Unmarshal(line, &l) == nil && l.URL != "" && (l.Msg == "groundcrew is ready" || l.Msg == "pprof is listening") {
			select {
			case ready <- l:
			default:
			}
		}
	}
	io.Copy(w, r) // a line too long for the scanner: keep draining
}

func (s *Server) waitReady(ctx context.Context) error { return s.waitPath(ctx, "/readyz") }

func (s *Server) waitPath(ctx context.Context, path string) error {
	deadline := time.Now().Add(time.Minute)
	var last string
	for time.Now().Before(deadline) {
		if !s.Alive() {
			return fmt.Errorf("server exited during start (%v)", s.waitErr)
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+path, nil)
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

// Stop ends the child: SIGTERM, then SIGKILL after 30 s. Only this PID is
// signalled. Safe to call twice.
func (s *Server) Stop() {
	select {
	case <-s.exited:
		return
	default:
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(30 * time.Second):
		fmt.Fprintf(os.Stderr, "%s: server pid %d ignored SIGTERM for 30 s; killing it\n", s.name, s.PID)
		s.cmd.Process.Kill()
		<-s.exited
	}
}

// Alive reports whether the child is still running.
func (s *Server) Alive() bool {
	select {
	case <-s.exited:
		return false
	default:
		return true
	}
}

// Memory is a process's resident set now (RSS) and at its peak (HWM), in
// bytes; -1 when unknown.
type Memory struct{ RSS, HWM int64 }

// Memory returns the server's resident memory.
func (s *Server) Memory() Memory { return ProcMemory(s.PID) }

// ProcMemory returns the resident memory of the process pid.
func ProcMemory(pid int) Memory {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return Memory{-1, -1}
	}
	var m Memory
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
			m.RSS = n << 10
		case "VmHWM":
			m.HWM = n << 10
		}
	}
	return m
}

// UserHZ is the unit (ticks per second) of the CPU times in /proc/PID/stat; 100 on every
// Linux platform Go supports.
const UserHZ = 100

// CPU returns the CPU time (user + system) the server has used.
func (s *Server) CPU() time.Duration {
	d, _, _ := ProcCPU(s.PID)
	return d
}

// ProcCPU returns the CPU time of the process pid and its command name,
// from /proc/PID/stat; ok is false when it cannot be read.
func ProcCPU(pid int) (d time.Duration, comm string, ok bool) {
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
	return time.Duration(utime+stime) * time.Second / UserHZ, string(b[open+1 : i]), true
}

// CommCPU returns the CPU time of every process whose command name is comm
// (such as "postgres"), by PID.
func CommCPU(comm string) map[int]time.Duration {
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
		if d, c, ok := ProcCPU(pid); ok && c == comm {
			out[pid] = d
		}
	}
	return out
}

// CPUSince returns the CPU the processes in after used since before; a
// process that is new counts whole, one that ended is lost (a pool's
// connections live through a phase).
func CPUSince(before, after map[int]time.Duration) time.Duration {
	var d time.Duration
	for pid, t := range after {
		d += t - before[pid]
	}
	return d
}

// SelfCPU returns the CPU time this process has used.
func SelfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// MachineCPU returns the busy and total CPU time of the whole machine, in
// clock ticks, from /proc/stat.
func MachineCPU() (busy, total int64) {
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

// LoadAvg returns the machine's 1, 5 and 15 minute load averages as
// /proc/loadavg shows them, "?" when unknown.
func LoadAvg() string {
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

// MiB formats a byte count in whole MiB, "?" for a negative (unknown) one.
func MiB(n int64) string {
	if n < 0 {
		return "?"
	}
	return fmt.Sprintf("%.0f MiB", float64(n)/(1<<20))
}
