package alert

import (
	"context"
	"database/sql"
	"sync"
	"time"

	"groundcrew.dev/groundcrew/internal/db"
)

// Statements of the ingestion batch, prepared once on SQLite.
//
// database/sql with modernc.org/sqlite compiles every text anew on each
// Exec or Query, which cost about a tenth of the server's CPU while
// ingesting. So on SQLite the batch runs its few texts (see chunkSizes and
// padIn) through statements prepared on the writer connection: a text is
// prepared in the background the first time it is used — the one writer
// connection is busy with the caller's transaction until it ends — and
// executed directly until then. On PostgreSQL pgx already keeps a prepared
// statement per text and connection. (internal/check's flush does the
// same for its statements; each Service holds its cache.)

// maxStmts bounds the statements kept per database; texts beyond it are
// executed directly.
const maxStmts = 256

// stmtCache holds statements prepared on one SQLite writer. Safe for
// concurrent use.
type stmtCache struct {
	db    *sql.DB
	mu    sync.Mutex
	stmts map[string]*sql.Stmt // nil while being prepared
}

// newStmts returns the statement caches of d's writer and readers: nil on
// PostgreSQL. Their statements close with the database.
func newStmts(d *db.DB) (writer, reader *stmtCache) {
	if d == nil || d.Engine != db.SQLite {
		return nil, nil
	}
	writer = &stmtCache{db: d.Writer(), stmts: map[string]*sql.Stmt{}}
	if r, ok := d.Reader().(*sql.DB); ok {
		reader = &stmtCache{db: r, stmts: map[string]*sql.Stmt{}}
	}
	return writer, reader
}

// stmt returns the prepared statement of text, or nil (and starts
// preparing it) when there is none yet.
func (c *stmtCache) stmt(text string) *sql.Stmt {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if s, ok := c.stmts[text]; ok || len(c.stmts) >= maxStmts {
		return s
	}
	c.stmts[text] = nil
	go c.prepare(text)
	return nil
}

func (c *stmtCache) prepare(text string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := c.db.PrepareContext(ctx, text)
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case err != nil:
		delete(c.stmts, text) // executed directly; tried again on next use
	default:
		c.stmts[text] = s
	}
}

// exec runs text with args in tx, prepared where it can be.
func (s *Service) exec(ctx context.Context, tx *sql.Tx, text string, args ...any) error {
	if st := s.stmts.stmt(text); st != nil {
		ts := tx.StmtContext(ctx, st)
		defer ts.Close()
		_, err := ts.ExecContext(ctx, args...)
		return err
	}
	_, err := tx.ExecContext(ctx, text, args...)
	return err
}

// query runs text with args in tx, prepared where it can be, and calls
// scan for every row.
func (s *Service) query(ctx context.Context, tx *sql.Tx, text string, args []any, scan func(*sql.Rows) error) error {
	var rows *sql.Rows
	var err error
	if st := s.stmts.stmt(text); st != nil {
		ts := tx.StmtContext(ctx, st)
		defer ts.Close() // after rows.Close below: deferred calls run last first
		rows, err = ts.QueryContext(ctx, args...)
	} else {
		rows, err = tx.QueryContext(ctx, text, args...)
	}
	if err != nil {
		return err
	}
	return scanAll(rows, scan)
}

// readQuery runs text with args on a reader connection, prepared where it
// can be, and calls scan for every row.
func (s *Service) readQuery(ctx context.Context, text string, args []any, scan func(*sql.Rows) error) error {
	var rows *sql.Rows
	var err error
	if st := s.rstmts.stmt(text); st != nil {
		rows, err = st.QueryContext(ctx, args...)
	} else {
		rows, err = s.db.Reader().QueryContext(ctx, text, args...)
	}
	if err != nil {
		return err
	}
	return scanAll(rows, scan)
}

func scanAll(rows *sql.Rows, scan func(*sql.Rows) error) error {
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}
