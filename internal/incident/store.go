package incident

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"groundcrew.dev/groundcrew/internal/db"
	"groundcrew.dev/groundcrew/internal/errs"
)

const incidentColumns = `id, number, title, severity, status, summary, source_kind, source_ref, declared_by, declared_at,
	acknowledged_at, acknowledged_by, mitigated_at, resolved_at, revision, updated_at`

func scanIncident(sc interface{ Scan(...any) error }) (Incident, error) {
	var in Incident
	var ack, mit, res sql.NullTime
	err := sc.Scan(&in.ID, &in.Number, &in.Title, &in.Severity, &in.Status, &in.Summary, &in.Source.Kind, &in.Source.Ref,
		&in.DeclaredBy, &in.DeclaredAt, &ack, &in.AcknowledgedBy, &mit, &res, &in.Revision, &in.UpdatedAt)
	if err != nil {
		return in, err
	}
	in.Key = Key(in.Number)
	in.DeclaredAt, in.UpdatedAt = in.DeclaredAt.UTC(), in.UpdatedAt.UTC()
	in.AcknowledgedAt, in.MitigatedAt, in.ResolvedAt = nullTime(ack), nullTime(mit), nullTime(res)
	return in, nil
}

func nullTime(t sql.NullTime) *time.Time {
	if !t.Valid {
		return nil
	}
	u := t.Time.UTC()
	return &u
}

func timeOrNil(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UTC()
}

// incidentID returns the id of incident number, NotFound when there is none.
func incidentID(ctx context.Context, q db.Querier, number int64) (uuid.UUID, error) {
	var id uuid.UUID
	err := q.QueryRowContext(ctx, `SELECT id FROM incidents WHERE number = $1`, number).Scan(&id)
	if db.IsNoRows(err) {
		return id, errs.NotFoundf("incident %s not found", Key(number))
	}
	if err != nil {
		return id, fmt.Errorf("incident %s: %w", Key(number), err)
	}
	return id, nil
}

// getIncident returns incident number with its roles, services, teams and
// status notices.
func getIncident(ctx context.Context, q db.Querier, number int64) (Incident, error) {
	in, err := scanIncident(q.QueryRowContext(ctx, `SELECT `+incidentColumns+` FROM incidents WHERE number = $1`, number))
	if db.IsNoRows(err) {
		return in, errs.NotFoundf("incident %s not found", Key(number))
	}
	if err != nil {
		return in, fmt.Errorf("incident %s: %w", Key(number), err)
	}
	list := []Incident{in}
	if err := fill(ctx, q, list); err != nil {
		return in, err
	}
	return list[0], nil
}

