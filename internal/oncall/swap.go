package oncall

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"groundcrew.dev/groundcrew/internal/db"
	"groundcrew.dev/groundcrew/internal/errs"
	"groundcrew.dev/groundcrew/internal/identity"
	"groundcrew.dev/groundcrew/internal/oncall/schedule"
)

// The kinds of swap.
const (
	// SwapCover asks the counterpart to take a period of the requester's
	// shift.
	SwapCover = "cover"
	// SwapTrade asks the counterpart to take a period of the requester's
	// shift while the requester takes one of the counterpart's.
	SwapTrade = "trade"
)

// The statuses of a swap. Only a pending swap may be decided; it expires
// when its first period starts.
const (
	SwapPending   = "pending"
	SwapAccepted  = "accepted"
	SwapDeclined  = "declined"
	SwapCancelled = "cancelled"
	SwapExpired   = "expired"
)

// SwapStatuses lists every status of a swap.
var SwapStatuses = []string{SwapPending, SwapAccepted, SwapDeclined, SwapCancelled, SwapExpired}

// Limits of a swap.
const (
	// MaxSwapPeriod bounds each period of a swap.
	MaxSwapPeriod = 14 * 24 * time.Hour
	// MaxSwapAhead bounds how far ahead a swap's periods may end.
	MaxSwapAhead = 180 * 24 * time.Hour
	// MaxSwapMessage bounds a swap's message, in bytes.
	MaxSwapMessage = 1000
)

// Swap is a request by someone on call that another person cover a period
// of their shift, or trade it for a period of the other's. Nothing changes
// who is on call until the counterpart accepts: then the schedule gets the
// replace overrides, in the same transaction.
type Swap struct {
	ID          uuid.UUID `json:"id"`
	Schedule    string    `json:"schedule"`
	Kind        string    `json:"kind" enum:"cover,trade"`
	Requester   string    `json:"requester" doc:"who gives the period [start, end) away"`
	Counterpart string    `json:"counterpart" doc:"who is asked to take it"`
	// Start and End are the requester's period the counterpart takes.
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	// TradeStart and TradeEnd, for a trade, are the counterpart's period
	// the requester takes in return.
	TradeStart *time.Time `json:"trade_start,omitempty"`
	TradeEnd   *time.Time `json:"trade_end,omitempty"`
	Message    string     `json:"message,omitempty"`
	Status     string     `json:"status" enum:"pending,accepted,declined,cancelled,expired"`
	// ExpiresAt is when a pending swap expires: when its first period
	// starts.
	ExpiresAt time.Time  `json:"expires_at"`
	CreatedBy string     `json:"created_by"`
	CreatedAt time.Time  `json:"created_at"`
	DecidedBy string     `json:"decided_by,omitempty" doc:"who accepted, declined or cancelled it; empty when it expired"`
	DecidedAt *time.Time `json:"decided_at,omitempty"`
}

// SwapInput requests a swap in a schedule.
type SwapInput struct {
	// Requester is who gives a period away; empty means the caller. Naming
	// someone else takes the right to change the schedule.
	Requester   string    `json:"requester,omitempty" maxLength:"63" doc:"who gives the period away; default you (naming someone else takes the right to change the schedule)"`
	Counterpart string    `json:"counterpart" maxLength:"63" doc:"who is asked to take it"`
	Kind        string    `json:"kind,omitempty" enum:"cover,trade," doc:"cover (the default) or trade; a trade period makes it a trade"`
	Start       time.Time `json:"start" doc:"start of the requester's period, RFC 3339, in the future"`
	End         time.Time `json:"end" doc:"end of the requester's period; at most 14 days after start"`
	TradeStart  time.Time `json:"trade_start,omitzero" required:"false" doc:"for a trade: start of the counterpart's period the requester takes"`
	TradeEnd    time.Time `json:"trade_end,omitzero" required:"false" doc:"for a trade: its end"`
	Message     string    `json:"message,omitempty" maxLength:"1000"`
}

