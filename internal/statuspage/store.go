package statuspage

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"groundcrew.dev/groundcrew/internal/check"
	"groundcrew.dev/groundcrew/internal/db"
	"groundcrew.dev/groundcrew/internal/errs"
)

// The store reads the check tables (checks, check_state, check_rollups,
// and check_results past check_rollup_watermark) directly: a page aggregates many checks at once, which the check service
// offers no query for, and reference checks must see the caller's
// transaction. It never writes them.

const pageColumns = `id, name, spec, labels, origin, revision, created_at, updated_at`

func scanPage(sc interface{ Scan(...any) error }) (Page, error) {
	var p Page
	var spec, labels string
	if err := sc.Scan(&p.ID, &p.Name, &spec, &labels, &p.Origin, &p.Revision, &p.CreatedAt, &p.UpdatedAt); err != nil {
		return p, err
	}
	if err := json.Unmarshal([]byte(spec), &p.Spec); err != nil {
		return p, fmt.Errorf("status page %s spec: %w", p.Name, err)
	}
	if err := json.Unmarshal([]byte(labels), &p.Labels); err != nil {
		return p, fmt.Errorf("status page %s labels: %w", p.Name, err)
	}
	if len(p.Labels) == 0 {
		p.Labels = nil
	}
	p.CreatedAt, p.UpdatedAt = p.CreatedAt.UTC(), p.UpdatedAt.UTC()
	return p, nil
}

func getPage(ctx context.Context, q db.Querier, name string) (Page, error) {
	p, err := scanPage(q.QueryRowContext(ctx, `SELECT `+pageColumns+` FROM status_pages WHERE name = $1`, name))
	if db.IsNoRows(err) {
		return p, errs.NotFoundf("status page %q not found", name)
	}
	if err != nil {
		return p, fmt.Errorf("get status page %s: %w", name, err)
	}
	return p, nil
}

