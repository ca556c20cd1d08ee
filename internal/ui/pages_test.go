package ui

import (
	"net/http"
	"net/url"
	"testing"

	"groundcrew.dev/groundcrew/internal/db"
	"groundcrew.dev/groundcrew/internal/db/dbtest"
	paging "groundcrew.dev/groundcrew/internal/oncall/pager"
)

// TestPagesUI lists a page, acknowledges, snoozes and resolves it from
// the UI; a viewer sees it but may not act.
func TestPagesUI(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		h := newOnCallHarness(t, d)
		pg, err := h.pager.Open(h.sys, paging.OpenInput{Policy: "payments-escalation", Summary: "checkout returns 502", Service: "payments-api"})
		if err != nil {
			t.Fatal(err)
		}
		id := pg.ID.String()
		ana := h.loggedIn("ana", adminPassword)
		list := ana.get("/oncall/pages")
		wantStatus(t, list, http.StatusOK)
		wantContains(t, list, `<a href="/oncall/pages" aria-current="page">Pages</a>`, `<a href="/oncall/pages/`+id+`" class="name">checkout returns 502</a>`,
			"triggered", `<a href="/oncall/policies/payments-escalation">payments-escalation</a>`, `action="/oncall/pages/`+id+`/acknowledge"`)

		vera := h.loggedIn("vera", adminPassword)
		wantStatus(t, vera.get("/oncall/pages/"+id), http.StatusOK)
		wantStatus(t, vera.sameOrigin("/oncall/pages/"+id+"/acknowledge", nil), http.StatusForbidden)

		// act posts a form and follows the redirect.
		act := func(action string, form url.Values, to string) page {
			t.Helper()
			p := ana.sameOrigin("/oncall/pages/"+id+"/"+action, form)
			wantStatus(t, p, http.StatusSeeOther)
			if loc := p.Header.Get("Location"); loc != to {
				t.Fatalf("%s redirects to %q, want %q", action, loc, to)
			}
			return ana.get(to)
		}
		p := act("acknowledge", url.Values{"back": {"list"}}, "/oncall/pages")
		wantContains(t, p, "Acknowledged: escalation stopped.", "acknowledged", "by ana")
		p = act("snooze", url.Values{"duration": {"30m"}}, "/oncall/pages/"+id)
		wantContains(t, p, "Snoozed for 30m0s", "snoozed", "Snooze ends", "snoozed</strong> <span class=\"sub\">by ana")
		wantStatus(t, ana.sameOrigin("/oncall/pages/"+id+"/snooze", url.Values{"duration": {"forever"}}), http.StatusUnprocessableEntity)
		wantStatus(t, ana.sameOrigin("/oncall/pages/"+id+"/explode", nil), http.StatusNotFound)
		wantStatus(t, ana.get("/oncall/pages/not-a-page"), http.StatusNotFound)
		p = act("resolve", nil, "/oncall/pages/"+id)
		wantContains(t, p, "Resolved.", "resolved</strong> <span class=\"sub\">by ana", "<dt>Resolved</dt>")
		wantLacks(t, p, `/acknowledge"`)
		wantContains(t, ana.get("/oncall/pages?status=resolved&mine=1"), "No resolved pages sent to you.")
		wantContains(t, ana.get("/oncall/pages?status=all"), "checkout returns 502")
		wantStatus(t, ana.get("/oncall/pages?status=bogus"), http.StatusUnprocessableEntity)

		// The load report counts the page for its policy and ana's
		// acknowledgement (nobody was reached: the pager never ran here).
		load := ana.get("/oncall/load?days=7&time_zone=Europe/Berlin")
		wantStatus(t, load, http.StatusOK)
		wantContains(t, load, "1 page opened", `<a href="/oncall/policies/payments-escalation">payments-escalation</a>`, "<td><a href=\"/users/ana\">ana</a></td><td>0</td><td>0</td><td>0</td><td>1</td>",
			`<svg class="chart bars"`, "Europe/Berlin", "by=policy")
		wantStatus(t, ana.get("/oncall/load?days=0"), http.StatusUnprocessableEntity)
		wantStatus(t, ana.get("/oncall/load?time_zone=Mars"), http.StatusUnprocessableEntity)
	})
}
