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
	Checks     attentionChecks
}

// home shows what needs attention: checks that are down or degraded
// first, then the gaps in the catalog.
func (u *UI) home(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	sum, err := u.cat.Summarize(ctx)
	if err != nil {
		return err
	}
	d := homeData{Sum: sum, Lifecycles: catalog.Lifecycles}
	if d.Checks, err = u.checksNeedingAttention(ctx); err != nil {
		return err
	}
	if sum.NoRunbook > 0 {
		if d.NoRunbook, _, err = u.cat.ListServices(ctx, catalog.ListOptions{Limit: attentionLimit}, catalog.ServiceFilter{NoRunbook: true}); err != nil {
			return err
		}
	}
	if sum.Unowned > 0 {
		if d.Unowned, _, err = u.cat.ListServices(ctx, catalog.ListOptions{Limit: attentionLimit}, catalog.ServiceFilter{Unstaffed: true}); err != nil {
			return err
		}
		seen := map[string]bool{}
		for _, s := range d.Unowned {
			if !seen[s.Owner] {
				seen[s.Owner] = true
				t, err := u.ids.GetTeam(ctx, s.Owner)
				if err != nil {
					return err
				}
				d.EmptyTeams = append(d.EmptyTeams, t)
			}
		}
	}
	u.render(w, r, http.StatusOK, "home", "Needs attention", d)
	return nil
}
