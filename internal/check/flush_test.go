package check

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math/bits"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"groundcrew.dev/groundcrew/internal/catalog"
	"groundcrew.dev/groundcrew/internal/check/probe"
	"groundcrew.dev/groundcrew/internal/clock"
	"groundcrew.dev/groundcrew/internal/db"
	"groundcrew.dev/groundcrew/internal/db/dbtest"
	"groundcrew.dev/groundcrew/internal/identity"
)

func TestChunks(t *testing.T) {
	for _, n := range []int{0, 1, 2, 3, 7, 255, 256, 257, 300, 511, 512, 513, 10_000} {
		for _, limit := range []int{1, 8, 32, maxChunk} {
			got := chunks(n, limit)
			sum, prev := 0, limit
			for _, c := range got {
				if c <= 0 || c > prev || bits.OnesCount(uint(c)) != 1 {
					t.Fatalf("chunks(%d, %d) = %v: want powers of two ≤ %d, largest first", n, limit, got, limit)
				}
				sum, prev = sum+c, c
			}
			if sum != n {
				t.Fatalf("chunks(%d, %d) = %v: sum %d", n, limit, got, sum)
			}
			if n < limit && len(got) != bits.OnesCount(uint(n)) {
				t.Fatalf("chunks(%d, %d) = %v: want one chunk per bit", n, limit, got)
			}
		}
	}
}

func TestPadded(t *testing.T) {
	for n, want := range map[int]int{0: 1, 1: 1, 2: 2, 3: 4, 4: 4, 5: 8, 129: 256, 256: 256, 257: 256} {
		if got := padded(n); got != want {
			t.Errorf("padded(%d) = %d, want %d", n, got, want)
		}
	}
}

func TestBulkQuery_SQL(t *testing.T) {
	ins := &bulkQuery{name: "t", head: "INSERT INTO t (a, b) VALUES ", tail: " ON CONFLICT DO NOTHING", cols: 2}
	if got, want := ins.sql(2), "INSERT INTO t (a, b) VALUES ($1, $2), ($3, $4) ON CONFLICT DO NOTHING"; got != want {
		t.Errorf("sql(2) = %q, want %q", got, want)
	}
	in := &bulkQuery{name: "t", head: "SELECT a FROM t WHERE a IN (", tail: ")", cols: 1, list: true}
	if got, want := in.sql(4), "SELECT a FROM t WHERE a IN ($1, $2, $3, $4)"; got != want {
		t.Errorf("sql(4) = %q, want %q", got, want)
	}
	if got, want := ins.text1(2, true), "INSERT INTO t (a, b) VALUES (?, ?), (?, ?) ON CONFLICT DO NOTHING"; got != want {
		t.Errorf("text1(2, true) = %q, want %q", got, want)
	}
	if got, want := in.text1(2, true), "SELECT a FROM t WHERE a IN (?, ?)"; got != want {
		t.Errorf("text1(2, true) = %q, want %q", got, want)
	}
	if got := strings.Count(ins.sql(maxChunk), "$"); got != 2*maxChunk {
		t.Errorf("sql(%d) has %d placeholders", maxChunk, got)
	}
	for _, rows := range []int{0, 3, 2 * maxChunk} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("sql(%d) did not panic", rows)
				}
			}()
			ins.sql(rows)
		}()
	}
}

func TestAppendConditions_AsEncodingJSON(t *testing.T) {
	for _, cs := range [][]ConditionResult{
		nil,
		{},
		{{Name: "status < 400", OK: true}},
		{{Name: "body contains \"ok\"", Degraded: true, Error: "no such key: body"}, {Name: "a && b <c>", OK: false}},
		{{Name: "tab\tnewline\n\x00 é \u2028 \xff", Error: "\\"}},
	} {
		want, err := json.Marshal(cs)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendConditions(nil, cs); string(got) != string(want) {
			t.Errorf("appendConditions(%#v) = %s, want %s", cs, got, want)
		}
	}
}

