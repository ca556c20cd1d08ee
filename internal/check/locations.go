package check

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
)

// reportGrace is how long after a run's deadline the results of other
// locations may still arrive before a slot is decided without them.
const reportGrace = 15 * time.Second

// maxSlots bounds the undecided slots a runner keeps in memory.
const maxSlots = 200_000

// slots collects the results of checks probed from several locations per
// slot until the slot can be decided: every location has reported, or the
// slot is overdue. Not safe for concurrent use (the runner's flush owns
// it).
type slots struct {
	m map[uuid.UUID][]*slot // per check, ordered by time
	n int
}

type slot struct {
	at      time.Time
	results map[string]Result // by location
}

func newSlots() *slots { return &slots{m: map[uuid.UUID][]*slot{}} }

// add records a result; a second result of the same check, slot and
// location replaces the first (a retried flush adds it again).
func (s *slots) add(res Result) {
	list := s.m[res.CheckID]
	i, found := slices.BinarySearchFunc(list, res.At, func(sl *slot, t time.Time) int { return sl.at.Compare(t) })
	if !found {
		if s.n >= maxSlots {
			return
		}
		list = slices.Insert(list, i, &slot{at: res.At, results: map[string]Result{}})
		s.m[res.CheckID] = list
		s.n++
	}
	list[i].results[res.Location] = res
}

// decided is a slot ready to be folded into one outcome.
type decided struct {
	checkID uuid.UUID
	at      time.Time
	outcome Result
}

// due returns the slots that can be decided at now, oldest first per
// check, without removing them (remove does, once they are stored). A
// slot waits for every location of its check, until its run's deadline
// plus reportGrace; a later slot never overtakes an earlier one. Slots of
// checks that rn no longer knows are dropped.
func (s *slots) due(now time.Time, rn func(uuid.UUID) *runnable) []decided {
	var out []decided
	for id, list := range s.m {
		r := rn(id)
		if r == nil {
			s.n -= len(list)
			delete(s.m, id)
			continue
		}
		c := &r.check
		for _, sl := range list {
			complete := true
			for _, l := range c.Locations {
				if _, ok := sl.results[l]; !ok {
					complete = false
					break
				}
			}
			if !complete && now.Before(sl.at.Add(c.runTimeout()+reportGrace)) {
				break
			}
			out = append(out, decided{checkID: id, at: sl.at, outcome: combine(c, sl.at, sl.results)})
		}
	}
	return out
}

// remove forgets decided slots.
func (s *slots) remove(ds []decided) {
	for _, d := range ds {
		list := s.m[d.checkID]
		if i, found := slices.BinarySearchFunc(list, d.at, func(sl *slot, t time.Time) int { return sl.at.Compare(t) }); found {
			list = slices.Delete(list, i, i+1)
			s.n--
		}
		if len(list) == 0 {
			delete(s.m, d.checkID)
		} else {
			s.m[d.checkID] = list
		}
	}
}

// combine folds the results of several locations for one slot into one
// outcome: DOWN when at least MinFailingLocations locations failed,
// DEGRADED when that many failed or were degraded, else UP. The reason
// names the locations and what each saw; the duration is the median.
func combine(c *Check, at time.Time, results map[string]Result) Result {
	need := max(1, c.MinFailingLocations)
	locs := make([]string, 0, len(results))
	for l := range results {
		locs = append(locs, l)
	}
	slices.Sort(locs)
	var down, degraded int
	var failing []string
	durs := make([]time.Duration, 0, len(locs))
	for _, l := range locs {
		r := results[l]
		durs = append(durs, r.Duration)
		switch r.Status {
		case Down:
			down++
		case Degraded:
			degraded++
		default:
			continue
		}
		failing = append(failing, fmt.Sprintf("%s: %s", l, cmp.Or(r.Reason, string(r.Status))))
	}
	var missing []string
	for _, l := range c.Locations {
		if _, ok := results[l]; !ok {
			missing = append(missing, l)
		}
	}
	slices.Sort(durs)
	out := Result{CheckID: c.ID, At: at, Status: Up, Duration: durs[(len(durs)-1)/2]}
	total := len(c.Locations)
	switch {
	case down >= need:
		out.Status = Down
		out.Reason = fmt.Sprintf("down from %d of %d locations", down, total)
	case down+degraded >= need:
		out.Status = Degraded
		out.Reason = fmt.Sprintf("degraded from %d of %d locations", down+degraded, total)
	case down+degraded > 0:
		out.Reason = fmt.Sprintf("failing from %d of %d locations (%d needed to fail)", down+degraded, total, need)
	}
	if len(failing) > 0 {
		out.Reason += " — " + strings.Join(failing, "; ")
	}
	if len(missing) > 0 {
		if out.Reason != "" {
			out.Reason += "; "
		}
		out.Reason += "no result from " + strings.Join(missing, ", ")
	}
	out.Reason = cleanReason(out.Reason)
	return out
}
