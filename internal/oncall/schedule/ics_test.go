package schedule

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// icsEvent is a VEVENT as the strict parser below reads it.
type icsEvent map[string]string

// parseICS is a strict reader of the subset of RFC 5545 the feed uses:
// every line ends in CRLF, physical lines are at most 75 octets and valid
// UTF-8, continuation lines start with one space, components nest
// properly, and property values unescape cleanly.
func parseICS(data []byte) (cal map[string]string, events []icsEvent, err error) {
	if !bytes.HasSuffix(data, []byte("\r\n")) {
		return nil, nil, fmt.Errorf("does not end with CRLF")
	}
	phys := strings.Split(strings.TrimSuffix(string(data), "\r\n"), "\r\n")
	var lines []string
	for i, l := range phys {
		if strings.ContainsAny(l, "\r\n") {
			return nil, nil, fmt.Errorf("line %d: bare CR or LF", i+1)
		}
		if len(l) > 75 {
			return nil, nil, fmt.Errorf("line %d: %d octets", i+1, len(l))
		}
		if !utf8.ValidString(l) {
			return nil, nil, fmt.Errorf("line %d: invalid UTF-8 (a fold split a character?)", i+1)
		}
		if strings.HasPrefix(l, " ") {
			if len(lines) == 0 {
				return nil, nil, fmt.Errorf("line %d: continuation first", i+1)
			}
			lines[len(lines)-1] += l[1:]
			continue
		}
		lines = append(lines, l)
	}
	cal = map[string]string{}
	var stack []string
	var ev icsEvent
	for i, l := range lines {
		name, value, ok := strings.Cut(l, ":")
		if !ok || name == "" || strings.ToUpper(name) != name {
			return nil, nil, fmt.Errorf("logical line %d: %q is not NAME:value", i+1, l)
		}
		switch name {
		case "BEGIN":
			stack = append(stack, value)
			if value == "VEVENT" {
				if len(stack) != 2 || stack[0] != "VCALENDAR" {
					return nil, nil, fmt.Errorf("VEVENT outside VCALENDAR")
				}
				ev = icsEvent{}
			}
			continue
		case "END":
			if len(stack) == 0 || stack[len(stack)-1] != value {
				return nil, nil, fmt.Errorf("END:%s does not match", value)
			}
			stack = stack[:len(stack)-1]
			if value == "VEVENT" {
				events = append(events, ev)
				ev = nil
			}
			continue
		}
		v, err := icsUnescape(value)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %v", name, err)
		}
		target := cal
		if ev != nil {
			target = ev
		}
		if _, dup := target[name]; dup {
			return nil, nil, fmt.Errorf("%s twice", name)
		}
		target[name] = v
	}
	if len(stack) != 0 {
		return nil, nil, fmt.Errorf("unclosed %v", stack)
	}
	if cal["VERSION"] != "2.0" || cal["PRODID"] == "" {
		return nil, nil, fmt.Errorf("VCALENDAR without VERSION 2.0 or PRODID")
	}
	for _, e := range events {
		for _, p := range []string{"UID", "DTSTAMP", "DTSTART", "DTEND", "SUMMARY"} {
			if e[p] == "" {
				return nil, nil, fmt.Errorf("VEVENT without %s", p)
			}
		}
	}
	return cal, events, nil
}

func icsUnescape(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 && c != '\t' || c == 0x7f {
			return "", fmt.Errorf("control character in %q", s)
		}
		if c != '\\' {
			b.WriteByte(c)
			continue
		}
		if i++; i == len(s) {
			return "", fmt.Errorf("trailing backslash in %q", s)
		}
		switch s[i] {
		case '\\', ';', ',':
			b.WriteByte(s[i])
		case 'n', 'N':
			b.WriteByte('\n')
		default:
			return "", fmt.Errorf("bad escape \\%c in %q", s[i], s)
		}
	}
	return b.String(), nil
}

func parseICSTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse("20060102T150405Z", s)
	if err != nil {
		t.Fatalf("%q is not a UTC date-time: %v", s, err)
	}
	return v
}

