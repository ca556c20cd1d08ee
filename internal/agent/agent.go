// Package agent is groundcrew's host agent: it enrolls once with an
// enrollment token, keeps its own credential in a state directory, and
// probes the health checks assigned to its location, reporting the results
// to the server. It talks to the server only through package client, over
// the versioned agent protocol (api.AgentProtocol), and never runs commands
// the server sends.
package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"groundcrew.dev/groundcrew/internal/check"
	"groundcrew.dev/groundcrew/internal/check/probe"
	"groundcrew.dev/groundcrew/internal/check/sched"
	"groundcrew.dev/groundcrew/internal/client"
	"groundcrew.dev/groundcrew/internal/clock"
	"groundcrew.dev/groundcrew/internal/fleet"
)

// Options configure an agent. Server and StateDir are required;
// EnrollToken is required until the agent has enrolled.
type Options struct {
	Server      string // the server's base URL
	EnrollToken string // used once, when StateDir holds no credential
	// Location is where the agent probes from, when the enrollment token
	// leaves it to the agent (else it must be empty or the token's).
	Location string
	// Name is the agent's name (unique among agents); default the host
	// name.
	Name string
	// StateDir holds the credential (agent.json, mode 0600).
	StateDir string
	Version  string
	// PollInterval is how often the agent asks for changes to its checks;
	// default 15 s.
	PollInterval time.Duration
	// ReportInterval is how often results are sent; default 1 s.
	ReportInterval time.Duration
	// Concurrency bounds probes in flight; default sched.DefaultConcurrency.
	Concurrency int
	// MaxPending bounds results waiting to be sent while the server is
	// unreachable; beyond it the oldest are dropped. Default 50,000.
	MaxPending int
	Clock      clock.Clock
	Logger     *slog.Logger
	// ClientOptions are passed to every client the agent makes (tests
	// trust a test CA with them).
	ClientOptions []client.Option
}

// State is what the agent keeps between runs.
type State struct {
	Server     string `json:"server"`
	Name       string `json:"name"`
	Location   string `json:"location"`
	Credential string `json:"credential"`
}

// StateFile is the name of the state file in the state directory.
const StateFile = "agent.json"

// Agent is a running agent. Create it with New, run it with Run.
type Agent struct {
	opts   Options
	log    *slog.Logger
	state  State
	cl     *client.Client
	prober *probe.Prober
	sched  *sched.Scheduler

	mu      sync.RWMutex
	checks  map[string]*assigned
	version string

	pendMu  sync.Mutex
	pending []check.Result
	dropped int
}

type assigned struct {
	check    check.Check
	compiled *check.Compiled
}

// New enrolls the agent if its state directory holds no credential yet,
// and returns it ready to run.
func New(ctx context.Context, opts Options) (*Agent, error) {
	if opts.Server == "" || opts.StateDir == "" {
		return nil, errors.New("agent: --server and --state-dir are required")
	}
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = 15 * time.Second
	}
	if opts.ReportInterval <= 0 {
		opts.ReportInterval = time.Second
	}
	if opts.MaxPending <= 0 {
		opts.MaxPending = 50_000
	}
	if opts.Name == "" {
		host, err := os.Hostname()
		if err != nil {
			return nil, fmt.Errorf("agent: no --name and no host name: %w", err)
		}
		opts.Name = host
	}
	a := &Agent{opts: opts, log: opts.Logger, prober: probe.NewProber(probe.Options{}), checks: map[string]*assigned{}}
	st, err := loadState(opts.StateDir)
	switch {
	case err == nil && st.Server != "" && st.Server != opts.Server:
		return nil, fmt.Errorf("agent: %s belongs to server %s, not %s: use another --state-dir", filepath.Join(opts.StateDir, StateFile), st.Server, opts.Server)
	case err == nil && opts.Location != "" && st.Location != opts.Location:
		return nil, fmt.Errorf("agent: enrolled for location %q, not %q: use another --state-dir to enroll elsewhere", st.Location, opts.Location)
	case err == nil:
		a.state = st
	case errors.Is(err, os.ErrNotExist):
		if a.state, err = a.enroll(ctx); err != nil {
			return nil, err
		}
	default:
		return nil, err
	}
	if a.cl, err = client.New(opts.Server, a.state.Credential, append([]client.Option{client.WithUserAgent("groundcrew-agent/" + opts.Version), client.WithTimeout(30 * time.Second)}, opts.ClientOptions...)...); err != nil {
		return nil, err
	}
	a.sched = sched.New(sched.Options{Clock: opts.Clock, Concurrency: opts.Concurrency, Run: a.run, Logger: opts.Logger,
		Slack: sched.SlackFor(opts.Clock)})
	return a, nil
}

