package check

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"groundcrew.dev/groundcrew/internal/db"
	"groundcrew.dev/groundcrew/internal/db/dbtest"
)

// TestListResults_PagesByTimeThenID stores results out of time order (as
// agents' late reports are) and pages through them: every result once,
// newest first.
func TestListResults_PagesByTimeThenID(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		id := flushFixture(t, d, 1)[0]
		base := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
		// Inserted in this order, so ids are not in time order; two share a time.
		offsets := []int{3, 1, 4, 2, 0, 4}
		var rs []Result
		for i, o := range offsets {
			rs = append(rs, Result{CheckID: id, Location: []string{"local", "eu"}[i%2], At: base.Add(time.Duration(o) * time.Second), Status: Up})
		}
		for _, r := range rs { // one by one: ids follow insertion order
			if err := d.InTx(ctx, func(tx *sql.Tx) error { return insertResults(ctx, tx, []Result{r}) }); err != nil {
				t.Fatal(err)
			}
		}
		var got []Result
		var after ResultsCursor
		for range 10 {
			page, err := listResults(ctx, d.Reader(), id, base, base.Add(time.Minute), after, 2)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, page...)
			if len(page) < 2 {
				break
			}
			last := page[len(page)-1]
			after = ResultsCursor{At: last.At, ID: last.ID}
		}
		if len(got) != len(rs) {
			t.Fatalf("paged %d results, stored %d", len(got), len(rs))
		}
		seen := map[int64]bool{}
		for i, r := range got {
			if seen[r.ID] {
				t.Fatalf("result %d listed twice", r.ID)
			}
			seen[r.ID] = true
			if i > 0 && (r.At.After(got[i-1].At) || r.At.Equal(got[i-1].At) && r.ID > got[i-1].ID) {
				t.Fatalf("results out of order at %d: %v", i, got)
			}
		}
	})
}