// validate checks what can be checked without the schedule and fills in
// the kind; now is the present.
func (in *SwapInput) validate(now time.Time) error {
	in.Start, in.End, in.TradeStart, in.TradeEnd = in.Start.UTC(), in.End.UTC(), in.TradeStart.UTC(), in.TradeEnd.UTC()
	trade := !in.TradeStart.IsZero() || !in.TradeEnd.IsZero()
	switch {
	case in.Kind == "" && trade:
		in.Kind = SwapTrade
	case in.Kind == "":
		in.Kind = SwapCover
	case in.Kind != SwapCover && in.Kind != SwapTrade:
		return errs.Invalidf("kind", "%q is not cover or trade", in.Kind)
	case in.Kind == SwapCover && trade:
		return errs.Invalidf("trade_start", "applies only to a trade")
	case in.Kind == SwapTrade && !trade:
		return errs.Invalidf("trade_start", "a trade needs the period the requester takes in return")
	}
	if in.Counterpart == "" {
		return errs.Invalidf("counterpart", "is required: who is asked to take the period")
	}
	if in.Counterpart == in.Requester {
		return errs.Invalidf("counterpart", "must be someone other than the requester (%s)", in.Requester)
	}
	if len(in.Message) > MaxSwapMessage {
		return errs.Invalidf("message", "must be at most %d bytes", MaxSwapMessage)
	}
	if err := checkPeriod("start", "end", in.Start, in.End, now); err != nil {
		return err
	}
	if in.Kind == SwapTrade {
		if err := checkPeriod("trade_start", "trade_end", in.TradeStart, in.TradeEnd, now); err != nil {
			return err
		}
		if in.TradeStart.Before(in.End) && in.Start.Before(in.TradeEnd) {
			return errs.Invalidf("trade_start", "the two periods of a trade must not overlap")
		}
	}
	return nil
}

func checkPeriod(startField, endField string, start, end, now time.Time) error {
	switch {
	case start.IsZero():
		return errs.Invalidf(startField, "is required")
	case end.IsZero():
		return errs.Invalidf(endField, "is required")
	case !start.After(now):
		return errs.Invalidf(startField, "must be in the future (now is %s)", now.UTC().Format(time.RFC3339))
	case !end.After(start):
		return errs.Invalidf(endField, "must be after %s (%s)", startField, start.Format(time.RFC3339))
	case end.Sub(start) > MaxSwapPeriod:
		return errs.Invalidf(endField, "a swap covers at most 14 days, not %s", end.Sub(start))
	case end.Sub(now) > MaxSwapAhead:
		return errs.Invalidf(endField, "must be at most 180 days ahead")
	}
	return nil
}

// SwapFilter narrows a list of swaps.
type SwapFilter struct {
	Schedule string // only this schedule's
	User     string // only those this person requested or was asked
	Status   string // only those with this status ("" every one)
	After    string // cursor: swaps older than this id
	Limit    int    // default 100, at most 1000
}

