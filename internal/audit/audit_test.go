package audit_test

import (
	"context"
	"database/sql"
	"strings"
	"testing"
	"time"

	"groundcrew.dev/groundcrew/internal/audit"
	"groundcrew.dev/groundcrew/internal/db"
	"groundcrew.dev/groundcrew/internal/db/dbtest"
)

func appendN(t *testing.T, d *db.DB, n int) {
	t.Helper()
	ctx := context.Background()
	at := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	for i := range n {
		err := d.InTx(ctx, func(tx *sql.Tx) error {
			return audit.Append(ctx, tx, at.Add(time.Duration(i)*time.Second), audit.Entry{
				Actor: audit.Actor{ID: "u1", Name: "alice", Addr: "127.0.0.1"}, Action: "update",
				ObjectKind: "service", ObjectName: "svc", Before: map[string]int{"tier": i}, After: map[string]int{"tier": i + 1},
			})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestVerify(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		exec := func(q string, args ...any) {
			t.Helper()
			if _, err := d.Writer().ExecContext(ctx, q, args...); err != nil {
				t.Fatal(err)
			}
		}
		check := func(wantOK bool, wantSeq int64, wantReason string) {
			t.Helper()
			rep, err := audit.Verify(ctx, d.Reader())
			if err != nil {
				t.Fatal(err)
			}
			if rep.OK != wantOK {
				t.Fatalf("Verify OK = %v, want %v (%+v)", rep.OK, wantOK, rep.Problem)
			}
			if !wantOK && (rep.Problem.Seq != wantSeq || !strings.Contains(rep.Problem.Reason, wantReason)) {
				t.Fatalf("Verify problem = %+v, want seq %d and %q", rep.Problem, wantSeq, wantReason)
			}
		}
		appendN(t, d, 5)
		check(true, 0, "")

		t.Run("edited", func(t *testing.T) {
			exec(`UPDATE audit_log SET actor_name = 'mallory' WHERE seq = 3`)
			check(false, 3, "edited")
			exec(`UPDATE audit_log SET actor_name = 'alice' WHERE seq = 3`)
			check(true, 0, "")
		})
		t.Run("deleted in the middle", func(t *testing.T) {
			exec(`CREATE TABLE saved AS SELECT * FROM audit_log WHERE seq = 2`)
			exec(`DELETE FROM audit_log WHERE seq = 2`)
			check(false, 3, "deleted")
			exec(`INSERT INTO audit_log SELECT * FROM saved`)
			exec(`DROP TABLE saved`)
			check(true, 0, "")
		})
		t.Run("replaced out of order", func(t *testing.T) {
			// A row rewritten with a consistent hash of its own, but not
			// linked to its predecessor, is caught by the link check.
			exec(`UPDATE audit_log SET prev_hash = 'forged' WHERE seq = 4`)
			check(false, 4, "out of order")
			var prev string
			if err := d.Reader().QueryRowContext(ctx, `SELECT hash FROM audit_log WHERE seq = 3`).Scan(&prev); err != nil {
				t.Fatal(err)
			}
			exec(`UPDATE audit_log SET prev_hash = $1 WHERE seq = 4`, prev)
			check(true, 0, "")
		})
		t.Run("newest deleted", func(t *testing.T) {
			exec(`DELETE FROM audit_log WHERE seq = 5`)
			check(false, 5, "newest rows were deleted")
		})
	})
}

func TestList(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		appendN(t, d, 7)
		recs, err := audit.List(context.Background(), d.Reader(), audit.Filter{Actor: "alice", Limit: 3})
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != 3 || recs[0].Seq != 7 || recs[2].Seq != 5 {
			t.Fatalf("first page = %v, want seq 7..5", seqs(recs))
		}
		recs, err = audit.List(context.Background(), d.Reader(), audit.Filter{Actor: "alice", Limit: 3, BeforeSeq: 5})
		if err != nil || len(recs) != 3 || recs[0].Seq != 4 {
			t.Fatalf("second page = %v, %v; want seq 4..2", seqs(recs), err)
		}
		recs, _ = audit.List(context.Background(), d.Reader(), audit.Filter{Actor: "bob"})
		if len(recs) != 0 {
			t.Fatalf("filter by actor bob = %v, want none", seqs(recs))
		}
		if string(recs0(t, d).After) != `{"tier":7}` {
			t.Fatalf("after = %s", recs0(t, d).After)
		}
	})
}

func recs0(t *testing.T, d *db.DB) audit.Record {
	recs, err := audit.List(context.Background(), d.Reader(), audit.Filter{Limit: 1})
	if err != nil || len(recs) != 1 {
		t.Fatal(err)
	}
	return recs[0]
}

func seqs(recs []audit.Record) []int64 {
	var out []int64
	for _, r := range recs {
		out = append(out, r.Seq)
	}
	return out
}
