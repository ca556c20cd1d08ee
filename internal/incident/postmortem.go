package incident

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"groundcrew.dev/groundcrew/internal/db"
	"groundcrew.dev/groundcrew/internal/errs"
	"groundcrew.dev/groundcrew/internal/identity"
)

// ReviewStatus is where a postmortem's review stands.
type ReviewStatus string

// The review statuses: draft → in_review → approved. A review may send it
// back to draft, and an approved postmortem re-opens to draft.
const (
	Draft    ReviewStatus = "draft"
	InReview ReviewStatus = "in_review"
	Approved ReviewStatus = "approved"
)

// TimelineRow is one line of a postmortem's timeline.
type TimelineRow struct {
	At    time.Time `json:"at"`
	Actor string    `json:"actor,omitempty"`
	Kind  string    `json:"kind,omitempty"`
	Text  string    `json:"text"`
}

// Postmortem is the write-up of an incident, one per incident.
type Postmortem struct {
	Incident    int64         `json:"incident" doc:"the incident's number"`
	Key         string        `json:"key" doc:"the incident's key, INC-7"`
	Title       string        `json:"title" doc:"the incident's title"`
	Status      ReviewStatus  `json:"status" enum:"draft,in_review,approved"`
	Summary     string        `json:"summary"`
	Impact      string        `json:"impact"`
	Timeline    []TimelineRow `json:"timeline" doc:"copied from the incident's timeline when the postmortem was created; editable"`
	RootCauses  string        `json:"root_causes"`
	WentWell    string        `json:"went_well"`
	WentWrong   string        `json:"went_wrong"`
	Lessons     string        `json:"lessons"`
	ActionItems []ActionItem  `json:"action_items" doc:"by due date"`
	CreatedBy   string        `json:"created_by"`
	CreatedAt   time.Time     `json:"created_at"`
	SubmittedBy string        `json:"submitted_by,omitempty" doc:"who sent it to review"`
	SubmittedAt *time.Time    `json:"submitted_at,omitempty"`
	ApprovedBy  string        `json:"approved_by,omitempty"`
	ApprovedAt  *time.Time    `json:"approved_at,omitempty"`
	Revision    int64         `json:"revision"`
	UpdatedAt   time.Time     `json:"updated_at"`
}

// PostmortemInput creates a postmortem (from the template prefilled from
// the incident) or changes it: absent fields stay as they are.
type PostmortemInput struct {
	Status     *ReviewStatus  `json:"status,omitempty" enum:"draft,in_review,approved"`
	Summary    *string        `json:"summary,omitempty" maxLength:"10000"`
	Impact     *string        `json:"impact,omitempty" maxLength:"10000"`
	Timeline   *[]TimelineRow `json:"timeline,omitempty" maxItems:"1000" doc:"replaces the timeline"`
	RootCauses *string        `json:"root_causes,omitempty" maxLength:"10000"`
	WentWell   *string        `json:"went_well,omitempty" maxLength:"10000"`
	WentWrong  *string        `json:"went_wrong,omitempty" maxLength:"10000"`
	Lessons    *string        `json:"lessons,omitempty" maxLength:"10000"`
}

// Validate reports the first invalid field.
func (in PostmortemInput) Validate() error {
	if in.Status != nil {
		switch *in.Status {
		case Draft, InReview, Approved:
		default:
			return errs.Invalidf("status", "%q is not a review status: want draft, in_review or approved", *in.Status)
		}
	}
	for _, f := range []struct {
		name string
		v    *string
	}{{"summary", in.Summary}, {"impact", in.Impact}, {"root_causes", in.RootCauses}, {"went_well", in.WentWell}, {"went_wrong", in.WentWrong}, {"lessons", in.Lessons}} {
		if f.v != nil {
			if err := checkText(f.name, *f.v); err != nil {
				return err
			}
		}
	}
	if in.Timeline != nil {
		if len(*in.Timeline) > 1000 {
			return errs.Invalidf("timeline", "at most 1000 rows")
		}
		for i, r := range *in.Timeline {
			if r.At.IsZero() {
				return errs.Invalidf(fmt.Sprintf("timeline[%d].at", i), "is required")
			}
			if err := checkLine(fmt.Sprintf("timeline[%d].text", i), r.Text, MaxText, true); err != nil {
				return err
			}
		}
	}
	return nil
}

