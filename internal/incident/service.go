package incident

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/google/uuid"

	"groundcrew.dev/groundcrew/internal/audit"
	"groundcrew.dev/groundcrew/internal/clock"
	"groundcrew.dev/groundcrew/internal/db"
	"groundcrew.dev/groundcrew/internal/errs"
	"groundcrew.dev/groundcrew/internal/identity"
	"groundcrew.dev/groundcrew/internal/statuspage"
)

// Directory resolves the people and teams incidents name;
// identity.Service implements it.
type Directory interface {
	// GetUserTx returns the user called name, NotFound when there is none.
	GetUserTx(ctx context.Context, q db.Querier, name string) (identity.User, error)
	// TeamID returns a team's id, or an Invalid error naming field.
	TeamID(ctx context.Context, q db.Querier, field, name string) (uuid.UUID, error)
}

// Catalog resolves affected services; catalog.Catalog implements it.
type Catalog interface {
	// ServiceRef returns the id and owning team of a service, or an
	// Invalid error naming field.
	ServiceRef(ctx context.Context, q db.Querier, field, name string) (id, owner uuid.UUID, environments []string, err error)
}

// StatusPoster posts incident notices to public status pages inside the
// caller's transaction; *statuspage.Service implements it. Both Tx
// methods authorize the actor themselves (operators and admins), and
// Changed must be called for each page after commit.
type StatusPoster interface {
	CreateNoticeTx(ctx context.Context, tx *sql.Tx, page string, in statuspage.NoticeInput) (statuspage.Notice, error)
	PostUpdateTx(ctx context.Context, tx *sql.Tx, page string, number int64, in statuspage.UpdateInput) (statuspage.Notice, error)
	Changed(page string)
}

var (
	_ Directory    = (*identity.Service)(nil)
	_ StatusPoster = (*statuspage.Service)(nil)
)

// Options configure the Service. The zero value is a safe default.
type Options struct {
	// Logger receives unexpected errors; default: discard.
	Logger *slog.Logger
	// StatusPages posts status updates; nil refuses them as unavailable.
	StatusPages StatusPoster
}

// Service runs incidents, their timelines, postmortems and reports. Safe
// for concurrent use.
//
// Who may do what: everyone signed in reads everything. Anyone who may
// change something (members and up, with a write credential) declares
// incidents and adds notes to any incident. Changing an incident — its
// title, severity, status, roles, services, status updates, postmortem and
// action items — is for operators and admins, members of the teams that
// own its affected services, and the people holding a role in it (so a
// member who declares an incident about nothing in the catalog still runs
// it). An action item may also be changed by members of its owner team.
type Service struct {
	db    *db.DB
	clock clock.Clock
	dir   Directory
	cat   Catalog
	pages StatusPoster
	log   *slog.Logger
}

// NewService returns an incident service.
func NewService(d *db.DB, c clock.Clock, dir Directory, cat Catalog, opts Options) *Service {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{db: d, clock: c, dir: dir, cat: cat, pages: opts.StatusPages, log: log}
}

func (s *Service) now() time.Time { return s.clock.Now().UTC().Truncate(time.Microsecond) }

// record appends an audit entry for the actor in ctx.
func (s *Service) record(ctx context.Context, tx *sql.Tx, action, kind string, id uuid.UUID, name string, before, after any) error {
	return audit.Append(ctx, tx, s.clock.Now(), audit.Entry{
		Actor: identity.ActorFrom(ctx).Audit(), Action: action, ObjectKind: kind,
		ObjectID: id.String(), ObjectName: name, Before: before, After: after,
	})
}

// authorizeWrite lets the actor change incident id (see Service).
func authorizeWrite(ctx context.Context, q db.Querier, id uuid.UUID, number int64) error {
	if err := identity.AuthorizeWriter(ctx); err != nil {
		return err
	}
	a := identity.ActorFrom(ctx)
	if a.Can(identity.PermWriteOwned, uuid.Nil) {
		return nil
	}
	teams, err := ownerTeams(ctx, q, id)
	if err != nil {
		return err
	}
	for _, t := range teams {
		if a.Can(identity.PermWriteOwned, t) {
			return nil
		}
	}
	if a.UserID != uuid.Nil {
		ok, err := holdsRole(ctx, q, id, a.Name)
		if err != nil {
			return fmt.Errorf("incident roles: %w", err)
		}
		if ok {
			return nil
		}
	}
	return errs.Forbiddenf("only operators, members of the teams owning the affected services and the people holding a role in %s may change it", Key(number))
}