func FuzzAppendConditions(f *testing.F) {
	f.Add("status < 400", "", true, false)
	f.Add("a\"b\\c", "bad\x01\xfe\u2029", false, true)
	f.Fuzz(func(t *testing.T, name, errText string, ok, degraded bool) {
		cs := []ConditionResult{{Name: name, OK: ok, Degraded: degraded, Error: errText}, {Name: errText}}
		want, err := json.Marshal(cs)
		if err != nil {
			t.Fatal(err)
		}
		got := appendConditions([]byte("x"), cs)
		if string(got) != "x"+string(want) {
			t.Fatalf("appendConditions = %s, want %s", got[1:], want)
		}
		var back []ConditionResult
		if err := json.Unmarshal(got[1:], &back); err != nil {
			t.Fatalf("does not parse: %v", err)
		}
	})
}

// flushFixture creates n checks (same service and environment) and
// returns their ids, sorted.
func flushFixture(t testing.TB, d *db.DB, n int) []uuid.UUID {
	t.Helper()
	ctx := identity.WithActor(context.Background(), identity.System())
	clk := clock.Real{}
	ids := identity.NewService(d, clk, nil, identity.Options{})
	cat := catalog.New(d, clk, ids, nil)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	_, err := ids.CreateTeam(ctx, identity.TeamInput{Name: "platform"})
	must(err)
	_, err = cat.CreateEnvironment(ctx, catalog.EnvironmentInput{Name: "prod", EnvironmentSpec: catalog.EnvironmentSpec{Criticality: "high"}})
	must(err)
	_, err = cat.CreateService(ctx, catalog.ServiceInput{Name: "api", ServiceSpec: catalog.ServiceSpec{Owner: "platform", Tier: 1, Environments: []string{"prod"}}})
	must(err)
	svc := NewService(d, clk, cat, Options{})
	first, _, err := svc.Create(ctx, Input{Name: "c-0", Spec: Spec{Service: "api", Environment: "prod",
		Interval: probe.Duration(time.Minute), Timeout: probe.Duration(time.Second),
		Spec: probe.Spec{Type: probe.HTTP, HTTP: &probe.HTTPSpec{URL: "http://127.0.0.1:1/"}}}})
	must(err)
	out := []uuid.UUID{first.ID}
	must(d.InTx(ctx, func(tx *sql.Tx) error {
		for i := 1; i < n; i++ {
			id := db.NewID()
			if _, err := tx.ExecContext(ctx, `INSERT INTO checks (id, name, service_id, environment_id, type, interval_ms, paused, spec, labels, origin, revision, created_at, updated_at)
				SELECT $1, $2, service_id, environment_id, type, interval_ms, paused, spec, labels, origin, revision, created_at, updated_at FROM checks WHERE id = $3`,
				id, fmt.Sprintf("c-%d", i), first.ID); err != nil {
				return err
			}
			out = append(out, id)
		}
		return nil
	}))
	return out
}

// withCaches runs fn executing directly (one row per statement) and
// through prepared statements of at most 4 (with ? on SQLite) and maxChunk
// rows (the second
// time, after the first has prepared them), passing the row counts at the
// chunk boundaries: 0, 1, chunk, chunk+1 and maxChunk+1.
func withCaches(t *testing.T, d *db.DB, fn func(t *testing.T, c *stmtCache, counts []int)) {
	counts := func(chunk int) []int {
		return slices.Compact([]int{0, 1, chunk, chunk + 1, maxChunk + 1})
	}
	t.Run("direct", func(t *testing.T) { fn(t, nil, counts(1)) })
	for _, chunk := range []int{4, maxChunk} {
		anon := chunk == 4 && d.Engine == db.SQLite // ? on SQLite, $n on both
		c := newStmtCache(d.Writer(), chunk, anon)
		t.Cleanup(c.close)
		t.Run(fmt.Sprintf("prepared-%d-anon=%v", chunk, anon), func(t *testing.T) {
			fn(t, c, counts(chunk)) // prepares in the background
			waitPrepared(t, c)
			fn(t, c, counts(chunk))
		})
	}
}