// Location returns the location the agent probes from.
func (a *Agent) Location() string { return a.state.Location }

// Name returns the agent's name.
func (a *Agent) Name() string { return a.state.Name }

func (a *Agent) enroll(ctx context.Context) (State, error) {
	if a.opts.EnrollToken == "" {
		return State{}, fmt.Errorf("agent: not enrolled yet (no %s in %s): pass --enroll-token", StateFile, a.opts.StateDir)
	}
	cl, err := client.New(a.opts.Server, "", append([]client.Option{client.WithUserAgent("groundcrew-agent/" + a.opts.Version)}, a.opts.ClientOptions...)...)
	if err != nil {
		return State{}, err
	}
	host, _ := os.Hostname()
	out, err := cl.Enroll(ctx, fleet.Enrollment{Token: a.opts.EnrollToken, Name: a.opts.Name, Location: a.opts.Location, Hostname: host, Version: a.opts.Version, Protocol: fleet.Protocol})
	if err != nil {
		if client.StatusOf(err) == 404 {
			return State{}, fmt.Errorf("agent: enroll: the server does not speak agent protocol %d (is it a groundcrew server, and new enough?)", fleet.Protocol)
		}
		return State{}, fmt.Errorf("agent: enroll: %w", err)
	}
	st := State{Server: a.opts.Server, Name: out.Agent.Name, Location: out.Agent.Location, Credential: out.Credential}
	if err := saveState(a.opts.StateDir, st); err != nil {
		return State{}, err
	}
	a.log.Info("enrolled", "agent", st.Name, "location", st.Location)
	return st, nil
}

func loadState(dir string) (State, error) {
	b, err := os.ReadFile(filepath.Join(dir, StateFile))
	if err != nil {
		return State{}, err
	}
	var st State
	if err := json.Unmarshal(b, &st); err != nil || st.Credential == "" {
		return State{}, fmt.Errorf("agent: %s is damaged; remove it and enroll again", filepath.Join(dir, StateFile))
	}
	return st, nil
}

// saveState writes the state file readable by its owner only, atomically.
func saveState(dir string, st State) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("agent: state directory: %w", err)
	}
	b, _ := json.MarshalIndent(st, "", "  ")
	tmp, err := os.CreateTemp(dir, StateFile+".*")
	if err != nil {
		return fmt.Errorf("agent: save state: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("agent: save state: %w", err)
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("agent: save state: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("agent: save state: %w", err)
	}
	return os.Rename(tmp.Name(), filepath.Join(dir, StateFile))
}

// ErrRevoked is returned by Run when the server refuses the agent's
// credential: it was revoked, and the agent must enroll again.
var ErrRevoked = errors.New("agent: the server refuses this agent's credential (revoked?): remove the state file and enroll again")

// Run probes the agent's checks and reports results until ctx ends (nil)
// or the server refuses the credential (ErrRevoked). Unreachable servers
// are retried; results wait (bounded) meanwhile.
func (a *Agent) Run(ctx context.Context) error {
	if err := a.sched.Start(ctx); err != nil {
		return err
	}
	defer func() {
		stop, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
		defer cancel()
		_ = a.sched.Stop(stop)
		_ = a.report(stop) // what is left, best effort
	}()
	poll := time.NewTimer(0)
	defer poll.Stop()
	report := time.NewTicker(a.opts.ReportInterval)
	defer report.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-poll.C:
			if err := a.refresh(ctx); err != nil {
				if client.IsUnauthorized(err) {
					return ErrRevoked
				}
				if ctx.Err() == nil {
					a.log.Warn("fetch checks", "err", err)
				}
			}
			poll.Reset(a.opts.PollInterval)
		case <-report.C:
			if err := a.report(ctx); err != nil {
				if client.IsUnauthorized(err) {
					return ErrRevoked
				}
				if ctx.Err() == nil {
					a.log.Warn("report results", "err", err)
				}
			}
		}
	}
}