// Declare declares an incident: the actor becomes its lead unless in.Lead
// names someone else. Members and up may declare.
func (s *Service) Declare(ctx context.Context, in DeclareInput) (Incident, error) {
	if err := identity.AuthorizeWriter(ctx); err != nil {
		return Incident{}, err
	}
	in.DeclaredAt, in.DeclaredBy = time.Time{}, ""
	var out Incident
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = s.DeclareTx(ctx, tx, in)
		return err
	})
	return out, err
}

// DeclareTx declares an incident in the caller's transaction and returns
// it with its number, taken from a counter in tx so that numbers are
// unique and gapless across replicas. It validates in but does not
// authorize: Declare does, and a hook caller (declare from an alert or a
// page) acts as itself. DeclaredBy defaults to the actor in ctx ("system"
// without one) and DeclaredAt to now; the lead defaults to the declarer,
// who must then be a person — a system caller must name the lead.
func (s *Service) DeclareTx(ctx context.Context, tx *sql.Tx, in DeclareInput) (Incident, error) {
	if err := in.Validate(); err != nil {
		return Incident{}, err
	}
	now := s.now()
	at := in.DeclaredAt.UTC().Truncate(time.Microsecond)
	if in.DeclaredAt.IsZero() {
		at = now
	}
	by := in.DeclaredBy
	if by == "" {
		by = actorName(ctx)
	}
	lead := in.Lead
	if lead == "" {
		lead = by
	}
	if _, err := s.dir.GetUserTx(ctx, tx, lead); errs.Is(err, errs.NotFound) {
		if in.Lead == "" {
			return Incident{}, errs.Invalidf("lead", "is required: the declarer %q is not a person who can lead", by)
		}
		return Incident{}, errs.Invalidf("lead", "user %q does not exist", lead)
	} else if err != nil {
		return Incident{}, err
	}
	for i, name := range in.Services {
		if _, _, _, err := s.cat.ServiceRef(ctx, tx, fmt.Sprintf("services[%d]", i), name); err != nil {
			return Incident{}, err
		}
	}
	n, err := nextNumber(ctx, tx)
	if err != nil {
		return Incident{}, err
	}
	inc := Incident{
		ID: db.NewID(), Number: n, Title: strings.TrimSpace(in.Title), Severity: in.Severity, Status: Investigating,
		Summary: strings.TrimSpace(in.Summary), Source: in.source(), DeclaredBy: by, DeclaredAt: at, Revision: 1, UpdatedAt: now,
	}
	if err := insertIncident(ctx, tx, inc); err != nil {
		return inc, err
	}
	for _, name := range in.Services {
		if _, err := tx.ExecContext(ctx, `INSERT INTO incident_services (incident_id, service, added_at) VALUES ($1, $2, $3)`, inc.ID, name, now); err != nil {
			return inc, fmt.Errorf("incident services: %w", err)
		}
	}
	if err := putRole(ctx, tx, inc.ID, RoleLead, lead, now); err != nil {
		return inc, err
	}
	text := fmt.Sprintf("%s declared %s %s: %s; lead %s", by, Key(n), inc.Severity, inc.Title, lead)
	if len(in.Services) > 0 {
		text += "; affects " + strings.Join(in.Services, ", ")
	}
	detail := map[string]any{"severity": string(inc.Severity), "lead": lead, "source": inc.Source.Kind}
	if inc.Source.Ref != "" {
		detail["source_ref"] = inc.Source.Ref
	}
	if _, err := appendEntry(ctx, tx, inc.ID, Entry{At: at, Kind: KindDeclared, Actor: by, Text: text, Detail: detail}); err != nil {
		return inc, err
	}
	if msg := strings.TrimSpace(in.Message); msg != "" {
		if _, err := appendEntry(ctx, tx, inc.ID, Entry{At: at, Kind: KindNote, Actor: by, Text: msg}); err != nil {
			return inc, err
		}
	}
	out, err := getIncident(ctx, tx, n)
	if err != nil {
		return out, err
	}
	return out, s.record(ctx, tx, "create", "incident", out.ID, out.Key, nil, out)
}

// SeverityDefinitions returns the fixed severity definitions, worst first.
func (s *Service) SeverityDefinitions(ctx context.Context) ([]SeverityDefinition, error) {
	if err := identity.Authorize(ctx, identity.PermRead, uuid.Nil); err != nil {
		return nil, err
	}
	return Severities, nil
}

// Get returns incident number.
func (s *Service) Get(ctx context.Context, number int64) (Incident, error) {
	if err := identity.Authorize(ctx, identity.PermRead, uuid.Nil); err != nil {
		return Incident{}, err
	}
	return getIncident(ctx, s.db.Reader(), number)
}

