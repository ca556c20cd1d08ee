package schedule

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"
)

// byteSource turns fuzz input into choices; exhausted, it yields zeros.
type byteSource struct{ b []byte }

func (s *byteSource) next() int {
	if len(s.b) == 0 {
		return 0
	}
	v := s.b[0]
	s.b = s.b[1:]
	return int(v)
}

func (s *byteSource) pick(xs ...string) string { return xs[s.next()%len(xs)] }

var fuzzZones = []string{"UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "America/Santiago", "Asia/Kolkata", "Pacific/Apia", "Europe/Dublin"}

// randomSpec builds a valid-looking spec around 2026 from fuzz input.
func randomSpec(src *byteSource) Spec {
	base := utc("2026-01-01 00:00")
	s := Spec{TimeZone: src.pick(fuzzZones...)}
	for range 1 + src.next()%5 {
		r := RotationSpec{
			Kind:        src.pick(Hourly, Daily, Weekly, Custom),
			HandoffTime: fmt.Sprintf("%02d:%02d", src.next()%24, src.next()%4*15),
			Start:       base.AddDate(0, src.next()%12, src.next()%28).Format("2006-01-02"),
		}
		if r.Kind == Custom {
			r.Length = (time.Duration(1+src.next()%60) * 90 * time.Minute).String()
		} else {
			r.Every = src.next() % 4
		}
		if r.Kind == Weekly && src.next()%2 == 0 {
			r.HandoffDay = src.pick("mon", "tue", "wed", "thu", "fri", "sat", "sun")
		}
		for range 1 + src.next()%4 {
			r.Participants = append(r.Participants, fmt.Sprintf("u%d", src.next()%6))
		}
		l := LayerSpec{Rotation: r}
		if src.next()%3 == 0 {
			l.TimeZone = src.pick(fuzzZones...)
		}
		for range src.next() % 3 {
			l.Restrictions = append(l.Restrictions, RestrictionSpec{
				Days:  []string{src.pick("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
				Start: fmt.Sprintf("%02d:%02d", src.next()%24, src.next()%2*30),
				End:   fmt.Sprintf("%02d:%02d", src.next()%25, 0),
			})
		}
		if src.next()%4 == 0 {
			l.End = base.AddDate(0, 1+src.next()%12, src.next()%28).Format("2006-01-02T15:04")
		}
		s.Layers = append(s.Layers, l)
	}
	for range src.next() % 8 {
		start := base.Add(time.Duration(src.next()*src.next()+src.next()) * 30 * time.Minute)
		s.Overrides = append(s.Overrides, OverrideSpec{
			Kind:  src.pick(Replace, Add, Remove),
			User:  fmt.Sprintf("u%d", src.next()%7),
			Start: start, End: start.Add(time.Duration(1+src.next()) * 20 * time.Minute),
		})
	}
	return s
}

// FuzzSchedule checks, for random specs, that nothing panics and that the
// rendered timeline covers the range contiguously without overlaps and
// agrees with OnCallAt.
func FuzzSchedule(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16})
	f.Add([]byte("follow the sun across three zones with overrides"))
	f.Add([]byte{3, 1, 2, 2, 9, 0, 3, 2, 1, 2, 5, 4, 3, 0, 2, 2, 6, 1, 0, 23, 2, 1, 0, 0, 200, 100, 7, 30})
	f.Fuzz(func(t *testing.T, data []byte) {
		src := &byteSource{b: data}
		from := utc("2026-01-01 00:00").Add(time.Duration(src.next()*src.next()) * 97 * time.Minute)
		to := from.Add(time.Duration(1+src.next()%40) * 12 * time.Hour)
		sc, err := New(randomSpec(src))
		if err != nil {
			return // the generator can make invalid specs (end before start)
		}
		spans := sc.Timeline(from, to)
		checkTimeline(t, sc, from, to, spans)
		for i, sp := range spans {
			if i > 200 {
				break
			}
			for _, at := range []time.Time{sp.Start, sp.End.Add(-1)} {
				got := sc.OnCallAt(at)
				if len(got) != len(sp.OnCall) {
					t.Fatalf("OnCallAt(%s) = %v, timeline %v", at, got, sp.OnCall)
				}
				for j, s := range got {
					if s.Assignment != sp.OnCall[j] || s.Start.After(at) || !s.End.After(at) {
						t.Fatalf("OnCallAt(%s) = %v, timeline %v", at, got, sp.OnCall)
					}
				}
			}
		}
		sc.NextHandoffs(from, 5)
	})
}

// FuzzNew feeds arbitrary JSON specs to New: it must return a schedule or
// an error, never panic, and a schedule must answer.
func FuzzNew(f *testing.F) {
	f.Add([]byte(`{"time_zone":"Europe/Berlin","layers":[{"rotation":{"kind":"daily","handoff_time":"02:30","start":"2026-03-28","participants":["a","b"]}}]}`))
	f.Add([]byte(`{"time_zone":"UTC","layers":[{"rotation":{"kind":"custom","length":"1h","start":"1970-01-01","epoch":"2200-12-31T23:59","history":[{"participants":["x"]}],"participants":["a"]},"restrictions":[{"start":"00:00","end":"00:00"}]}]}`))
	f.Add([]byte(`{"time_zone":"Pacific/Apia","layers":[{"end":"2011-12-31","rotation":{"kind":"weekly","every":52,"handoff_day":"fri","start":"2011-12-28","participants":["a"]}}],"overrides":[{"user":"b","start":"2011-12-29T00:00:00Z","end":"2012-01-02T00:00:00Z"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var s Spec
		if json.Unmarshal(data, &s) != nil {
			return
		}
		sc, err := New(s)
		if err != nil {
			return
		}
		for _, at := range []time.Time{utc("1969-12-31 00:00"), utc("2026-03-29 01:30"), utc("2199-01-01 00:00")} {
			sc.OnCallAt(at)
		}
		from := utc("2026-03-25 00:00")
		checkTimeline(t, sc, from, from.Add(10*24*time.Hour), sc.Timeline(from, from.Add(10*24*time.Hour)))
	})
}