// edits reports whether in changes the text of a postmortem.
func (in PostmortemInput) edits() bool {
	return in.Summary != nil || in.Impact != nil || in.Timeline != nil || in.RootCauses != nil ||
		in.WentWell != nil || in.WentWrong != nil || in.Lessons != nil
}

// checkReview reports whether a postmortem may go from one review status
// to another.
func checkReview(from, to ReviewStatus) error {
	ok := from == to ||
		(from == Draft && to == InReview) ||
		(from == InReview && (to == Approved || to == Draft)) ||
		(from == Approved && to == Draft)
	if !ok {
		return errs.Invalidf("status", "a postmortem goes draft → in_review → approved (review may send it back to draft); not %s → %s", from, to)
	}
	return nil
}

const postmortemColumns = `p.status, p.summary, p.impact, p.timeline, p.root_causes, p.went_well, p.went_wrong, p.lessons,
	p.created_by, p.created_at, p.submitted_by, p.submitted_at, p.approved_by, p.approved_at, p.revision, p.updated_at, i.number, i.title`

func scanPostmortem(sc interface{ Scan(...any) error }) (Postmortem, error) {
	var p Postmortem
	var timeline string
	var sub, appr sql.NullTime
	err := sc.Scan(&p.Status, &p.Summary, &p.Impact, &timeline, &p.RootCauses, &p.WentWell, &p.WentWrong, &p.Lessons,
		&p.CreatedBy, &p.CreatedAt, &p.SubmittedBy, &sub, &p.ApprovedBy, &appr, &p.Revision, &p.UpdatedAt, &p.Incident, &p.Title)
	if err != nil {
		return p, err
	}
	p.Key = Key(p.Incident)
	p.CreatedAt, p.UpdatedAt = p.CreatedAt.UTC(), p.UpdatedAt.UTC()
	p.SubmittedAt, p.ApprovedAt = nullTime(sub), nullTime(appr)
	if err := json.Unmarshal([]byte(timeline), &p.Timeline); err != nil {
		return p, fmt.Errorf("postmortem timeline: %w", err)
	}
	if p.Timeline == nil {
		p.Timeline = []TimelineRow{}
	}
	return p, nil
}

// getPostmortem returns the postmortem of incident id with its action
// items; NotFound when there is none.
func (s *Service) getPostmortem(ctx context.Context, q db.Querier, id uuid.UUID, number int64) (Postmortem, error) {
	p, err := scanPostmortem(q.QueryRowContext(ctx, `SELECT `+postmortemColumns+` FROM incident_postmortems p JOIN incidents i ON i.id = p.incident_id WHERE p.incident_id = $1`, id))
	if db.IsNoRows(err) {
		return p, errs.NotFoundf("%s has no postmortem yet", Key(number))
	}
	if err != nil {
		return p, fmt.Errorf("postmortem of %s: %w", Key(number), err)
	}
	p.ActionItems, _, err = s.listActionItems(ctx, q, ActionItemFilter{incidentID: id, Limit: 1000})
	return p, err
}

// GetPostmortem returns the postmortem of incident number, NotFound when
// it has none yet.
func (s *Service) GetPostmortem(ctx context.Context, number int64) (Postmortem, error) {
	if err := identity.Authorize(ctx, identity.PermRead, uuid.Nil); err != nil {
		return Postmortem{}, err
	}
	q := s.db.Reader()
	id, err := incidentID(ctx, q, number)
	if err != nil {
		return Postmortem{}, err
	}
	return s.getPostmortem(ctx, q, id, number)
}

