package ui

import (
	"net/http"
	"testing"
	"time"

	"groundcrew.dev/groundcrew/internal/db"
	"groundcrew.dev/groundcrew/internal/db/dbtest"
	"groundcrew.dev/groundcrew/internal/oncall"
)

// TestSwapsPage: ben asks ana to cover his Saturday shift; the schedule's
// swaps page offers ana Accept and Decline, ben Cancel, vera nothing, and
// ana's Accept puts her on call.
func TestSwapsPage(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		h := newOnCallHarness(t, d)
		start, end := time.Date(2026, 3, 28, 8, 0, 0, 0, time.UTC), time.Date(2026, 3, 29, 7, 0, 0, 0, time.UTC)
		sw, err := h.oncall.RequestSwap(h.sys, "payments-primary", oncall.SwapInput{Requester: "ben", Counterpart: "ana", Start: start, End: end, Message: "a wedding"})
		if err != nil {
			t.Fatal(err)
		}
		ana, ben, vera := h.loggedIn("ana", adminPassword), h.loggedIn("ben", adminPassword), h.loggedIn("vera", adminPassword)
		wantContains(t, ana.get("/oncall/schedules/payments-primary"), `href="/oncall/schedules/payments-primary/swaps"`)
		list := "/oncall/schedules/payments-primary/swaps"
		accept := "/oncall/swaps/" + sw.ID.String() + "/accept"
		p := ana.get(list)
		wantStatus(t, p, http.StatusOK)
		wantContains(t, p, "a wedding", `action="`+accept+`"`, "/decline", "Decline")
		wantLacks(t, p, "/cancel")
		p = ben.get(list)
		wantContains(t, p, "/cancel")
		wantLacks(t, p, accept)
		wantLacks(t, vera.get(list), accept, "/cancel", "/decline")
		wantStatus(t, ben.sameOrigin(accept, nil), http.StatusForbidden)
		wantStatus(t, vera.get(list+"?status=bogus"), http.StatusUnprocessableEntity)

		p = ana.sameOrigin(accept, nil)
		if p.StatusCode != http.StatusSeeOther || p.Header.Get("Location") != list {
			t.Fatalf("accept: %d to %q, want 303 to %s", p.StatusCode, p.Header.Get("Location"), list)
		}
		oc, err := h.oncall.OnCall(h.sys, "payments-primary", start.Add(4*time.Hour))
		if err != nil || len(oc.Shifts) != 1 || oc.Shifts[0].User != "ana" {
			t.Errorf("on call during ben's shift after ana accepted: %+v, %v", oc.Shifts, err)
		}
		wantContains(t, ana.get(list+"?status=accepted"), "accepted", "by ana")
		wantContains(t, ana.get(list), "No pending swaps.")
	})
}
