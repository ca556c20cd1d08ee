package check

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math/bits"
	"strconv"
	"strings"
	"sync"
	"time"

	"groundcrew.dev/groundcrew/internal/db"
)

// The runner's flush writes a few hundred rows per transaction. Executed one
// statement per row, SQLite spent a third of the server's CPU compiling the
// same texts again (database/sql with modernc.org/sqlite prepares every
// query text anew on each Exec), and PostgreSQL one round trip per row. So
// the flush runs each text through a statement prepared once per database
// handle, and writes several rows per statement, in chunks whose sizes are
// powers of two (a fixed set of texts).
//
// How many rows per statement was measured (BenchmarkChunkSize: 128
// upserted rows per transaction, on a busy 2-core VM): executed one row at a
// time without preparing, a rollup upsert cost 58–64 µs per row on SQLite;
// prepared, 8–10 µs one row at a time and 6–17 µs at 16–128 rows per
// statement — with anonymous placeholders (see text1); with numbered ones
// the cost per row grew with the rows (40 µs at 64, 82 µs at 128). On
// PostgreSQL, where each statement is a round trip, 16–32 rows per
// statement were fastest (44–49 µs per row against 150 one at a time). So
// both write at most 32 rows per statement.

// maxChunk bounds the rows of one statement on any engine: 256 rows of the
// widest statement (rollups, 20 columns) bind 5,120 parameters, far below
// SQLite's 32,766 and PostgreSQL's 65,535.
const maxChunk = 256

// maxChunkLog is log2(maxChunk).
const maxChunkLog = 8

// flushChunk is the most rows per statement of the flush; see above.
const flushChunk = 32

// chunks splits n rows into chunk sizes, largest first: powers of two of at
// most limit (itself a power of two, at most maxChunk), so that every
// statement text is one of a few. 300 rows at most 256 are 256 + 32 + 8 + 4.
func chunks(n, limit int) []int {
	var out []int
	for n > 0 {
		c := min(limit, 1<<(bits.Len(uint(n))-1))
		out = append(out, c)
		n -= c
	}
	return out
}

// padded returns the smallest power of two not below n, at most maxChunk:
// the size of an IN list that holds n values (repeating one to fill it).
func padded(n int) int {
	if n <= 1 {
		return 1
	}
	return min(maxChunk, 1<<bits.Len(uint(n-1)))
}

// bulkQuery is a statement whose text depends only on how many rows it
// handles: head, then rows groups of cols placeholders, then tail. For an
// INSERT a group is "($1, $2, …)" after VALUES; for an IN list (cols 1) the
// groups are the list's elements. Safe for concurrent use.
type bulkQuery struct {
	name string // for error messages and tests
	head string // up to VALUES or "IN ("
	tail string // after the rows
	cols int
	list bool // an IN list: "$1, $2" instead of "($1), ($2)"

	once [2][maxChunkLog + 1]sync.Once // by [anonymous][log2 rows]
	text [2][maxChunkLog + 1]string
}

// sql returns the text for rows rows, a power of two up to maxChunk, with
// numbered placeholders ($1, $2, …).
func (q *bulkQuery) sql(rows int) string { return q.text1(rows, false) }

// text1 returns the text for rows rows, with anonymous placeholders (?)
// when anon is set: SQLite accepts them, PostgreSQL does not. On SQLite
// they bind in constant time; for numbered ones modernc.org/sqlite asks
// SQLite each parameter's name, which SQLite finds by a linear search, so
// binding a statement costs the square of its parameters.
func (q *bulkQuery) text1(rows int, anon bool) string {
	i := bits.Len(uint(rows)) - 1
	if rows <= 0 || rows > maxChunk || rows != 1<<i {
		panic(fmt.Sprintf("check: %s: %d rows is not a chunk size", q.name, rows))
	}
	a := 0
	if anon {
		a = 1
	}
	q.once[a][i].Do(func() {
		var b strings.Builder
		b.Grow(len(q.head) + len(q.tail) + rows*q.cols*6)
		b.WriteString(q.head)
		n := 1
		for r := range rows {
			if r > 0 {
				b.WriteString(", ")
			}
			if !q.list {
				b.WriteByte('(')
			}
			for c := range q.cols {
				if c > 0 {
					b.WriteString(", ")
				}
				if anon {
					b.WriteByte('?')
				} else {
					b.WriteByte('$')
					b.WriteString(strconv.Itoa(n))
				}
				n++
			}
			if !q.list {
				b.WriteByte(')')
			}
		}
		b.WriteString(q.tail)
		q.text[a][i] = b.String()
	})
	return q.text[a][i]
}

// stmtKey names one text of one bulk query.
type stmtKey struct {
	q    *bulkQuery
	rows int
}