// PutPostmortem creates the postmortem of incident number from the
// template prefilled from the incident (summary, impact, timeline) when it
// has none, then applies in; created reports which. An approved postmortem
// must go back to draft before its text changes; moving to in_review and
// approved records who and when.
func (s *Service) PutPostmortem(ctx context.Context, number int64, in PostmortemInput, ifRevision int64) (out Postmortem, created bool, err error) {
	if err := identity.AuthorizeWriter(ctx); err != nil {
		return out, false, err
	}
	if err := in.Validate(); err != nil {
		return out, false, err
	}
	err = s.db.InTx(ctx, func(tx *sql.Tx) error {
		inc, err := getIncident(ctx, tx, number)
		if err != nil {
			return err
		}
		if err := authorizeWrite(ctx, tx, inc.ID, number); err != nil {
			return err
		}
		now, who := s.now(), actorName(ctx)
		before, err := s.getPostmortem(ctx, tx, inc.ID, number)
		switch {
		case errs.Is(err, errs.NotFound):
			if ifRevision != 0 {
				return errs.Preconditionf("%s has no postmortem yet; create it without If-Match", inc.Key)
			}
			before, err = s.template(ctx, tx, inc, who, now)
			if err != nil {
				return err
			}
			created = true
		case err != nil:
			return err
		case ifRevision != 0 && ifRevision != before.Revision:
			return errs.Preconditionf("the postmortem of %s was changed by someone else (revision %d, you have %d); reload and retry", inc.Key, before.Revision, ifRevision)
		}
		after := before
		if in.edits() && before.Status == Approved && (in.Status == nil || *in.Status != Draft) {
			return errs.Invalidf("status", "the postmortem of %s is approved: set status draft to change it", inc.Key)
		}
		set := func(dst *string, v *string) {
			if v != nil {
				*dst = strings.TrimSpace(*v)
			}
		}
		set(&after.Summary, in.Summary)
		set(&after.Impact, in.Impact)
		set(&after.RootCauses, in.RootCauses)
		set(&after.WentWell, in.WentWell)
		set(&after.WentWrong, in.WentWrong)
		set(&after.Lessons, in.Lessons)
		if in.Timeline != nil {
			after.Timeline = append([]TimelineRow{}, (*in.Timeline)...)
			for i := range after.Timeline {
				after.Timeline[i].At = after.Timeline[i].At.UTC()
			}
		}
		var entry string
		if in.Status != nil && *in.Status != before.Status {
			if err := checkReview(before.Status, *in.Status); err != nil {
				return err
			}
			after.Status = *in.Status
			switch after.Status {
			case InReview:
				after.SubmittedBy, after.SubmittedAt = who, &now
				after.ApprovedBy, after.ApprovedAt = "", nil
			case Approved:
				after.ApprovedBy, after.ApprovedAt = who, &now
			case Draft:
				after.ApprovedBy, after.ApprovedAt = "", nil
			}
			entry = fmt.Sprintf("Postmortem %s → %s", before.Status, after.Status)
		}
		if created {
			entry = "Postmortem created"
			if after.Status != Draft {
				entry += " (" + string(after.Status) + ")"
			}
		}
		after.Revision, after.UpdatedAt = before.Revision+1, now
		if created {
			after.Revision = 1
		}
		if err := savePostmortem(ctx, tx, inc.ID, after, created); err != nil {
			return err
		}
		if entry != "" {
			if _, err := appendEntry(ctx, tx, inc.ID, Entry{At: now, Kind: KindPostmortem, Actor: who, Text: entry, Detail: map[string]any{"status": string(after.Status)}}); err != nil {
				return err
			}
		}
		out = after
		action, old := "update", any(before)
		if created {
			action, old = "create", nil
		}
		return s.record(ctx, tx, action, "postmortem", inc.ID, inc.Key, old, after)
	})
	return out, created, err
}

// template returns a new postmortem prefilled from inc: its summary, an
// impact paragraph (severity, services, how long it took) and a copy of
// its timeline.
func (s *Service) template(ctx context.Context, q db.Querier, inc Incident, who string, now time.Time) (Postmortem, error) {
	entries, err := listEntries(ctx, q, inc.ID)
	if err != nil {
		return Postmortem{}, err
	}
	rows := make([]TimelineRow, len(entries))
	for i, e := range entries {
		rows[i] = TimelineRow{At: e.At, Actor: e.Actor, Kind: e.Kind, Text: e.Text}
	}
	return Postmortem{
		Incident: inc.Number, Key: inc.Key, Title: inc.Title, Status: Draft, Summary: inc.Summary, Impact: impact(inc),
		Timeline: rows, ActionItems: []ActionItem{}, CreatedBy: who, CreatedAt: now, UpdatedAt: now,
	}, nil
}

