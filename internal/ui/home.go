package ui

import (
	"net/http"

	"groundcrew.dev/groundcrew/internal/catalog"
	"groundcrew.dev/groundcrew/internal/identity"
)

// attentionLimit bounds each "needs attention" list on the home page.
const attentionLimit = 20

type homeData struct {
	Sum        catalog.Summary
	Lifecycles []string
	NoRunbook  []catalog.Service // production services without a runbook
	EmptyTeams []identity.Team   // teams without members
	Unowned    []catalog.Service // services of those teams
}

// home shows what needs attention: for now, the gaps in the catalog.
func (u *UI) home(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	sum, err := u.cat.Summarize(ctx)
	if err != nil {
		return err
	}
	d := homeData{Sum: sum, Lifecycles: catalog.Lifecycles}
	if sum.NoRunbook > 0 {
		prod, _, err := u.cat.ListServices(ctx, catalog.ListOptions{Limit: choiceLimit}, catalog.ServiceFilter{Lifecycle: "production"})
		if err != nil {
			return err
		}
		for _, s := range prod {
			if s.Runbook == "" && len(d.NoRunbook) < attentionLimit {
				d.NoRunbook = append(d.NoRunbook, s)
			}
		}
	}
	if sum.Unowned > 0 {
		teams, _, err := u.ids.ListTeams(ctx, identity.ListOptions{Limit: choiceLimit})
		if err != nil {
			return err
		}
		for _, t := range teams {
			if len(t.Members) > 0 || len(d.Unowned) >= attentionLimit {
				continue
			}
			svcs, _, err := u.cat.ListServices(ctx, catalog.ListOptions{Limit: attentionLimit}, catalog.ServiceFilter{Owner: t.Name})
			if err != nil {
				return err
			}
			if len(svcs) > 0 {
				d.EmptyTeams = append(d.EmptyTeams, t)
				d.Unowned = append(d.Unowned, svcs[:min(len(svcs), attentionLimit-len(d.Unowned))]...)
			}
		}
	}
	u.render(w, r, http.StatusOK, "home", "Needs attention", d)
	return nil
}