// stmtCache holds the flush statements prepared on one database handle.
// A text is prepared in the background the first time it is used — on
// SQLite the one writer connection is busy with the caller's transaction
// until it ends — and executed directly until then; later transactions run
// the prepared statement through tx.StmtContext, which on a connection the
// statement is already prepared on (always, on SQLite) prepares nothing.
// A nil *stmtCache executes every text directly, one row per statement.
// Safe for concurrent use.
type stmtCache struct {
	db    *sql.DB
	chunk int  // most rows per statement
	anon  bool // anonymous placeholders (SQLite)

	mu     sync.Mutex
	stmts  map[stmtKey]*sql.Stmt // nil while being prepared
	closed bool
}

// newStmtCache returns an empty cache for d whose statements write at most
// chunk rows, a power of two up to maxChunk, with anonymous placeholders
// (?, SQLite only) when anon is set.
func newStmtCache(d *sql.DB, chunk int, anon bool) *stmtCache {
	if chunk <= 0 || chunk > maxChunk || bits.OnesCount(uint(chunk)) != 1 {
		panic(fmt.Sprintf("check: %d rows per statement", chunk))
	}
	return &stmtCache{db: d, chunk: chunk, anon: anon, stmts: map[stmtKey]*sql.Stmt{}}
}

// chunks splits n rows into the chunk sizes c's statements write.
func (c *stmtCache) chunks(n int) []int {
	if c == nil {
		return chunks(n, 1)
	}
	return chunks(n, c.chunk)
}

// prepareTimeout bounds a background preparation, which waits for the
// writer connection on SQLite.
const prepareTimeout = time.Minute

// stmt returns the prepared statement for k, or nil (and starts preparing
// it) when there is none yet.
func (c *stmtCache) stmt(k stmtKey) *sql.Stmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s, ok := c.stmts[k]; ok || c.closed {
		return s
	}
	c.stmts[k] = nil
	go c.prepare(k, k.q.text1(k.rows, c.anon))
	return nil
}

func (c *stmtCache) prepare(k stmtKey, text string) {
	ctx, cancel := context.WithTimeout(context.Background(), prepareTimeout)
	defer cancel()
	s, err := c.db.PrepareContext(ctx, text)
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case err != nil:
		delete(c.stmts, k) // executed directly; tried again on next use
	case c.closed:
		s.Close()
	default:
		c.stmts[k] = s
	}
}

// close closes the prepared statements; later uses execute directly.
func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	for k, s := range c.stmts {
		if s != nil {
			s.Close()
		}
		delete(c.stmts, k)
	}
}

// exec runs q for rows rows with args in tx.
func (c *stmtCache) exec(ctx context.Context, tx *sql.Tx, q *bulkQuery, rows int, args []any) error {
	var err error
	if s := c.lookup(q, rows); s != nil {
		ts := tx.StmtContext(ctx, s)
		_, err = ts.ExecContext(ctx, args...)
		ts.Close()
	} else {
		_, err = tx.ExecContext(ctx, c.text(q, rows), args...)
	}
	return err
}

// query runs q for rows rows with args in tx and calls scan for every row.
func (c *stmtCache) query(ctx context.Context, tx *sql.Tx, q *bulkQuery, rows int, args []any, scan func(*sql.Rows) error) error {
	var rs *sql.Rows
	var err error
	var ts *sql.Stmt
	if s := c.lookup(q, rows); s != nil {
		ts = tx.StmtContext(ctx, s)
		defer ts.Close()
		rs, err = ts.QueryContext(ctx, args...)
	} else {
		rs, err = tx.QueryContext(ctx, c.text(q, rows), args...)
	}
	if err != nil {
		return err
	}
	defer rs.Close()
	for rs.Next() {
		if err := scan(rs); err != nil {
			return err
		}
	}
	return rs.Err()
}

// text returns the text of q for rows rows in c's placeholder style.
func (c *stmtCache) text(q *bulkQuery, rows int) string {
	return q.text1(rows, c != nil && c.anon)
}

func (c *stmtCache) lookup(q *bulkQuery, rows int) *sql.Stmt {
	if c == nil {
		return nil
	}
	return c.stmt(stmtKey{q, rows})
}

// newFlushStmts returns the statement cache of a runner over d.
func newFlushStmts(d *db.DB) *stmtCache {
	return newStmtCache(d.Writer(), flushChunk, d.Engine == db.SQLite)
}

// appendConditions appends the JSON of cs to b, byte for byte what
// json.Marshal writes (null for nil), without its reflection: every run
// stores its conditions.
func appendConditions(b []byte, cs []ConditionResult) []byte {
	if cs == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, c := range cs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"name":`...)
		b = appendJSONString(b, c.Name)
		b = append(b, `,"ok":`...)
		b = strconv.AppendBool(b, c.OK)
		if c.Degraded {
			b = append(b, `,"degraded":true`...)
		}
		if c.Error != "" {
			b = append(b, `,"error":`...)
			b = appendJSONString(b, c.Error)
		}
		b = append(b, '}')
	}
	return append(b, ']')
}

// appendJSONString appends s as a JSON string the way encoding/json does:
// printable ASCII other than the characters it escapes is copied, anything
// else goes through encoding/json.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // a string always marshals
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