// impact writes the prefilled impact paragraph of inc.
func impact(inc Incident) string {
	var b strings.Builder
	for _, d := range Severities {
		if d.Severity == inc.Severity {
			fmt.Fprintf(&b, "%s (%s): %s\n", d.Severity, d.Name, d.Description)
		}
	}
	if len(inc.Services) > 0 {
		var list []string
		for _, a := range inc.Services {
			if a.Owner != "" {
				list = append(list, a.Name+" (team "+a.Owner+")")
			} else {
				list = append(list, a.Name)
			}
		}
		fmt.Fprintf(&b, "Affected services: %s.\n", strings.Join(list, ", "))
	}
	fmt.Fprintf(&b, "Declared %s by %s.", inc.DeclaredAt.Format("2006-01-02 15:04 MST"), inc.DeclaredBy)
	for _, t := range []struct {
		what string
		at   *time.Time
	}{{"Acknowledged", inc.AcknowledgedAt}, {"Mitigated", inc.MitigatedAt}, {"Resolved", inc.ResolvedAt}} {
		if t.at != nil {
			fmt.Fprintf(&b, " %s after %s.", t.what, t.at.Sub(inc.DeclaredAt).Round(time.Minute))
		}
	}
	b.WriteString("\nWho was affected, how many, for how long:")
	return b.String()
}

func savePostmortem(ctx context.Context, tx *sql.Tx, id uuid.UUID, p Postmortem, create bool) error {
	timeline, err := json.Marshal(p.Timeline)
	if err != nil {
		return fmt.Errorf("postmortem timeline: %w", err)
	}
	args := []any{id, p.Status, p.Summary, p.Impact, string(timeline), p.RootCauses, p.WentWell, p.WentWrong, p.Lessons,
		p.CreatedBy, p.CreatedAt, p.SubmittedBy, timeOrNil(p.SubmittedAt), p.ApprovedBy, timeOrNil(p.ApprovedAt), p.Revision, p.UpdatedAt}
	q := `UPDATE incident_postmortems SET status = $2, summary = $3, impact = $4, timeline = $5, root_causes = $6, went_well = $7,
		went_wrong = $8, lessons = $9, created_by = $10, created_at = $11, submitted_by = $12, submitted_at = $13, approved_by = $14,
		approved_at = $15, revision = $16, updated_at = $17 WHERE incident_id = $1`
	if create {
		q = `INSERT INTO incident_postmortems (incident_id, status, summary, impact, timeline, root_causes, went_well, went_wrong, lessons,
			created_by, created_at, submitted_by, submitted_at, approved_by, approved_at, revision, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)`
	}
	if _, err := tx.ExecContext(ctx, q, args...); err != nil {
		return fmt.Errorf("save postmortem: %w", err)
	}
	return nil
}

// Markdown renders the postmortem as a document to read or paste.
func (p Postmortem) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Postmortem %s: %s\n\nReview: %s", p.Key, p.Title, p.Status)
	if p.ApprovedAt != nil {
		fmt.Fprintf(&b, " by %s on %s", p.ApprovedBy, p.ApprovedAt.Format("2006-01-02"))
	}
	b.WriteString("\n")
	section := func(title, body string) {
		fmt.Fprintf(&b, "\n## %s\n\n", title)
		if strings.TrimSpace(body) == "" {
			body = "_(to write)_"
		}
		b.WriteString(strings.TrimSpace(body) + "\n")
	}
	section("Summary", p.Summary)
	section("Impact", p.Impact)
	var tl strings.Builder
	for _, r := range p.Timeline {
		fmt.Fprintf(&tl, "- %s %s — %s\n", r.At.UTC().Format("2006-01-02 15:04 UTC"), r.Actor, r.Text)
	}
	section("Timeline", tl.String())
	section("Root causes", p.RootCauses)
	section("What went well", p.WentWell)
	section("What went wrong", p.WentWrong)
	section("Lessons", p.Lessons)
	var items strings.Builder
	for _, a := range p.ActionItems {
		box := " "
		if a.Status == ActionDone {
			box = "x"
		}
		fmt.Fprintf(&items, "- [%s] %s — team %s, due %s\n", box, a.Title, a.Team, a.Due)
	}
	section("Action items", items.String())
	return b.String()
}