// RequestSwap stores a pending swap in the schedule called name. The
// requester must be on call for the whole period they give away (and, for
// a trade, the counterpart for the whole period they give in return); the
// schedule does not change until the counterpart accepts.
func (s *Service) RequestSwap(ctx context.Context, name string, in SwapInput) (out Swap, err error) {
	if err := identity.AuthorizeWriter(ctx); err != nil {
		return out, err
	}
	actor := identity.ActorFrom(ctx)
	if in.Requester == "" {
		in.Requester = actor.Name
	}
	now := s.clock.Now().UTC()
	if err := in.validate(now); err != nil {
		return out, err
	}
	err = s.db.InTx(ctx, func(tx *sql.Tx) error {
		r, err := getRow(ctx, tx, schedulesTable, "schedule", name)
		if err != nil {
			return err
		}
		if in.Requester != actor.Name {
			if err := identity.Authorize(ctx, identity.PermWriteOwned, r.Owner); err != nil {
				return errs.Forbiddenf("only %s, or someone who may change schedule %s, may give away %s's shift", in.Requester, name, in.Requester)
			}
		}
		for _, who := range []struct{ field, name string }{{"requester", in.Requester}, {"counterpart", in.Counterpart}} {
			u, err := s.dir.GetUserTx(ctx, tx, who.name)
			switch {
			case errs.Is(err, errs.NotFound):
				return errs.Invalidf(who.field, "user %q does not exist", who.name)
			case err != nil:
				return err
			case u.Disabled:
				return errs.Invalidf(who.field, "user %q is disabled", who.name)
			}
		}
		sc, err := s.scheduleOf(r)
		if err != nil {
			return err
		}
		c, err := schedule.New(sc.Spec.Spec)
		if err != nil {
			return errs.Conflictf("schedule %s does not compile: %v", name, err)
		}
		if err := onCallThroughout(c, sc, in.Requester, in.Start, in.End); err != nil {
			return errs.WithField("start", err)
		}
		if in.Kind == SwapTrade {
			if err := onCallThroughout(c, sc, in.Counterpart, in.TradeStart, in.TradeEnd); err != nil {
				return errs.WithField("trade_start", err)
			}
		}
		out = Swap{ID: db.NewID(), Schedule: name, Kind: in.Kind, Requester: in.Requester, Counterpart: in.Counterpart,
			Start: in.Start, End: in.End, Message: in.Message, Status: SwapPending, ExpiresAt: in.Start,
			CreatedBy: actor.Name, CreatedAt: now}
		if in.Kind == SwapTrade {
			out.TradeStart, out.TradeEnd = &in.TradeStart, &in.TradeEnd
			if in.TradeStart.Before(in.Start) {
				out.ExpiresAt = in.TradeStart
			}
		}
		if err := expireSwaps(ctx, tx, now); err != nil {
			return err
		}
		if err := insertSwap(ctx, tx, r.ID, out); err != nil {
			return err
		}
		if err := s.notice(ctx, tx, out.Counterpart, out); err != nil {
			return err
		}
		return s.record(ctx, tx, "create", "oncall swap", out.ID, name, nil, out)
	})
	return out, err
}

// onCallThroughout returns nil when user is on call in c during all of
// [from, to), else an Invalid error saying from when they are not and who
// is instead.
func onCallThroughout(c *schedule.Schedule, sc Schedule, user string, from, to time.Time) error {
	at := from
	for _, sh := range c.Shifts(from, to) {
		if sh.User != user || sh.Start.After(at) {
			continue
		}
		if sh.End.After(at) {
			at = sh.End
		}
	}
	if !at.Before(to) {
		return nil
	}
	loc, err := time.LoadLocation(sc.Spec.TimeZone)
	if err != nil {
		loc = time.UTC
	}
	who := "nobody"
	if oc := c.OnCallAt(at); len(oc) > 0 {
		names := make([]string, len(oc))
		for i, sh := range oc {
			names[i] = sh.User
		}
		who = strings.Join(names, ", ")
	}
	return errs.Invalidf("", "%s is not on call in %s for the whole period: at %s it is %s",
		user, sc.Name, at.In(loc).Format("Mon 2 Jan 15:04 MST"), who)
}

// GetSwap returns the swap with id.
func (s *Service) GetSwap(ctx context.Context, id uuid.UUID) (Swap, error) {
	if err := identity.Authorize(ctx, identity.PermRead, uuid.Nil); err != nil {
		return Swap{}, err
	}
	sw, _, err := getSwap(ctx, s.db.Reader(), id)
	return sw.asOf(s.clock.Now()), err
}

