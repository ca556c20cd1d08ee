package apply

import (
	"context"
	"database/sql"

	"groundcrew.dev/groundcrew/internal/identity"
	"groundcrew.dev/groundcrew/internal/statuspage"
)

// RegisterStatusPages registers the StatusPage kind. Pages come after
// checks: they name services and checks.
func RegisterStatusPages(r *Registry, pages *statuspage.Service) {
	r.Register(&Kind{
		Name: "StatusPage", Table: "status_pages", Plural: "statuspages", Aliases: []string{"statuspage", "status-page", "status-pages"}, Order: 70,
		Columns: []Column{{"TITLE", "spec.title"}, {"LOGO TEXT", "spec.logo_text"}},
		Put: func(ctx context.Context, tx *sql.Tx, d Document, origin string) (string, error) {
			var spec statuspage.Spec
			if err := DecodeSpec(d, &spec); err != nil {
				return "", err
			}
			p, changed, err := pages.PutPageTx(ctx, tx, statuspage.PageInput{Name: d.Metadata.Name, Labels: d.Metadata.Labels, Spec: spec}, origin, 0, false)
			return Action(changed, p.Revision), err
		},
		Delete: func(ctx context.Context, tx *sql.Tx, name string) error { return pages.DeletePageTx(ctx, tx, name, 0) },
		Export: func(ctx context.Context) ([]Document, error) {
			all, err := pageAll(func(after string) ([]statuspage.Page, string, error) {
				return pages.ListPages(identity.WithActor(ctx, identity.System()), identity.ListOptions{After: after, Limit: 1000})
			})
			out := make([]Document, len(all))
			for i, p := range all {
				out[i] = doc("StatusPage", p.Name, p.Labels, p.Spec)
			}
			return out, err
		},
		Committed: func() { pages.Changed("") },
	})
}