func listPages(ctx context.Context, q db.Querier, query, after string, limit int) ([]Page, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+pageColumns+` FROM status_pages
		WHERE name > $1 AND ($2 = '' OR lower(name) LIKE $3 OR lower(title) LIKE $3)
		ORDER BY name LIMIT $4`, after, query, "%"+strings.ToLower(query)+"%", limit)
	if err != nil {
		return nil, fmt.Errorf("list status pages: %w", err)
	}
	defer rows.Close()
	var out []Page
	for rows.Next() {
		p, err := scanPage(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

func insertPage(ctx context.Context, tx *sql.Tx, p Page) error {
	spec, _ := json.Marshal(p.Spec)
	_, err := tx.ExecContext(ctx, `INSERT INTO status_pages (id, name, title, spec, labels, origin, revision, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		p.ID, p.Name, p.Title, string(spec), labelsJSON(p.Labels), p.Origin, p.Revision, p.CreatedAt, p.UpdatedAt)
	if err != nil {
		return fmt.Errorf("insert status page: %w", err)
	}
	return replaceRefs(ctx, tx, p)
}

func updatePage(ctx context.Context, tx *sql.Tx, p Page) error {
	spec, _ := json.Marshal(p.Spec)
	_, err := tx.ExecContext(ctx, `UPDATE status_pages SET title = $2, spec = $3, labels = $4, revision = $5, updated_at = $6 WHERE id = $1`,
		p.ID, p.Title, string(spec), labelsJSON(p.Labels), p.Revision, p.UpdatedAt)
	if err != nil {
		return fmt.Errorf("update status page: %w", err)
	}
	return replaceRefs(ctx, tx, p)
}

// replaceRefs rewrites the flattened references of p: a component with
// checks refers to those checks only, one without to all of its services'.
func replaceRefs(ctx context.Context, tx *sql.Tx, p Page) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM status_page_refs WHERE page_id = $1`, p.ID); err != nil {
		return fmt.Errorf("replace status page refs: %w", err)
	}
	for i, c := range p.Components {
		add := func(service, check string) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO status_page_refs (page_id, component, service_name, check_name) VALUES ($1, $2, $3, $4)`,
				p.ID, i, service, check)
			if err != nil {
				return fmt.Errorf("add status page ref: %w", err)
			}
			return nil
		}
		if len(c.Checks) > 0 {
			for _, name := range c.Checks {
				if err := add("", name); err != nil {
					return err
				}
			}
			continue
		}
		for _, name := range c.Services {
			if err := add(name, ""); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkService returns the service a check watches, or "" when there is no
// such check.
func checkService(ctx context.Context, q db.Querier, check string) (string, error) {
	var service string
	err := q.QueryRowContext(ctx, `SELECT s.name FROM checks c JOIN services s ON s.id = c.service_id WHERE c.name = $1`, check).Scan(&service)
	if db.IsNoRows(err) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("check %s: %w", check, err)
	}
	return service, nil
}

func labelsJSON(m map[string]string) string {
	if m == nil {
		m = map[string]string{}
	}
	b, _ := json.Marshal(m)
	return string(b)
}

// Notices.

const noticeColumns = `n.id, p.name, n.number, n.kind, n.title, n.status, n.components, n.starts_at, n.ends_at, n.closed_at,
	n.ref, n.revision, n.created_at, n.updated_at`

const noticeFrom = ` FROM status_notices n JOIN status_pages p ON p.id = n.page_id`

func scanNotice(sc interface{ Scan(...any) error }) (Notice, error) {
	var n Notice
	var comps string
	var ends, closed sql.NullTime
	if err := sc.Scan(&n.ID, &n.Page, &n.Number, &n.Kind, &n.Title, &n.Status, &comps, &n.StartsAt, &ends, &closed,
		&n.Ref, &n.Revision, &n.CreatedAt, &n.UpdatedAt); err != nil {
		return n, err
	}
	if err := json.Unmarshal([]byte(comps), &n.Components); err != nil {
		return n, fmt.Errorf("notice %s#%d components: %w", n.Page, n.Number, err)
	}
	n.StartsAt, n.CreatedAt, n.UpdatedAt = n.StartsAt.UTC(), n.CreatedAt.UTC(), n.UpdatedAt.UTC()
	n.EndsAt, n.ClosedAt = nullTime(ends), nullTime(closed)
	n.Updates = []Update{}
	return n, nil
}

func nullTime(t sql.NullTime) *time.Time {
	if !t.Valid {
		return nil
	}
	u := t.Time.UTC()
	return &u
}

// getNotice returns notice number of page, with its updates.
func getNotice(ctx context.Context, q db.Querier, page string, number int64) (Notice, error) {
	n, err := scanNotice(q.QueryRowContext(ctx, `SELECT `+noticeColumns+noticeFrom+` WHERE p.name = $1 AND n.number = $2`, page, number))
	if db.IsNoRows(err) {
		return n, errs.NotFoundf("status page %q has no notice %d", page, number)
	}
	if err != nil {
		return n, fmt.Errorf("get notice %s#%d: %w", page, number, err)
	}
	list := []Notice{n}
	if err := fillUpdates(ctx, q, list); err != nil {
		return n, err
	}
	return list[0], nil
}

// NoticeFilter selects notices of a page. The zero value selects the
// newest 50 of any state.
type NoticeFilter struct {
	Open   bool   // only notices not yet resolved or completed
	Ref    string // only notices with this ref
	Before int64  // cursor: only notices numbered below this
	Limit  int    // default 50, at most 500
}

func listNotices(ctx context.Context, q db.Querier, page string, f NoticeFilter) ([]Notice, error) {
	if f.Limit <= 0 {
		f.Limit = 50
	}
	f.Limit = min(f.Limit, 500)
	rows, err := q.QueryContext(ctx, `SELECT `+noticeColumns+noticeFrom+`
		WHERE p.name = $1 AND ($2 = 0 OR n.number < $2) AND ($3 = FALSE OR n.closed_at IS NULL) AND ($4 = '' OR n.ref = $4)
		ORDER BY n.number DESC LIMIT $5`, page, f.Before, f.Open, f.Ref, f.Limit)
	if err != nil {
		return nil, fmt.Errorf("list notices: %w", err)
	}
	out, err := scanNotices(rows)
	if err != nil {
		return nil, err
	}
	return out, fillUpdates(ctx, q, out)
}

// publicNotices returns the notices the public page shows: open ones and
// those closed (or, for maintenance, ended) since since.
func publicNotices(ctx context.Context, q db.Querier, pageID uuid.UUID, since time.Time) ([]Notice, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+noticeColumns+noticeFrom+`
		WHERE n.page_id = $1 AND ((n.closed_at IS NULL AND (n.ends_at IS NULL OR n.ends_at >= $2)) OR n.closed_at >= $2)
		ORDER BY n.number DESC LIMIT 500`, pageID, since)
	if err != nil {
		return nil, fmt.Errorf("public notices: %w", err)
	}
	out, err := scanNotices(rows)
	if err != nil {
		return nil, err
	}
	return out, fillUpdates(ctx, q, out)
}

func scanNotices(rows *sql.Rows) ([]Notice, error) {
	defer rows.Close()
	out := []Notice{}
	for rows.Next() {
		n, err := scanNotice(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// fillUpdates loads the updates of notices (all of one page, sorted by
// number descending) with one range query.
func fillUpdates(ctx context.Context, q db.Querier, list []Notice) error {
	if len(list) == 0 {
		return nil
	}
	byID := make(map[uuid.UUID]*Notice, len(list))
	for i := range list {
		byID[list[i].ID] = &list[i]
	}
	rows, err := q.QueryContext(ctx, `SELECT u.notice_id, u.id, u.at, u.status, u.message, u.author
		FROM status_notice_updates u JOIN status_notices n ON n.id = u.notice_id JOIN status_pages p ON p.id = n.page_id
		WHERE p.name = $1 AND n.number <= $2 AND n.number >= $3 ORDER BY u.at DESC, u.id DESC`,
		list[0].Page, list[0].Number, list[len(list)-1].Number)
	if err != nil {
		return fmt.Errorf("list notice updates: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var nid uuid.UUID
		var u Update
		if err := rows.Scan(&nid, &u.ID, &u.At, &u.Status, &u.Message, &u.Author); err != nil {
			return err
		}
		u.At = u.At.UTC()
		if n := byID[nid]; n != nil {
			n.Updates = append(n.Updates, u)
		}
	}
	return rows.Err()
}

// nextNoticeNumber takes the page's next notice number; the UPDATE locks
// the page row, so concurrent notices get distinct numbers on PostgreSQL too.
func nextNoticeNumber(ctx context.Context, tx *sql.Tx, pageID uuid.UUID) (int64, error) {
	var n int64
	if err := tx.QueryRowContext(ctx, `UPDATE status_pages SET notice_seq = notice_seq + 1 WHERE id = $1 RETURNING notice_seq`, pageID).Scan(&n); err != nil {
		return 0, fmt.Errorf("number notice: %w", err)
	}
	return n, nil
}

func insertNotice(ctx context.Context, tx *sql.Tx, pageID uuid.UUID, n Notice) error {
	comps, _ := json.Marshal(n.Components)
	_, err := tx.ExecContext(ctx, `INSERT INTO status_notices (id, page_id, number, kind, title, status, components, starts_at, ends_at, closed_at,
		ref, revision, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
		n.ID, pageID, n.Number, n.Kind, n.Title, n.Status, string(comps), n.StartsAt, n.EndsAt, n.ClosedAt, n.Ref, n.Revision, n.CreatedAt, n.UpdatedAt)
	if err != nil {
		return fmt.Errorf("insert notice: %w", err)
	}
	return nil
}

func updateNotice(ctx context.Context, tx *sql.Tx, n Notice) error {
	comps, _ := json.Marshal(n.Components)
	_, err := tx.ExecContext(ctx, `UPDATE status_notices SET title = $2, status = $3, components = $4, starts_at = $5, ends_at = $6,
		closed_at = $7, revision = $8, updated_at = $9 WHERE id = $1`,
		n.ID, n.Title, n.Status, string(comps), n.StartsAt, n.EndsAt, n.ClosedAt, n.Revision, n.UpdatedAt)
	if err != nil {
		return fmt.Errorf("update notice: %w", err)
	}
	return nil
}

func insertUpdate(ctx context.Context, tx *sql.Tx, noticeID uuid.UUID, u Update) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO status_notice_updates (id, notice_id, at, status, message, author) VALUES ($1, $2, $3, $4, $5, $6)`,
		u.ID, noticeID, u.At, u.Status, u.Message, u.Author)
	if err != nil {
		return fmt.Errorf("insert notice update: %w", err)
	}
	return nil
}

// The public side: component states and history.

// pageChecks selects, for each component of page $1, the ids of its checks:
// the checks it names, or all checks of its services.
const pageChecks = `SELECT r.component, c.id, c.paused FROM status_page_refs r JOIN checks c ON c.name = r.check_name
		WHERE r.page_id = $1 AND r.check_name <> ''
	UNION
	SELECT r.component, c.id, c.paused FROM status_page_refs r JOIN services s ON s.name = r.service_name JOIN checks c ON c.service_id = s.id
		WHERE r.page_id = $1 AND r.check_name = ''`

// checkState is the confirmed status of one check of a component.
type checkState struct {
	component int
	status    string
}

// componentStates returns the confirmed status of every check of every
// component of the page (paused checks as "paused", never-confirmed ones
// as "unknown").
func componentStates(ctx context.Context, q db.Querier, pageID uuid.UUID) ([]checkState, error) {
	rows, err := q.QueryContext(ctx, `SELECT x.component, CASE WHEN x.paused THEN 'paused' ELSE COALESCE(st.status, 'unknown') END
		FROM (`+pageChecks+`) x LEFT JOIN check_state st ON st.check_id = x.id`, pageID)
	if err != nil {
		return nil, fmt.Errorf("component states: %w", err)
	}
	defer rows.Close()
	var out []checkState
	for rows.Next() {
		var s checkState
		if err := rows.Scan(&s.component, &s.status); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// dayRow is one check's runs on one UTC day.
type dayRow struct {
	component int
	day       time.Time
	runs      int64
	down      int64
	degraded  int64
}

// componentDays returns the runs per day since since of every check of
// every component of the page: the daily rollups, and the raw results the
// roll-up has not counted yet (those from its watermark on), added to the
// same check's day.
func componentDays(ctx context.Context, q db.Querier, pageID uuid.UUID, since time.Time) ([]dayRow, error) {
	type key struct {
		component int
		check     uuid.UUID
		day       time.Time
	}
	var out []dayRow
	var at map[key]int
	add := func(k key, runs, down, degraded int64) {
		if i, ok := at[k]; ok {
			out[i].runs, out[i].down, out[i].degraded = out[i].runs+runs, out[i].down+down, out[i].degraded+degraded
			return
		}
		at[k] = len(out)
		out = append(out, dayRow{component: k.component, day: k.day, runs: runs, down: down, degraded: degraded})
	}
	err := check.ReadRuns(ctx, q, func(wm time.Time, ok bool) error {
		out, at = nil, map[key]int{}
		rows, err := q.QueryContext(ctx, `SELECT x.component, x.id, r.bucket, r.runs, r.down, r.degraded
			FROM (`+pageChecks+`) x JOIN check_rollups r ON r.check_id = x.id
			WHERE r.period = 'day' AND r.bucket >= $2 AND r.runs > 0`, pageID, since)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var k key
			var runs, down, degraded int64
			if err := rows.Scan(&k.component, &k.check, &k.day, &runs, &down, &degraded); err != nil {
				return err
			}
			k.day = k.day.UTC()
			add(k, runs, down, degraded)
		}
		if err := rows.Err(); err != nil || !ok {
			return err
		}
		// One query per day from the watermark's to the latest result's:
		// usually today and perhaps yesterday (the watermark is about two
		// hours behind).
		var last time.Time
		err = q.QueryRowContext(ctx, `SELECT at FROM check_results ORDER BY at DESC LIMIT 1`).Scan(&last)
		if db.IsNoRows(err) {
			return nil
		}
		if err != nil {
			return err
		}
		for day := later(since, wm.Truncate(24*time.Hour)); !day.After(last.UTC()); day = day.AddDate(0, 0, 1) {
			if err := rawDays(ctx, q, pageID, day, later(day, wm), func(component int, id uuid.UUID, runs, down, degraded int64) {
				add(key{component, id, day}, runs, down, degraded)
			}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("component days: %w", err)
	}
	return out, nil
}

// rawDays calls add with the counted raw results from from to the end of
// day of every check of every component of the page.
func rawDays(ctx context.Context, q db.Querier, pageID uuid.UUID, day, from time.Time, add func(component int, id uuid.UUID, runs, down, degraded int64)) error {
	rows, err := q.QueryContext(ctx, `SELECT x.component, x.id, count(*), COALESCE(SUM(CASE WHEN r.status = 'down' THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN r.status = 'degraded' THEN 1 ELSE 0 END), 0)
		FROM (`+pageChecks+`) x JOIN check_results r ON r.check_id = x.id
		WHERE r.counted AND r.at >= $2 AND r.at < $3 GROUP BY x.component, x.id`, pageID, from, day.AddDate(0, 0, 1))
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var component int
		var id uuid.UUID
		var runs, down, degraded int64
		if err := rows.Scan(&component, &id, &runs, &down, &degraded); err != nil {
			return err
		}
		add(component, id, runs, down, degraded)
	}
	return rows.Err()
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// publicCheck returns the id and confirmed status of the check called name
// when some status page shows it, or a NotFound error.
func publicCheck(ctx context.Context, q db.Querier, name string) (uuid.UUID, string, error) {
	var id uuid.UUID
	var status string
	err := q.QueryRowContext(ctx, `SELECT c.id, CASE WHEN c.paused THEN 'paused' ELSE COALESCE(st.status, 'unknown') END
		FROM checks c JOIN services s ON s.id = c.service_id LEFT JOIN check_state st ON st.check_id = c.id
		WHERE c.name = $1 AND EXISTS (SELECT 1 FROM status_page_refs r
			WHERE r.check_name = c.name OR (r.check_name = '' AND r.service_name = s.name))`, name).Scan(&id, &status)
	if db.IsNoRows(err) {
		return id, "", errs.NotFoundf("no status page shows a check called %q", name)
	}
	if err != nil {
		return id, "", fmt.Errorf("badge check %s: %w", name, err)
	}
	return id, status, nil
}

// hourlyRuns sums the runs and failed runs of a check since since: the
// hourly rollups, and the raw results the roll-up has not counted yet.
func hourlyRuns(ctx context.Context, q db.Querier, id uuid.UUID, since time.Time) (runs, down int64, err error) {
	err = check.ReadRuns(ctx, q, func(wm time.Time, ok bool) error {
		if err := q.QueryRowContext(ctx, `SELECT COALESCE(SUM(runs), 0), COALESCE(SUM(down), 0) FROM check_rollups
			WHERE check_id = $1 AND period = 'hour' AND bucket >= $2`, id, since).Scan(&runs, &down); err != nil || !ok {
			return err
		}
		var rawRuns, rawDown int64
		if err := q.QueryRowContext(ctx, `SELECT count(*), COALESCE(SUM(CASE WHEN status = 'down' THEN 1 ELSE 0 END), 0) FROM check_results
			WHERE check_id = $1 AND counted AND at >= $2`, id, later(since, wm)).Scan(&rawRuns, &rawDown); err != nil {
			return err
		}
		runs, down = runs+rawRuns, down+rawDown
		return nil
	})
	if err != nil {
		return 0, 0, fmt.Errorf("badge uptime: %w", err)
	}
	return runs, down, nil
}