func TestICS(t *testing.T) {
	sc := mustNew(t, richSpec(1))
	from, to := utc("2026-03-20 00:00"), utc("2026-04-10 00:00")
	shifts := sc.Shifts(from, to)
	name := "Payments; primary, with a long name — ünïcödé that will need folding, \\ and a\nnewline"
	stamp := utc("2026-03-01 12:00")
	for _, person := range []string{"u0", "u1", "u3", "nobody"} {
		t.Run(person, func(t *testing.T) {
			data := ICS(shifts, person, ICSOptions{Name: name, Stamp: stamp})
			cal, events, err := parseICS(data)
			if err != nil {
				t.Fatalf("parse: %v\n%s", err, data)
			}
			if cal["X-WR-CALNAME"] != name+": "+person {
				t.Errorf("X-WR-CALNAME = %q", cal["X-WR-CALNAME"])
			}
			var want []Shift
			for _, s := range shifts {
				if s.User == person {
					want = append(want, s)
				}
			}
			if len(events) != len(want) {
				t.Fatalf("%d events, want %d", len(events), len(want))
			}
			uids := map[string]bool{}
			for i, e := range events {
				if uids[e["UID"]] {
					t.Errorf("UID %s twice", e["UID"])
				}
				uids[e["UID"]] = true
				if !parseICSTime(t, e["DTSTART"]).Equal(want[i].Start) || !parseICSTime(t, e["DTEND"]).Equal(want[i].End) {
					t.Errorf("event %d: %s–%s, want %s–%s", i, e["DTSTART"], e["DTEND"], want[i].Start, want[i].End)
				}
				if !parseICSTime(t, e["DTSTAMP"]).Equal(stamp) {
					t.Errorf("DTSTAMP = %s", e["DTSTAMP"])
				}
				if e["SUMMARY"] != "On call: "+name {
					t.Errorf("SUMMARY = %q", e["SUMMARY"])
				}
			}
			// Stable: the same shifts render the same feed.
			if again := ICS(shifts, person, ICSOptions{Name: name, Stamp: stamp}); !bytes.Equal(again, data) {
				t.Error("the feed differs between two renderings")
			}
		})
	}
}

func TestFoldLine(t *testing.T) {
	for n := 0; n < 300; n += 7 {
		for _, unit := range []string{"a", "é", "€", "😀"} {
			var b strings.Builder
			s := "X:" + strings.Repeat(unit, n)
			foldLine(&b, s)
			_, _, err := parseICS([]byte("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\n" + b.String() + "END:VCALENDAR\r\n"))
			if err != nil {
				t.Fatalf("%d×%q: %v", n, unit, err)
			}
			unfolded := strings.ReplaceAll(strings.TrimSuffix(b.String(), "\r\n"), "\r\n ", "")
			if unfolded != s {
				t.Fatalf("%d×%q: unfolds to something else", n, unit)
			}
		}
	}
}

func FuzzICSEscape(f *testing.F) {
	f.Add("plain", "ana")
	f.Add("a;b,c\\d\ne\r\nf", "ü😀")
	f.Fuzz(func(t *testing.T, name, person string) {
		if !utf8.ValidString(name) || !utf8.ValidString(person) {
			return
		}
		s := Shift{Assignment: Assignment{User: person, Layer: 0, Override: -1}, Start: utc("2026-01-01 00:00"), End: utc("2026-01-02 00:00")}
		cal, events, err := parseICS(ICS([]Shift{s}, person, ICSOptions{Name: name}))
		if err != nil {
			t.Fatal(err)
		}
		if name == "" {
			name = "On call"
		}
		if events[0]["DTSTAMP"] != "19700101T000000Z" {
			t.Fatalf("DTSTAMP = %s, want the Unix epoch", events[0]["DTSTAMP"])
		}
		clean := func(x string) string {
			x = strings.ReplaceAll(x, "\r\n", "\n")
			x = strings.ReplaceAll(x, "\r", "\n")
			return strings.Map(func(c rune) rune {
				if c < 0x20 && c != '\n' || c == 0x7f {
					return -1
				}
				return c
			}, x)
		}
		if len(events) != 1 || events[0]["SUMMARY"] != clean("On call: "+name) || cal["X-WR-CALNAME"] != clean(name+": "+person) {
			t.Fatalf("round trip lost text: %q %q", cal["X-WR-CALNAME"], events)
		}
	})
}
