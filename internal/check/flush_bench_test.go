package check

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/google/uuid"

	"groundcrew.dev/groundcrew/internal/db"
	"groundcrew.dev/groundcrew/internal/db/dbtest"
)

// BenchmarkChunkSize measures 128 upserted state rows per transaction, written
// k rows per statement, prepared (and, for k = 0, one row per statement
// executed directly, as before the flush prepared its statements). Set
// BENCH_PG=1 (with GROUNDCREW_TEST_POSTGRES) to run it on PostgreSQL.
func BenchmarkChunkSize(b *testing.B) {
	dsn := dbtest.SQLiteDSN
	if os.Getenv("BENCH_PG") != "" {
		dsn = dbtest.PostgresDSN
	}
	d := dbtest.Open(b, dsn(b))
	const total = 128
	checks := flushFixture(b, d, total)
	ctx := context.Background()
	base := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	states := map[uuid.UUID]State{}
	var sargs []any
	for i := range total {
		s := State{Status: Up, Since: base, LastRunAt: &base}
		states[checks[i]] = s
		sargs = append(sargs, checks[i], string(s.Status), s.Since, s.Reason, string(s.LastStatus), int64(s.Streak), s.LastRunAt,
			s.LastDuration.Microseconds(), int64(s.FailStreak), s.FailDown)
	}
	for _, q := range []struct {
		q    *bulkQuery
		args []any
	}{{statesUpsert, sargs}} {
		for _, k := range []int{0, 1, 2, 4, 8, 16, 32, 64, 128} {
			c := newStmtCache(d.Writer(), maxChunk, d.Engine == db.SQLite)
			b.Cleanup(c.close)
			if k == 0 {
				c, k = nil, 1
			}
			fn := func(tx *sql.Tx) error {
				for i := 0; i < total; i += k {
					if err := c.exec(ctx, tx, q.q, k, q.args[i*q.q.cols:(i+k)*q.q.cols]); err != nil {
						return err
					}
				}
				return nil
			}
			_ = d.InTx(ctx, fn)
			if c != nil {
				waitPrepared(b, c)
			}
			b.Run(fmt.Sprintf("%s/chunk=%d/prepared=%v", q.q.name, k, c != nil), func(b *testing.B) {
				for b.Loop() {
					if err := d.InTx(ctx, fn); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*total), "µs/row")
			})
		}
	}
}
