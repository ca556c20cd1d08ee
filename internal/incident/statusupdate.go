package incident

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"groundcrew.dev/groundcrew/internal/db"
	"groundcrew.dev/groundcrew/internal/errs"
	"groundcrew.dev/groundcrew/internal/names"
	"groundcrew.dev/groundcrew/internal/statuspage"
)

// MaxPages bounds the status pages one update goes to.
const MaxPages = 20

// StatusUpdateInput posts an update about an incident to public status
// pages. The first post to a page creates the incident's notice there;
// later posts add updates to it.
type StatusUpdateInput struct {
	Pages   []string `json:"pages" minItems:"1" maxItems:"20" doc:"the status pages to post to"`
	Status  Status   `json:"status,omitempty" enum:"investigating,identified,monitoring,resolved" doc:"the public status; default the incident's status"`
	Message string   `json:"message" maxLength:"10000" doc:"what the public reads"`
	// Title is the public title of a new notice; default the incident's
	// title. Ignored once the notice exists.
	Title      string   `json:"title,omitempty" maxLength:"200" doc:"the public title when the notice is created; default the incident's title"`
	Components []string `json:"components,omitempty" doc:"affected components of the pages; default none (a new notice) or unchanged"`
}

// Validate reports the first invalid field and normalizes the page list.
func (in *StatusUpdateInput) Validate() error {
	if len(in.Pages) == 0 {
		return errs.Invalidf("pages", "name at least one status page")
	}
	if len(in.Pages) > MaxPages {
		return errs.Invalidf("pages", "at most %d status pages", MaxPages)
	}
	for i, p := range in.Pages {
		if err := names.Check(fmt.Sprintf("pages[%d]", i), p); err != nil {
			return err
		}
	}
	in.Pages = slices.Compact(slices.Sorted(slices.Values(in.Pages)))
	if in.Status != "" && !in.Status.Valid() {
		return errs.Invalidf("status", "%q is not a status: want investigating, identified, monitoring or resolved", in.Status)
	}
	if strings.TrimSpace(in.Message) == "" {
		return errs.Invalidf("message", "is required: say what the public should know")
	}
	if err := checkText("message", in.Message); err != nil {
		return err
	}
	return checkLine("title", in.Title, MaxTitle, false)
}

// PostStatusUpdate posts an update about incident number to the status
// pages in.Pages, all or none, and records it on the timeline. It needs
// both the right to change the incident and the status pages' own
// permission (operators and admins). It returns the notices as they are
// now, by page.
func (s *Service) PostStatusUpdate(ctx context.Context, number int64, in StatusUpdateInput) ([]statuspage.Notice, error) {
	if s.pages == nil {
		return nil, errs.E(errs.Unavailable, "status pages are not available")
	}
	if err := in.Validate(); err != nil {
		return nil, err
	}
	var out []statuspage.Notice
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		out = nil
		inc, err := getIncident(ctx, tx, number)
		if err != nil {
			return err
		}
		if err := authorizeWrite(ctx, tx, inc.ID, number); err != nil {
			return err
		}
		status := in.Status
		if status == "" {
			status = inc.Status
		}
		for i, page := range in.Pages {
			n, err := s.postTo(ctx, tx, inc, page, status, in)
			if errs.Is(err, errs.NotFound) {
				return errs.Invalidf(fmt.Sprintf("pages[%d]", i), "%s", errs.MessageOf(err))
			}
			if err != nil {
				return err
			}
			out = append(out, n)
		}
		text := fmt.Sprintf("Status update (%s) posted to %s: %s", status, strings.Join(in.Pages, ", "), strings.TrimSpace(in.Message))
		_, err = appendEntry(ctx, tx, inc.ID, Entry{At: s.now(), Kind: KindStatusUpdate, Actor: actorName(ctx), Text: text,
			Detail: map[string]any{"pages": in.Pages, "status": string(status)}})
		return err
	})
	if err != nil {
		return nil, err
	}
	for _, p := range in.Pages {
		s.pages.Changed(p)
	}
	return out, nil
}

// postTo posts to one page: an update to the incident's notice there, or
// a new notice when there is none yet (or it was deleted).
func (s *Service) postTo(ctx context.Context, tx *sql.Tx, inc Incident, page string, status Status, in StatusUpdateInput) (statuspage.Notice, error) {
	var number int64
	err := tx.QueryRowContext(ctx, `SELECT notice_number FROM incident_status_notices WHERE incident_id = $1 AND page = $2`, inc.ID, page).Scan(&number)
	if err != nil && !db.IsNoRows(err) {
		return statuspage.Notice{}, fmt.Errorf("status notice: %w", err)
	}
	if err == nil {
		n, err := s.pages.PostUpdateTx(ctx, tx, page, number, statuspage.UpdateInput{
			Status: statuspage.NoticeStatus(status), Message: strings.TrimSpace(in.Message), Components: in.Components,
		})
		if !errs.Is(err, errs.NotFound) {
			return n, err
		}
		// The notice was deleted on the page: post a new one.
		if _, err := tx.ExecContext(ctx, `DELETE FROM incident_status_notices WHERE incident_id = $1 AND page = $2`, inc.ID, page); err != nil {
			return n, fmt.Errorf("status notice: %w", err)
		}
	}
	title := strings.TrimSpace(in.Title)
	if title == "" {
		title = inc.Title
	}
	start := inc.DeclaredAt
	n, err := s.pages.CreateNoticeTx(ctx, tx, page, statuspage.NoticeInput{
		Kind: statuspage.Incident, Title: title, Status: statuspage.NoticeStatus(status), Components: in.Components,
		StartsAt: &start, Message: strings.TrimSpace(in.Message), Ref: inc.Key,
	})
	if err != nil {
		return n, err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO incident_status_notices (incident_id, page, notice_number) VALUES ($1, $2, $3)`, inc.ID, page, n.Number); err != nil {
		return n, fmt.Errorf("status notice: %w", err)
	}
	return n, nil
}
