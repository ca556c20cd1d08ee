package ui

import (
	"net/http"

	"groundcrew.dev/groundcrew/internal/catalog"
)

type toolsData struct {
	Q     string
	Owner string
	Tools []catalog.Tool
	pager
}

func (u *UI) listTools(w http.ResponseWriter, r *http.Request) error {
	q, after, v := searchQuery(r)
	owner := r.URL.Query().Get("owner")
	if owner != "" {
		v.Set("owner", owner)
	}
	tools, next, err := u.cat.ListTools(r.Context(), catalog.ListOptions{Query: q, After: after, Limit: listLimit}, owner)
	if err != nil {
		return err
	}
	u.render(w, r, http.StatusOK, "tools", "Tools", toolsData{Q: q, Owner: owner, Tools: tools, pager: newPager("/tools", v, after, next)})
	return nil
}

// showTool shows a tool and the access roles it offers.
func (u *UI) showTool(w http.ResponseWriter, r *http.Request) error {
	t, err := u.cat.GetTool(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	u.render(w, r, http.StatusOK, "tool", t.Name, t)
	return nil
}