// Filter narrows a list of incidents.
type Filter struct {
	Status   string // "open", "resolved", or one status; empty: all
	Severity Severity
	Service  string // only incidents affecting this service
	Team     string // only incidents affecting a service this team owns
	Before   int64  // cursor: numbers below this one
	Limit    int    // default 100, at most 1000
}

// List returns incidents, newest (highest number) first; next is the
// cursor of the next page (0 on the last).
func (s *Service) List(ctx context.Context, f Filter) (out []Incident, next int64, err error) {
	if err := identity.Authorize(ctx, identity.PermRead, uuid.Nil); err != nil {
		return nil, 0, err
	}
	if f.Limit <= 0 {
		f.Limit = 100
	}
	f.Limit = min(f.Limit, 1000)
	var w db.Where
	switch st := Status(f.Status); {
	case f.Status == "":
	case f.Status == "open":
		w.AddPlain("i.status <> 'resolved'")
	case st.Valid():
		w.Add("i.status = ?", f.Status)
	default:
		return nil, 0, errs.Invalidf("status", "%q is not open, investigating, identified, monitoring or resolved", f.Status)
	}
	if f.Severity != "" {
		if !f.Severity.Valid() {
			return nil, 0, errs.Invalidf("severity", "%q is not a severity: want SEV1, SEV2, SEV3 or SEV4", f.Severity)
		}
		w.Add("i.severity = ?", f.Severity)
	}
	if f.Service != "" {
		w.Add("EXISTS (SELECT 1 FROM incident_services isv WHERE isv.incident_id = i.id AND isv.service = ?)", f.Service)
	}
	if f.Team != "" {
		w.Add(`EXISTS (SELECT 1 FROM incident_services isv JOIN services sv ON sv.name = isv.service JOIN teams t ON t.id = sv.owner_team_id
			WHERE isv.incident_id = i.id AND t.name = ?)`, f.Team)
	}
	if f.Before > 0 {
		w.Add("i.number < ?", f.Before)
	}
	q := s.db.Reader()
	rows, err := q.QueryContext(ctx, `SELECT `+prefixed("i.", incidentColumns)+` FROM incidents i`+w.SQL()+` ORDER BY i.number DESC LIMIT `+w.Next(f.Limit+1), w.Args...)
	if err != nil {
		return nil, 0, fmt.Errorf("list incidents: %w", err)
	}
	out, cursor, err := db.CollectPage(rows, f.Limit, func(r *sql.Rows) (Incident, error) { return scanIncident(r) }, func(in Incident) string { return fmt.Sprint(in.Number) })
	if err != nil {
		return nil, 0, fmt.Errorf("list incidents: %w", err)
	}
	if out == nil {
		out = []Incident{}
	}
	if err := fill(ctx, q, out); err != nil {
		return nil, 0, err
	}
	if cursor != "" {
		next = out[len(out)-1].Number
	}
	return out, next, nil
}

func prefixed(p, cols string) string {
	parts := strings.Split(cols, ",")
	for i, c := range parts {
		parts[i] = p + strings.TrimSpace(c)
	}
	return strings.Join(parts, ", ")
}

// Update changes incident number's title, severity, status or summary and
// records each change on the timeline; ifRevision, when not zero, must
// match. Resolving needs a summary; a resolved incident re-opens only to
// investigating. An update that changes nothing returns the incident
// unchanged.
func (s *Service) Update(ctx context.Context, number int64, in UpdateInput, ifRevision int64) (Incident, error) {
	if err := identity.AuthorizeWriter(ctx); err != nil {
		return Incident{}, err
	}
	if err := in.Validate(); err != nil {
		return Incident{}, err
	}
	var out Incident
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		before, err := getIncident(ctx, tx, number)
		if err != nil {
			return err
		}
		if err := authorizeWrite(ctx, tx, before.ID, number); err != nil {
			return err
		}
		if ifRevision != 0 && ifRevision != before.Revision {
			return errs.Preconditionf("%s was changed by someone else (revision %d, you have %d); reload and retry", before.Key, before.Revision, ifRevision)
		}
		after, entries, err := s.apply(ctx, before, in)
		if err != nil || len(entries) == 0 {
			out = before
			return err
		}
		after.Revision, after.UpdatedAt = before.Revision+1, s.now()
		if err := updateIncident(ctx, tx, after); err != nil {
			return err
		}
		for _, e := range entries {
			if _, err := appendEntry(ctx, tx, after.ID, e); err != nil {
				return err
			}
		}
		if out, err = getIncident(ctx, tx, number); err != nil {
			return err
		}
		return s.record(ctx, tx, "update", "incident", out.ID, out.Key, before, out)
	})
	return out, err
}