// ListSwaps returns swaps, newest first; next is the cursor of the next
// page or "". A schedule or user that does not exist is an Invalid error.
func (s *Service) ListSwaps(ctx context.Context, f SwapFilter) (out []Swap, next string, err error) {
	if err := identity.Authorize(ctx, identity.PermRead, uuid.Nil); err != nil {
		return nil, "", err
	}
	if f.Status != "" && !slices.Contains(SwapStatuses, f.Status) {
		return nil, "", errs.Invalidf("status", "%q is not one of %s", f.Status, strings.Join(SwapStatuses, ", "))
	}
	if f.Limit <= 0 {
		f.Limit = 100
	}
	f.Limit = min(f.Limit, 1000)
	q := s.db.Reader()
	var sched uuid.UUID
	if f.Schedule != "" {
		r, err := getRow(ctx, q, schedulesTable, "schedule", f.Schedule)
		if err != nil {
			return nil, "", err
		}
		sched = r.ID
	}
	if f.User != "" {
		if _, err := s.dir.GetUserTx(ctx, q, f.User); errs.Is(err, errs.NotFound) {
			return nil, "", errs.Invalidf("user", "user %q does not exist", f.User)
		} else if err != nil {
			return nil, "", err
		}
	}
	var after uuid.UUID
	if f.After != "" {
		if after, err = uuid.Parse(f.After); err != nil {
			return nil, "", errs.Invalidf("cursor", "is not a cursor from an earlier page")
		}
	}
	now := s.clock.Now().UTC()
	out, err = listSwaps(ctx, q, sched, f.User, f.Status, after, now, f.Limit+1)
	if err != nil {
		return nil, "", err
	}
	if len(out) > f.Limit {
		out = out[:f.Limit]
		next = out[f.Limit-1].ID.String()
	}
	for i := range out {
		out[i] = out[i].asOf(now)
	}
	return out, next, nil
}

// asOf returns sw as it stands at now: a pending swap whose first period
// has started is expired.
func (sw Swap) asOf(now time.Time) Swap {
	if sw.Status == SwapPending && !now.Before(sw.ExpiresAt) {
		at := sw.ExpiresAt
		sw.Status, sw.DecidedAt = SwapExpired, &at
	}
	return sw
}

// AcceptSwap accepts a pending swap: the schedule gets a replace override
// of the requester by the counterpart for the requester's period (and, for
// a trade, of the counterpart by the requester for theirs), its revision
// goes up, and both are audited — in one transaction. Only the
// counterpart (or an admin) may accept. If the requester (or, for a trade,
// the counterpart) is no longer on call for the whole period, because the
// schedule changed since the request, it is a Conflict naming why and
// nothing is written.
func (s *Service) AcceptSwap(ctx context.Context, id uuid.UUID) (out Swap, err error) {
	err = s.decide(ctx, id, SwapAccepted, func(tx *sql.Tx, sw Swap, schedID uuid.UUID) error {
		return s.applySwapTx(ctx, tx, sw, schedID)
	}, &out)
	return out, err
}

// DeclineSwap declines a pending swap; only the counterpart (or an admin)
// may. The schedule does not change.
func (s *Service) DeclineSwap(ctx context.Context, id uuid.UUID) (out Swap, err error) {
	err = s.decide(ctx, id, SwapDeclined, nil, &out)
	return out, err
}

// CancelSwap withdraws a pending swap; only the requester, whoever
// requested it for them, or an admin may. The schedule does not change.
func (s *Service) CancelSwap(ctx context.Context, id uuid.UUID) (out Swap, err error) {
	err = s.decide(ctx, id, SwapCancelled, nil, &out)
	return out, err
}

