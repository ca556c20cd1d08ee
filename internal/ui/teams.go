package ui

import (
	"net/http"
	"net/url"

	"groundcrew.dev/groundcrew/internal/catalog"
	"groundcrew.dev/groundcrew/internal/identity"
)

// pager links the pages of a name-ordered list: the cursor is the last
// name shown.
type pager struct {
	NextURL, FirstURL string
}

func newPager(path string, v url.Values, after, next string) pager {
	var p pager
	if next != "" {
		nv := url.Values{}
		for k, s := range v {
			nv[k] = s
		}
		nv.Set("after", next)
		p.NextURL = path + "?" + nv.Encode()
	}
	if after != "" {
		p.FirstURL = path
		if len(v) > 0 {
			p.FirstURL += "?" + v.Encode()
		}
	}
	return p
}

// searchQuery reads the q and after parameters of a simple list.
func searchQuery(r *http.Request) (q, after string, v url.Values) {
	p := r.URL.Query()
	q, after, v = p.Get("q"), p.Get("after"), url.Values{}
	if q != "" {
		v.Set("q", q)
	}
	return q, after, v
}

type teamsData struct {
	Q     string
	Teams []identity.Team
	pager
}

func (u *UI) listTeams(w http.ResponseWriter, r *http.Request) error {
	q, after, v := searchQuery(r)
	teams, next, err := u.ids.ListTeams(r.Context(), identity.ListOptions{Query: q, After: after, Limit: listLimit})
	if err != nil {
		return err
	}
	u.render(w, r, http.StatusOK, "teams", "Teams", teamsData{Q: q, Teams: teams, pager: newPager("/teams", v, after, next)})
	return nil
}

type teamData struct {
	T         identity.Team
	Services  []catalog.Service
	MoreSvcs  string // link to the full list when there are more
	Tools     []catalog.Tool
	CanCreate bool
}

// showTeam shows a team with its members and what it owns.
func (u *UI) showTeam(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t, err := u.ids.GetTeam(ctx, r.PathValue("name"))
	if err != nil {
		return err
	}
	d := teamData{T: t, CanCreate: identity.ActorFrom(ctx).Can(identity.PermWriteOwned, t.ID)}
	var next string
	d.Services, next, err = u.cat.ListServices(ctx, catalog.ListOptions{Limit: 200}, catalog.ServiceFilter{Owner: t.Name})
	if err != nil {
		return err
	}
	if next != "" {
		d.MoreSvcs = "/services?" + url.Values{"owner": {t.Name}}.Encode()
	}
	if d.Tools, _, err = u.cat.ListTools(ctx, catalog.ListOptions{Limit: 200}, t.Name); err != nil {
		return err
	}
	u.render(w, r, http.StatusOK, "team", t.Name, d)
	return nil
}
