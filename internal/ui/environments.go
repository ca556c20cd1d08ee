package ui

import (
	"net/http"
	"net/url"

	"groundcrew.dev/groundcrew/internal/catalog"
)

type environmentsData struct {
	Q            string
	Environments []catalog.Environment
	pager
}

func (u *UI) listEnvironments(w http.ResponseWriter, r *http.Request) error {
	q, after, v := searchQuery(r)
	envs, next, err := u.cat.ListEnvironments(r.Context(), catalog.ListOptions{Query: q, After: after, Limit: listLimit})
	if err != nil {
		return err
	}
	u.render(w, r, http.StatusOK, "environments", "Environments",
		environmentsData{Q: q, Environments: envs, pager: newPager("/environments", v, after, next)})
	return nil
}

type environmentData struct {
	E        catalog.Environment
	Services []catalog.Service
	MoreSvcs string
}

// showEnvironment shows an environment and the services running there.
func (u *UI) showEnvironment(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	e, err := u.cat.GetEnvironment(ctx, r.PathValue("name"))
	if err != nil {
		return err
	}
	d := environmentData{E: e}
	var next string
	d.Services, next, err = u.cat.ListServices(ctx, catalog.ListOptions{Limit: 200}, catalog.ServiceFilter{Environment: e.Name})
	if err != nil {
		return err
	}
	if next != "" {
		d.MoreSvcs = "/services?" + url.Values{"environment": {e.Name}}.Encode()
	}
	u.render(w, r, http.StatusOK, "environment", e.Name, d)
	return nil
}