// decide moves a pending swap to status after checking who may, running
// also (the schedule change of an accept) in the same transaction.
func (s *Service) decide(ctx context.Context, id uuid.UUID, status string, also func(*sql.Tx, Swap, uuid.UUID) error, out *Swap) error {
	if err := identity.AuthorizeWriter(ctx); err != nil {
		return err
	}
	actor := identity.ActorFrom(ctx)
	verb := map[string]string{SwapAccepted: "accept", SwapDeclined: "decline", SwapCancelled: "cancel"}[status]
	return s.db.InTx(ctx, func(tx *sql.Tx) error {
		sw, schedID, err := getSwap(ctx, tx, id)
		if err != nil {
			return err
		}
		mayDecide := actor.Role == identity.RoleAdmin
		if status == SwapCancelled {
			mayDecide = mayDecide || actor.Name == sw.Requester || actor.Name == sw.CreatedBy
		} else {
			mayDecide = mayDecide || actor.Name == sw.Counterpart
		}
		if !mayDecide {
			who := sw.Counterpart
			if status == SwapCancelled {
				who = sw.Requester
			}
			return errs.Forbiddenf("only %s (or an admin) may %s this swap", who, verb)
		}
		now := s.clock.Now().UTC()
		if cur := sw.asOf(now); cur.Status != SwapPending {
			return errs.Conflictf("this swap is %s; only a pending swap may be %s", cur.Status, status)
		}
		if also != nil {
			if err := also(tx, sw, schedID); err != nil {
				return err
			}
		}
		before := sw
		sw.Status, sw.DecidedBy, sw.DecidedAt = status, actor.Name, &now
		if err := expireSwaps(ctx, tx, now); err != nil {
			return err
		}
		if err := decideSwap(ctx, tx, sw); err != nil {
			return err
		}
		*out = sw
		// Whoever did not decide hears of it.
		to := sw.Requester
		if status == SwapCancelled {
			to = sw.Counterpart
		}
		if to != actor.Name {
			if err := s.notice(ctx, tx, to, sw); err != nil {
				return err
			}
		}
		return s.record(ctx, tx, verb, "oncall swap", sw.ID, sw.Schedule, before, sw)
	})
}