// apply returns inc changed by in and the timeline entries that say so.
func (s *Service) apply(ctx context.Context, inc Incident, in UpdateInput) (Incident, []Entry, error) {
	now, who := s.now(), actorName(ctx)
	var entries []Entry
	add := func(kind, text string, detail map[string]any) {
		if msg := strings.TrimSpace(in.Message); msg != "" && (kind == KindStatusChanged || kind == KindSeverityChanged) {
			text += ": " + msg
		}
		entries = append(entries, Entry{At: now, Kind: kind, Actor: who, Text: text, Detail: detail})
	}
	if t := strings.TrimSpace(in.Title); t != "" && t != inc.Title {
		add(KindTitleChanged, fmt.Sprintf("Title changed from %q to %q", inc.Title, t), map[string]any{"from": inc.Title, "to": t})
		inc.Title = t
	}
	if sum := strings.TrimSpace(in.Summary); sum != "" && sum != inc.Summary {
		add(KindSummaryChanged, "Summary: "+sum, nil)
		inc.Summary = sum
	}
	if in.Severity != "" && in.Severity != inc.Severity {
		add(KindSeverityChanged, fmt.Sprintf("Severity changed from %s to %s", inc.Severity, in.Severity), map[string]any{"from": string(inc.Severity), "to": string(in.Severity)})
		inc.Severity = in.Severity
	}
	if in.Status != "" && in.Status != inc.Status {
		if err := checkTransition(inc.Status, in.Status, inc.Summary); err != nil {
			return inc, nil, err
		}
		detail := map[string]any{"from": string(inc.Status), "to": string(in.Status)}
		switch {
		case inc.Status == Resolved:
			add(KindStatusChanged, fmt.Sprintf("Re-opened (was resolved), now %s", in.Status), detail)
			inc.ResolvedAt = nil
		default:
			add(KindStatusChanged, fmt.Sprintf("Status changed from %s to %s", inc.Status, in.Status), detail)
		}
		inc.Status = in.Status
		if (in.Status == Monitoring || in.Status == Resolved) && inc.MitigatedAt == nil {
			inc.MitigatedAt = &now
		}
		if in.Status == Resolved {
			inc.ResolvedAt = &now
		}
	}
	return inc, entries, nil
}

// AssignRole gives role to user in incident number, replacing whoever held
// it. Assigning the lead hands the incident over: there is always exactly
// one.
func (s *Service) AssignRole(ctx context.Context, number int64, role, user string) (Incident, error) {
	if err := identity.AuthorizeWriter(ctx); err != nil {
		return Incident{}, err
	}
	if err := checkRole(role); err != nil {
		return Incident{}, err
	}
	if user == "" {
		return Incident{}, errs.Invalidf("user", "is required")
	}
	return s.change(ctx, number, func(tx *sql.Tx, inc Incident) ([]Entry, error) {
		if _, err := s.dir.GetUserTx(ctx, tx, user); errs.Is(err, errs.NotFound) {
			return nil, errs.Invalidf("user", "user %q does not exist", user)
		} else if err != nil {
			return nil, err
		}
		prev := ""
		for _, r := range inc.Roles {
			if r.Role == role {
				prev = r.User
			}
		}
		if prev == user {
			return nil, nil
		}
		if err := putRole(ctx, tx, inc.ID, role, user, s.now()); err != nil {
			return nil, err
		}
		text := fmt.Sprintf("%s is now %s", user, role)
		if prev != "" {
			text += " (was " + prev + ")"
		}
		return []Entry{{Kind: KindRoleAssigned, Text: text, Detail: map[string]any{"role": role, "user": user, "previous": prev}}}, nil
	})
}

