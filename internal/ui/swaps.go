package ui

import (
	"net/http"
	"net/url"
	"slices"

	"github.com/google/uuid"

	"groundcrew.dev/groundcrew/internal/errs"
	"groundcrew.dev/groundcrew/internal/identity"
	"groundcrew.dev/groundcrew/internal/oncall"
)

// swapsData is the swaps page of a schedule.
type swapsData struct {
	Schedule string
	Status   string // the filter: a status or "all"
	Statuses []string
	Swaps    []swapRow
}

// swapRow is one swap with what the viewer may do with it.
type swapRow struct {
	oncall.Swap
	CanDecide bool // accept or decline: the counterpart or an admin
	CanCancel bool // the requester, whoever asked for them, or an admin
}

// listScheduleSwaps shows a schedule's swaps (pending by default), with
// Accept and Decline for the person asked and Cancel for the requester.
func (u *UI) listScheduleSwaps(w http.ResponseWriter, r *http.Request) error {
	if err := u.requireOnCall(); err != nil {
		return err
	}
	ctx := r.Context()
	sc, err := u.cfg.OnCall.GetSchedule(ctx, r.PathValue("name"))
	if err != nil {
		return err
	}
	d := swapsData{Schedule: sc.Name, Status: r.URL.Query().Get("status"), Statuses: append([]string{"all"}, oncall.SwapStatuses...)}
	if d.Status == "" {
		d.Status = oncall.SwapPending
	}
	if !slices.Contains(d.Statuses, d.Status) {
		return errs.Invalidf("status", "%q is not a status of a swap", d.Status)
	}
	f := oncall.SwapFilter{Schedule: sc.Name, Status: d.Status, Limit: 200}
	if d.Status == "all" {
		f.Status = ""
	}
	list, _, err := u.cfg.OnCall.ListSwaps(ctx, f)
	if err != nil {
		return err
	}
	a := identity.ActorFrom(ctx)
	writer := identity.AuthorizeWriter(ctx) == nil
	for _, sw := range list {
		pending, admin := sw.Status == oncall.SwapPending, a.Role == identity.RoleAdmin
		d.Swaps = append(d.Swaps, swapRow{Swap: sw,
			CanDecide: pending && writer && (admin || a.Name == sw.Counterpart),
			CanCancel: pending && writer && (admin || a.Name == sw.Requester || a.Name == sw.CreatedBy)})
	}
	u.render(w, r, http.StatusOK, "oncall_swaps", "Swaps of "+sc.Name, d)
	return nil
}

// actOnSwap accepts, declines or cancels a swap and goes back to its
// schedule's swaps.
func (u *UI) actOnSwap(w http.ResponseWriter, r *http.Request) error {
	if err := u.requireOnCall(); err != nil {
		return err
	}
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		return errs.NotFoundf("no swap %q", truncate(r.PathValue("id"), 40))
	}
	svc, ctx := u.cfg.OnCall, r.Context()
	var sw oncall.Swap
	var done string
	switch r.PathValue("action") {
	case "accept":
		sw, err = svc.AcceptSwap(ctx, id)
		done = "Accepted: the schedule has the swap's overrides."
	case "decline":
		sw, err = svc.DeclineSwap(ctx, id)
		done = "Declined."
	case "cancel":
		sw, err = svc.CancelSwap(ctx, id)
		done = "Cancelled."
	default:
		return errs.NotFoundf("no such action")
	}
	if err != nil {
		return err
	}
	u.redirect(w, r, "/oncall/schedules/"+url.PathEscape(sw.Schedule)+"/swaps", done)
	return nil
}