// fill loads the roles, services, teams and notices of a page of
// incidents, one query each.
func fill(ctx context.Context, q db.Querier, list []Incident) error {
	if len(list) == 0 {
		return nil
	}
	idx := map[uuid.UUID]int{}
	ph := make([]string, len(list))
	args := make([]any, len(list))
	for i := range list {
		idx[list[i].ID] = i
		ph[i] = fmt.Sprintf("$%d", i+1)
		args[i] = list[i].ID
		list[i].Roles, list[i].Services, list[i].Teams = []RoleAssignment{}, []AffectedService{}, []string{}
	}
	in := "(" + strings.Join(ph, ", ") + ")"
	err := each(ctx, q, `SELECT incident_id, role, user_name, assigned_at FROM incident_roles WHERE incident_id IN `+in, args, func(rows *sql.Rows) error {
		var id uuid.UUID
		var r RoleAssignment
		if err := rows.Scan(&id, &r.Role, &r.User, &r.AssignedAt); err != nil {
			return err
		}
		r.AssignedAt = r.AssignedAt.UTC()
		inc := &list[idx[id]]
		inc.Roles = append(inc.Roles, r)
		if r.Role == RoleLead {
			inc.Lead = r.User
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("incident roles: %w", err)
	}
	err = each(ctx, q, `SELECT isv.incident_id, isv.service, COALESCE(t.name, '') FROM incident_services isv
		LEFT JOIN services s ON s.name = isv.service LEFT JOIN teams t ON t.id = s.owner_team_id
		WHERE isv.incident_id IN `+in+` ORDER BY isv.service`, args, func(rows *sql.Rows) error {
		var id uuid.UUID
		var a AffectedService
		if err := rows.Scan(&id, &a.Name, &a.Owner); err != nil {
			return err
		}
		inc := &list[idx[id]]
		inc.Services = append(inc.Services, a)
		if a.Owner != "" && !slices.Contains(inc.Teams, a.Owner) {
			inc.Teams = append(inc.Teams, a.Owner)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("incident services: %w", err)
	}
	err = each(ctx, q, `SELECT incident_id, page, notice_number FROM incident_status_notices WHERE incident_id IN `+in+` ORDER BY page`, args, func(rows *sql.Rows) error {
		var id uuid.UUID
		var n StatusNotice
		if err := rows.Scan(&id, &n.Page, &n.Number); err != nil {
			return err
		}
		inc := &list[idx[id]]
		inc.StatusNotices = append(inc.StatusNotices, n)
		return nil
	})
	if err != nil {
		return fmt.Errorf("incident status notices: %w", err)
	}
	for i := range list {
		slices.SortFunc(list[i].Roles, func(a, b RoleAssignment) int {
			if d := roleRank(a.Role) - roleRank(b.Role); d != 0 {
				return d
			}
			return strings.Compare(a.Role, b.Role)
		})
		slices.Sort(list[i].Teams)
	}
	return nil
}

func each(ctx context.Context, q db.Querier, query string, args []any, fn func(*sql.Rows) error) error {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// ownerTeams returns the ids of the teams owning the services incident id
// affects.
func ownerTeams(ctx context.Context, q db.Querier, id uuid.UUID) ([]uuid.UUID, error) {
	var out []uuid.UUID
	err := each(ctx, q, `SELECT DISTINCT s.owner_team_id FROM incident_services isv JOIN services s ON s.name = isv.service WHERE isv.incident_id = $1`,
		[]any{id}, func(rows *sql.Rows) error {
			var t uuid.UUID
			if err := rows.Scan(&t); err != nil {
				return err
			}
			out = append(out, t)
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("incident owners: %w", err)
	}
	return out, nil
}

// nextNumber takes the next incident number from the counter row.
func nextNumber(ctx context.Context, tx *sql.Tx) (int64, error) {
	var n int64
	if err := tx.QueryRowContext(ctx, `UPDATE incident_counter SET last_number = last_number + 1 WHERE id = 1 RETURNING last_number`).Scan(&n); err != nil {
		return 0, fmt.Errorf("next incident number: %w", err)
	}
	return n, nil
}

func insertIncident(ctx context.Context, tx *sql.Tx, in Incident) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO incidents (id, number, title, severity, status, summary, source_kind, source_ref,
		declared_by, declared_at, revision, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		in.ID, in.Number, in.Title, in.Severity, in.Status, in.Summary, in.Source.Kind, in.Source.Ref,
		in.DeclaredBy, in.DeclaredAt, in.Revision, in.UpdatedAt)
	if err != nil {
		return fmt.Errorf("insert incident: %w", err)
	}
	return nil
}

func updateIncident(ctx context.Context, tx *sql.Tx, in Incident) error {
	_, err := tx.ExecContext(ctx, `UPDATE incidents SET title = $2, severity = $3, status = $4, summary = $5,
		acknowledged_at = $6, acknowledged_by = $7, mitigated_at = $8, resolved_at = $9, revision = $10, updated_at = $11 WHERE id = $1`,
		in.ID, in.Title, in.Severity, in.Status, in.Summary, timeOrNil(in.AcknowledgedAt), in.AcknowledgedBy,
		timeOrNil(in.MitigatedAt), timeOrNil(in.ResolvedAt), in.Revision, in.UpdatedAt)
	if err != nil {
		return fmt.Errorf("update incident: %w", err)
	}
	return nil
}

func putRole(ctx context.Context, tx *sql.Tx, id uuid.UUID, role, user string, at time.Time) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM incident_roles WHERE incident_id = $1 AND role = $2`, id, role); err != nil {
		return fmt.Errorf("assign role: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO incident_roles (incident_id, role, user_name, assigned_at) VALUES ($1, $2, $3, $4)`, id, role, user, at); err != nil {
		return fmt.Errorf("assign role: %w", err)
	}
	return nil
}

// holdsRole reports whether user holds any role in incident id.
func holdsRole(ctx context.Context, q db.Querier, id uuid.UUID, user string) (bool, error) {
	var n int
	err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM incident_roles WHERE incident_id = $1 AND user_name = $2`, id, user).Scan(&n)
	return n > 0, err
}