// applySwapTx adds a swap's overrides to its schedule in tx, after
// checking that the people giving periods away are still on call for all
// of them and that the result has the people taking them on call
// throughout. It writes the schedule without the owner's right: the swap
// is the consent of the two people concerned.
func (s *Service) applySwapTx(ctx context.Context, tx *sql.Tx, sw Swap, schedID uuid.UUID) error {
	// Take the schedule's row lock before reading it (a portable SELECT …
	// FOR UPDATE), so that two swaps accepted at once in one schedule
	// both land instead of one overwriting the other's overrides.
	if _, err := tx.ExecContext(ctx, `UPDATE `+schedulesTable+` SET revision = revision WHERE id = $1`, schedID); err != nil {
		return fmt.Errorf("lock schedule %s: %w", sw.Schedule, err)
	}
	r, err := getRow(ctx, tx, schedulesTable, "schedule", sw.Schedule)
	if err != nil {
		return err
	}
	sc, err := s.scheduleOf(r)
	if err != nil {
		return err
	}
	c, err := schedule.New(sc.Spec.Spec)
	if err != nil {
		return errs.Conflictf("schedule %s does not compile any more: %v", sw.Schedule, err)
	}
	type give struct {
		from, to   string // who gives the period, who takes it
		start, end time.Time
	}
	gives := []give{{sw.Requester, sw.Counterpart, sw.Start, sw.End}}
	if sw.Kind == SwapTrade {
		gives = append(gives, give{sw.Counterpart, sw.Requester, *sw.TradeStart, *sw.TradeEnd})
	}
	for _, g := range gives {
		if err := onCallThroughout(c, sc, g.from, g.start, g.end); err != nil {
			return errs.Conflictf("schedule %s changed since the swap was requested (now revision %d): %s", sw.Schedule, r.Revision, errs.MessageOf(err))
		}
	}
	for _, who := range []string{sw.Requester, sw.Counterpart} {
		if u, err := s.dir.GetUserTx(ctx, tx, who); errs.Is(err, errs.NotFound) || err == nil && u.Disabled {
			return errs.Conflictf("user %s no longer exists or is disabled", who)
		} else if err != nil {
			return err
		}
	}
	spec := sc.Spec
	spec.Overrides = slices.Clone(spec.Overrides)
	for _, g := range gives {
		spec.Overrides = append(spec.Overrides, schedule.OverrideSpec{Kind: schedule.Replace, User: g.to, Replaces: g.from, Start: g.start, End: g.end})
	}
	after, err := schedule.New(spec.Spec)
	if err != nil {
		return errs.Conflictf("schedule %s cannot take the swap's overrides: %v", sw.Schedule, err)
	}
	for _, g := range gives {
		if err := onCallThroughout(after, sc, g.to, g.start, g.end); err != nil {
			return errs.Conflictf("the swap would not put %s on call throughout: %s", g.to, errs.MessageOf(err))
		}
	}
	b, err := json.Marshal(spec)
	if err != nil {
		return fmt.Errorf("encode schedule %s: %w", sw.Schedule, err)
	}
	next := r
	next.Spec, next.Revision, next.UpdatedAt = string(b), r.Revision+1, s.clock.Now()
	res, err := tx.ExecContext(ctx, `UPDATE `+schedulesTable+` SET spec = $2, revision = $3, updated_at = $4 WHERE id = $1 AND revision = $5`,
		r.ID, next.Spec, next.Revision, next.UpdatedAt, r.Revision)
	if err != nil {
		return fmt.Errorf("update schedule %s: %w", sw.Schedule, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("update schedule %s: %w", sw.Schedule, err)
	} else if n != 1 {
		return errs.Conflictf("schedule %s changed while the swap was being accepted; try again", sw.Schedule)
	}
	return s.record(ctx, tx, "update", "schedule", r.ID, r.Name, auditView(r), auditView(next))
}

// ---- storage ----

const swapColumns = `w.id, s.name, w.schedule_id, w.kind, w.requester, w.counterpart, w.starts_at, w.ends_at, w.trade_starts_at, w.trade_ends_at,
	w.expires_at, w.message, w.status, w.created_by, w.created_at, w.decided_by, w.decided_at`

func scanSwap(sc interface{ Scan(...any) error }) (Swap, uuid.UUID, error) {
	var sw Swap
	var sched uuid.UUID
	var ts, te, dec sql.NullTime
	if err := sc.Scan(&sw.ID, &sw.Schedule, &sched, &sw.Kind, &sw.Requester, &sw.Counterpart, &sw.Start, &sw.End, &ts, &te,
		&sw.ExpiresAt, &sw.Message, &sw.Status, &sw.CreatedBy, &sw.CreatedAt, &sw.DecidedBy, &dec); err != nil {
		return sw, sched, err
	}
	utc := func(n sql.NullTime) *time.Time {
		if !n.Valid {
			return nil
		}
		t := n.Time.UTC()
		return &t
	}
	sw.TradeStart, sw.TradeEnd, sw.DecidedAt = utc(ts), utc(te), utc(dec)
	sw.Start, sw.End, sw.ExpiresAt, sw.CreatedAt = sw.Start.UTC(), sw.End.UTC(), sw.ExpiresAt.UTC(), sw.CreatedAt.UTC()
	return sw, sched, nil
}

func getSwap(ctx context.Context, q db.Querier, id uuid.UUID) (Swap, uuid.UUID, error) {
	sw, sched, err := scanSwap(q.QueryRowContext(ctx, `SELECT `+swapColumns+` FROM oncall_swaps w JOIN oncall_schedules s ON s.id = w.schedule_id WHERE w.id = $1`, id))
	if db.IsNoRows(err) {
		return sw, sched, errs.NotFoundf("swap %s not found", id)
	}
	if err != nil {
		return sw, sched, fmt.Errorf("get swap %s: %w", id, err)
	}
	return sw, sched, nil
}

// listSwaps returns at most limit swaps, newest first, filtered as the
// arguments say (zero values: no filter); status is as of now.
func listSwaps(ctx context.Context, q db.Querier, sched uuid.UUID, user, status string, after uuid.UUID, now time.Time, limit int) ([]Swap, error) {
	var where []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	if sched != uuid.Nil {
		where = append(where, "w.schedule_id = "+arg(sched))
	}
	if user != "" {
		p := arg(user)
		where = append(where, "(w.requester = "+p+" OR w.counterpart = "+p+")")
	}
	switch status {
	case "":
	case SwapPending:
		where = append(where, "w.status = 'pending' AND w.expires_at > "+arg(now))
	case SwapExpired:
		where = append(where, "(w.status = 'expired' OR w.status = 'pending' AND w.expires_at <= "+arg(now)+")")
	default:
		where = append(where, "w.status = "+arg(status))
	}
	if after != uuid.Nil {
		where = append(where, "w.id < "+arg(after))
	}
	query := `SELECT ` + swapColumns + ` FROM oncall_swaps w JOIN oncall_schedules s ON s.id = w.schedule_id`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	rows, err := q.QueryContext(ctx, query+" ORDER BY w.id DESC LIMIT "+arg(limit), args...)
	if err != nil {
		return nil, fmt.Errorf("list swaps: %w", err)
	}
	defer rows.Close()
	out := []Swap{}
	for rows.Next() {
		sw, _, err := scanSwap(rows)
		if err != nil {
			return nil, fmt.Errorf("list swaps: %w", err)
		}
		out = append(out, sw)
	}
	return out, rows.Err()
}

func insertSwap(ctx context.Context, tx *sql.Tx, sched uuid.UUID, sw Swap) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO oncall_swaps (id, schedule_id, kind, requester, counterpart, starts_at, ends_at,
		trade_starts_at, trade_ends_at, expires_at, message, status, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
		sw.ID, sched, sw.Kind, sw.Requester, sw.Counterpart, sw.Start, sw.End, nullable(sw.TradeStart), nullable(sw.TradeEnd),
		sw.ExpiresAt, sw.Message, sw.Status, sw.CreatedBy, sw.CreatedAt)
	if err != nil {
		return fmt.Errorf("insert swap: %w", err)
	}
	return nil
}