// UnassignRole frees role in incident number. The lead cannot be
// unassigned, only handed to someone else.
func (s *Service) UnassignRole(ctx context.Context, number int64, role string) (Incident, error) {
	if err := identity.AuthorizeWriter(ctx); err != nil {
		return Incident{}, err
	}
	if err := checkRole(role); err != nil {
		return Incident{}, err
	}
	if role == RoleLead {
		return Incident{}, errs.Invalidf("role", "an incident always has exactly one lead: assign someone else as lead instead")
	}
	return s.change(ctx, number, func(tx *sql.Tx, inc Incident) ([]Entry, error) {
		prev := ""
		for _, r := range inc.Roles {
			if r.Role == role {
				prev = r.User
			}
		}
		if prev == "" {
			return nil, errs.NotFoundf("nobody is %s in %s", role, inc.Key)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM incident_roles WHERE incident_id = $1 AND role = $2`, inc.ID, role); err != nil {
			return nil, fmt.Errorf("unassign role: %w", err)
		}
		return []Entry{{Kind: KindRoleUnassigned, Text: fmt.Sprintf("%s is no longer %s", prev, role), Detail: map[string]any{"role": role, "user": prev}}}, nil
	})
}

// AddService adds a catalog service to those incident number affects.
// Adding one it already affects changes nothing.
func (s *Service) AddService(ctx context.Context, number int64, service string) (Incident, error) {
	if err := identity.AuthorizeWriter(ctx); err != nil {
		return Incident{}, err
	}
	return s.change(ctx, number, func(tx *sql.Tx, inc Incident) ([]Entry, error) {
		if _, _, _, err := s.cat.ServiceRef(ctx, tx, "service", service); err != nil {
			return nil, err
		}
		for _, a := range inc.Services {
			if a.Name == service {
				return nil, nil
			}
		}
		if len(inc.Services) >= MaxServices {
			return nil, errs.Invalidf("service", "%s already affects %d services, the most an incident may name", inc.Key, MaxServices)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO incident_services (incident_id, service, added_at) VALUES ($1, $2, $3)`, inc.ID, service, s.now()); err != nil {
			return nil, fmt.Errorf("add service: %w", err)
		}
		return []Entry{{Kind: KindServiceAdded, Text: "Affects " + service, Detail: map[string]any{"service": service}}}, nil
	})
}

// RemoveService removes a service from those incident number affects.
func (s *Service) RemoveService(ctx context.Context, number int64, service string) (Incident, error) {
	if err := identity.AuthorizeWriter(ctx); err != nil {
		return Incident{}, err
	}
	return s.change(ctx, number, func(tx *sql.Tx, inc Incident) ([]Entry, error) {
		res, err := tx.ExecContext(ctx, `DELETE FROM incident_services WHERE incident_id = $1 AND service = $2`, inc.ID, service)
		if err != nil {
			return nil, fmt.Errorf("remove service: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil, errs.NotFoundf("%s does not affect %q", inc.Key, service)
		}
		return []Entry{{Kind: KindServiceRemoved, Text: "No longer affects " + service, Detail: map[string]any{"service": service}}}, nil
	})
}

// change runs fn on incident number in a transaction after authorizing
// the actor, appends the entries fn returns (now, by the actor), bumps the
// revision when there are any, and returns the incident as it is after.
func (s *Service) change(ctx context.Context, number int64, fn func(tx *sql.Tx, inc Incident) ([]Entry, error)) (Incident, error) {
	var out Incident
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		before, err := getIncident(ctx, tx, number)
		if err != nil {
			return err
		}
		if err := authorizeWrite(ctx, tx, before.ID, number); err != nil {
			return err
		}
		entries, err := fn(tx, before)
		if err != nil {
			return err
		}
		if len(entries) == 0 {
			out = before
			return nil
		}
		now, who := s.now(), actorName(ctx)
		for _, e := range entries {
			e.At, e.Actor = now, who
			if _, err := appendEntry(ctx, tx, before.ID, e); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE incidents SET revision = revision + 1, updated_at = $2 WHERE id = $1`, before.ID, now); err != nil {
			return fmt.Errorf("update incident: %w", err)
		}
		if out, err = getIncident(ctx, tx, number); err != nil {
			return err
		}
		return s.record(ctx, tx, "update", "incident", out.ID, out.Key, before, out)
	})
	return out, err
}

// MarkAcknowledgedTx records the first acknowledgement of incident number
// (by whom, when: the start of MTTA) in the caller's transaction, with a
// timeline entry. Later calls change nothing, so the pager may call it on
// every acknowledgement. The caller authorizes; this does not.
func (s *Service) MarkAcknowledgedTx(ctx context.Context, tx *sql.Tx, number int64, at time.Time, by string) error {
	id, err := incidentID(ctx, tx, number)
	if err != nil {
		return err
	}
	if at.IsZero() {
		at = s.now()
	}
	at = at.UTC().Truncate(time.Microsecond)
	if by == "" {
		by = "system"
	}
	res, err := tx.ExecContext(ctx, `UPDATE incidents SET acknowledged_at = $2, acknowledged_by = $3, revision = revision + 1, updated_at = $4
		WHERE id = $1 AND acknowledged_at IS NULL`, id, at, by, s.now())
	if err != nil {
		return fmt.Errorf("acknowledge %s: %w", Key(number), err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil
	}
	_, err = appendEntry(ctx, tx, id, Entry{At: at, Kind: KindAcknowledged, Actor: by, Text: "Acknowledged by " + by})
	return err
}