// refresh fetches the checks of the agent's location when they changed
// and reschedules.
func (a *Agent) refresh(ctx context.Context) error {
	a.mu.RLock()
	since := a.version
	a.mu.RUnlock()
	as, err := a.cl.AgentChecks(ctx, since)
	if err != nil {
		return err
	}
	if as.Unchanged {
		return nil
	}
	checks := make(map[string]*assigned, len(as.Checks))
	items := make([]sched.Item, 0, len(as.Checks))
	a.mu.RLock()
	old := a.checks
	a.mu.RUnlock()
	for _, asg := range as.Checks {
		c := asg.Check()
		id := c.ID.String()
		if prev := old[id]; prev != nil && prev.check.Revision == c.Revision {
			checks[id] = prev
		} else {
			comp, err := check.Compile(c)
			if err != nil {
				a.log.Error("check does not compile; not scheduled", "check", c.Name, "err", err)
				continue
			}
			checks[id] = &assigned{check: c, compiled: comp}
		}
		items = append(items, sched.Item{ID: id, Interval: check.Interval(c), Timeout: check.Timeout(c)})
	}
	a.mu.Lock()
	a.checks, a.version = checks, as.Version
	a.mu.Unlock()
	a.log.Info("checks updated", "location", as.Location, "checks", len(items))
	return a.sched.Set(items)
}

// run probes one check for one slot and queues the result.
func (a *Agent) run(ctx context.Context, id string, slot time.Time) {
	a.mu.RLock()
	as := a.checks[id]
	a.mu.RUnlock()
	if as == nil || as.check.Type == check.Heartbeat {
		return
	}
	res := check.Probe(ctx, a.prober, a.opts.Clock, as.check, as.compiled)
	if ctx.Err() != nil && !errors.Is(context.Cause(ctx), context.DeadlineExceeded) {
		return // stopped: the run says nothing about the target
	}
	res.CheckID, res.At = as.check.ID, slot
	a.pendMu.Lock()
	a.pending = append(a.pending, res)
	if over := len(a.pending) - a.opts.MaxPending; over > 0 {
		a.pending = a.pending[over:]
		a.dropped += over
	}
	a.pendMu.Unlock()
}

// report sends the pending results, at most check.MaxReport at a time;
// on failure they wait (in order) for the next report.
func (a *Agent) report(ctx context.Context) error {
	for {
		a.pendMu.Lock()
		n := min(len(a.pending), check.MaxReport)
		batch := a.pending[:n:n]
		a.pending = a.pending[n:]
		a.pendMu.Unlock()
		if len(batch) == 0 {
			return nil
		}
		if _, err := a.cl.AgentReport(ctx, batch); err != nil {
			if client.StatusOf(err) == 400 {
				// The server will never take this batch: drop it rather
				// than block every later result behind it.
				a.log.Error("results refused; dropped", "results", len(batch), "err", err)
				continue
			}
			a.pendMu.Lock()
			a.pending = append(batch, a.pending...)
			if over := len(a.pending) - a.opts.MaxPending; over > 0 {
				a.pending = a.pending[over:]
				a.dropped += over
			}
			a.pendMu.Unlock()
			return err
		}
	}
}

// Dropped returns how many results were dropped because too many waited.
func (a *Agent) Dropped() int {
	a.pendMu.Lock()
	defer a.pendMu.Unlock()
	return a.dropped
}