// decideSwap records sw's decision, provided it is still pending (a
// concurrent decision is a Conflict).
func decideSwap(ctx context.Context, tx *sql.Tx, sw Swap) error {
	res, err := tx.ExecContext(ctx, `UPDATE oncall_swaps SET status = $2, decided_by = $3, decided_at = $4 WHERE id = $1 AND status = 'pending'`,
		sw.ID, sw.Status, sw.DecidedBy, nullable(sw.DecidedAt))
	if err != nil {
		return fmt.Errorf("decide swap %s: %w", sw.ID, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("decide swap %s: %w", sw.ID, err)
	} else if n != 1 {
		return errs.Conflictf("swap %s was decided meanwhile", sw.ID)
	}
	return nil
}

// expireSwaps marks the pending swaps whose first period has started as
// expired. Readers treat them so anyway; this keeps the table truthful.
func expireSwaps(ctx context.Context, tx *sql.Tx, now time.Time) error {
	if _, err := tx.ExecContext(ctx, `UPDATE oncall_swaps SET status = 'expired', decided_at = expires_at WHERE status = 'pending' AND expires_at <= $1`, now); err != nil {
		return fmt.Errorf("expire swaps: %w", err)
	}
	return nil
}

func nullable(t *time.Time) sql.NullTime {
	if t == nil {
		return sql.NullTime{}
	}
	return sql.NullTime{Time: t.UTC(), Valid: true}
}

// swapHistory is how long after its end an accepted swap's override is
// kept when a schedule's spec is replaced: the recent past stays as it was
// for "who was on call" and reports.
const swapHistory = 30 * 24 * time.Hour

// keepSwapOverrides returns overrides with the overrides of the swaps
// accepted in the schedule called name (ending within swapHistory or
// later) appended where they are missing, in the order the swaps were
// accepted.
func (s *Service) keepSwapOverrides(ctx context.Context, tx *sql.Tx, name string, overrides []schedule.OverrideSpec) ([]schedule.OverrideSpec, error) {
	rows, err := tx.QueryContext(ctx, `SELECT w.kind, w.requester, w.counterpart, w.starts_at, w.ends_at, w.trade_starts_at, w.trade_ends_at
		FROM oncall_swaps w JOIN `+schedulesTable+` s ON s.id = w.schedule_id
		WHERE s.name = $1 AND w.status = $2 AND (w.ends_at > $3 OR w.trade_ends_at > $3) ORDER BY w.decided_at, w.id`,
		name, SwapAccepted, s.clock.Now().Add(-swapHistory))
	if err != nil {
		return nil, fmt.Errorf("swaps of schedule %s: %w", name, err)
	}
	defer rows.Close()
	out := overrides
	add := func(o schedule.OverrideSpec) {
		o.Start, o.End = o.Start.UTC(), o.End.UTC()
		if !slices.ContainsFunc(out, func(x schedule.OverrideSpec) bool {
			return x.Kind == o.Kind && x.User == o.User && x.Replaces == o.Replaces && x.Start.Equal(o.Start) && x.End.Equal(o.End)
		}) {
			out = append(out, o)
		}
	}
	for rows.Next() {
		var kind, requester, counterpart string
		var start, end time.Time
		var tstart, tend sql.NullTime
		if err := rows.Scan(&kind, &requester, &counterpart, &start, &end, &tstart, &tend); err != nil {
			return nil, fmt.Errorf("swaps of schedule %s: %w", name, err)
		}
		add(schedule.OverrideSpec{Kind: schedule.Replace, User: counterpart, Replaces: requester, Start: start, End: end})
		if kind == SwapTrade && tstart.Valid && tend.Valid {
			add(schedule.OverrideSpec{Kind: schedule.Replace, User: requester, Replaces: counterpart, Start: tstart.Time, End: tend.Time})
		}
	}
	return out, rows.Err()
}

// notice tells to about sw, when a SwapNotifier is set.
func (s *Service) notice(ctx context.Context, tx *sql.Tx, to string, sw Swap) error {
	if s.swaps == nil {
		return nil
	}
	return s.swaps.SwapNoticeTx(ctx, tx, to, sw)
}

// Describe says what a swap asks or became, in one line, with its periods
// in zone (e.g. the schedule's).
func (sw Swap) Describe(loc *time.Location) string {
	span := func(a, b time.Time) string {
		return a.In(loc).Format("Mon 2 Jan 15:04") + " – " + b.In(loc).Format("Mon 2 Jan 15:04 MST")
	}
	what := fmt.Sprintf("%s asks %s to cover %s in %s", sw.Requester, sw.Counterpart, span(sw.Start, sw.End), sw.Schedule)
	if sw.Kind == SwapTrade && sw.TradeStart != nil && sw.TradeEnd != nil {
		what = fmt.Sprintf("%s asks %s to trade %s for %s in %s", sw.Requester, sw.Counterpart, span(sw.Start, sw.End), span(*sw.TradeStart, *sw.TradeEnd), sw.Schedule)
	}
	switch sw.Status {
	case SwapAccepted:
		return fmt.Sprintf("%s accepted: %s", sw.Counterpart, what)
	case SwapDeclined:
		return fmt.Sprintf("%s declined: %s", sw.Counterpart, what)
	case SwapCancelled:
		return fmt.Sprintf("%s cancelled: %s", sw.DecidedBy, what)
	}
	return what
}
