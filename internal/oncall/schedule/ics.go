package schedule

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"
	"unicode/utf8"
)

// ICSOptions describe an iCalendar feed. The zero value is usable: the
// feed is called "On call" and stamped at the Unix epoch.
type ICSOptions struct {
	// Name is the calendar's name and the start of each event's summary,
	// usually the schedule's name.
	Name string
	// Stamp is the DTSTAMP of every event: when the feed was rendered.
	// Pass the caller's clock; the core reads none.
	Stamp time.Time
}

// ICS renders person's shifts among shifts as an RFC 5545 calendar: one
// VEVENT per shift, times in UTC, lines folded at 75 octets and ended by
// CRLF, text escaped. A shift's UID depends only on the person, its source
// and its times, so a calendar client updates rather than duplicates
// events when the feed is fetched again.
func ICS(shifts []Shift, person string, opts ICSOptions) []byte {
	name := opts.Name
	if name == "" {
		name = "On call"
	}
	st := opts.Stamp
	if st.IsZero() {
		st = time.Unix(0, 0)
	}
	stamp := icsTime(st)
	var b strings.Builder
	line := func(s string) { foldLine(&b, s) }
	line("BEGIN:VCALENDAR")
	line("VERSION:2.0")
	line("PRODID:-//groundcrew//on-call schedule//EN")
	line("CALSCALE:GREGORIAN")
	line("METHOD:PUBLISH")
	line("X-WR-CALNAME:" + icsEscape(name+": "+person))
	for _, s := range shifts {
		if s.User != person {
			continue
		}
		h := sha256.Sum256([]byte(person + "\x00" + s.Source() + "\x00" + s.Start.UTC().Format(time.RFC3339Nano) + "\x00" + s.End.UTC().Format(time.RFC3339Nano)))
		line("BEGIN:VEVENT")
		line("UID:" + hex.EncodeToString(h[:16]) + "@groundcrew")
		line("DTSTAMP:" + stamp)
		line("DTSTART:" + icsTime(s.Start))
		line("DTEND:" + icsTime(s.End))
		line("SUMMARY:" + icsEscape("On call: "+name))
		line("DESCRIPTION:" + icsEscape(person+" is on call ("+s.Source()+")"))
		line("TRANSP:TRANSPARENT")
		line("END:VEVENT")
	}
	line("END:VCALENDAR")
	return []byte(b.String())
}

// icsTime formats t as an RFC 5545 UTC date-time. Sub-second parts are
// dropped: the format has none.
func icsTime(t time.Time) string { return t.UTC().Format("20060102T150405Z") }

// icsEscape escapes TEXT as RFC 5545 §3.3.11 says.
func icsEscape(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `;`, `\;`, `,`, `\,`, "\r\n", `\n`, "\n", `\n`, "\r", `\n`)
	s = r.Replace(s)
	// Other control characters are not allowed in TEXT.
	return strings.Map(func(c rune) rune {
		if c < 0x20 || c == 0x7f {
			return -1
		}
		return c
	}, s)
}

// foldLine writes s as a content line folded at 75 octets (§3.1): each
// continuation starts with a space, and a UTF-8 sequence is never split.
func foldLine(b *strings.Builder, s string) {
	limit := 75
	for len(s) > limit {
		cut := limit
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		b.WriteString(s[:cut])
		b.WriteString("\r\n ")
		s = s[cut:]
		limit = 74 // the leading space counts
	}
	b.WriteString(s)
	b.WriteString("\r\n")
}