// waitPrepared waits until every statement c started preparing is ready.
func waitPrepared(t testing.TB, c *stmtCache) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c.mu.Lock()
		ready := len(c.stmts) > 0
		for _, s := range c.stmts {
			ready = ready && s != nil
		}
		c.mu.Unlock()
		if ready {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("statements not prepared within 10 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestWriteResults_ChunkBoundaries(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		checks := flushFixture(t, d, 2)
		base := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
		withCaches(t, d, func(t *testing.T, c *stmtCache, counts []int) {
			for _, n := range counts {
				var rs []Result
				for i := range n {
					r := Result{CheckID: checks[i%2], Location: LocalLocation, At: base.Add(time.Duration(i) * time.Second),
						Status: Up, Duration: time.Duration(i) * time.Millisecond}
					if i%3 == 0 {
						r.Status, r.Reason = Down, fmt.Sprintf("failed: run %d", i)
						r.Conditions = []ConditionResult{{Name: "status < 400", Error: "<&>"}}
					}
					rs = append(rs, r)
				}
				if _, err := d.Writer().ExecContext(ctx, `DELETE FROM check_results`); err != nil {
					t.Fatal(err)
				}
				if err := d.InTx(ctx, func(tx *sql.Tx) error { return writeResults(ctx, tx, c, rs, n/3) }); err != nil {
					t.Fatalf("%d results: %v", n, err)
				}
				var counted int
				if err := d.Reader().QueryRowContext(ctx, `SELECT count(*) FROM check_results WHERE counted`).Scan(&counted); err != nil {
					t.Fatal(err)
				}
				if counted != n/3 {
					t.Fatalf("%d results, the first %d counted: %d counted", n, n/3, counted)
				}
				var got []Result
				for _, id := range checks {
					page, err := listResults(ctx, d.Reader(), id, base, base.Add(time.Hour), ResultsCursor{}, 1000)
					if err != nil {
						t.Fatal(err)
					}
					got = append(got, page...)
				}
				if len(got) != n {
					t.Fatalf("%d results written, %d stored", n, len(got))
				}
				byAt := map[time.Time]Result{}
				for _, r := range got {
					r.ID = 0
					byAt[r.At] = r
				}
				for _, want := range rs {
					if diff := cmp.Diff(want, byAt[want.At]); diff != "" {
						t.Fatalf("%d results: stored differs (-want +got):\n%s", n, diff)
					}
				}
			}
		})
	})
}

func TestSaveStates_ChunkBoundaries(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		checks := flushFixture(t, d, maxChunk+1)
		base := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
		withCaches(t, d, func(t *testing.T, c *stmtCache, counts []int) {
			for _, n := range counts {
				if _, err := d.Writer().ExecContext(ctx, `DELETE FROM check_state`); err != nil {
					t.Fatal(err)
				}
				want := map[uuid.UUID]State{}
				for i, id := range checks[:n] {
					run := base.Add(time.Duration(i) * time.Minute)
					want[id] = State{Status: Down, Since: base, Reason: fmt.Sprintf("down %d", i), LastStatus: Degraded, Streak: i,
						FailStreak: i + 1, FailDown: i%2 == 0, LastRunAt: &run, LastDuration: time.Duration(i) * time.Millisecond}
				}
				if err := d.InTx(ctx, func(tx *sql.Tx) error { return saveStates(ctx, tx, c, want) }); err != nil {
					t.Fatalf("%d states: %v", n, err)
				}
				// A late flush with older runs changes nothing; a newer run does.
				stale := map[uuid.UUID]State{}
				for id, s := range want {
					old := s.LastRunAt.Add(-time.Second)
					stale[id] = State{Status: Up, Since: base, LastStatus: Up, LastRunAt: &old}
				}
				if n > 0 {
					newer := want[checks[0]].LastRunAt.Add(time.Second)
					fresh := State{Status: Up, Since: newer, LastStatus: Up, Streak: 1, LastRunAt: &newer}
					stale[checks[0]], want[checks[0]] = fresh, fresh
				}
				if err := d.InTx(ctx, func(tx *sql.Tx) error { return saveStates(ctx, tx, c, stale) }); err != nil {
					t.Fatalf("%d states: %v", n, err)
				}
				// Ask for every check, some twice: those without a state are absent.
				ask := append(append([]uuid.UUID{}, checks...), checks[:n]...)
				var got map[uuid.UUID]State
				err := d.InTx(ctx, func(tx *sql.Tx) error {
					var err error
					got, err = loadStates(ctx, tx, c, ask)
					return err
				})
				if err != nil {
					t.Fatalf("%d states: %v", n, err)
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Fatalf("%d states: loaded differs (-want +got):\n%s", n, diff)
				}
			}
		})
	})
}
