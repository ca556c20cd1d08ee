package statuspage

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"html"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"groundcrew.dev/groundcrew/internal/check"
	"groundcrew.dev/groundcrew/internal/errs"
)

// Badge colours: white text on them has a contrast of at least 4.5:1.
const (
	colorGood    = "#2b7a3b"
	colorOK      = "#5a7a12"
	colorWarn    = "#a35c00"
	colorBad     = "#c0342b"
	colorUnknown = "#6b7280"
	colorLabel   = "#4a4f57"
)

// MaxBadgeLabel bounds the label a badge URL may ask for.
const MaxBadgeLabel = 40

// Badge renders a shields-style SVG badge: a grey label and a coloured
// value, both as text (the colour only repeats what the value says). Its
// ids derive from its content, so that different badges inlined in one
// HTML page do not share a clip path.
func Badge(label, value, color string) []byte {
	lw, vw := textWidth(label)+10, textWidth(value)+10
	w := lw + vw
	l, v := html.EscapeString(label), html.EscapeString(value)
	sum := sha256.Sum256([]byte(label + "\x00" + value + "\x00" + color))
	id := hex.EncodeToString(sum[:4])
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="20" role="img" aria-label="%s: %s">`, w, l, v)
	fmt.Fprintf(&b, `<title>%s: %s</title>`, l, v)
	fmt.Fprintf(&b, `<linearGradient id="s-%s" x2="0" y2="100%%"><stop offset="0" stop-color="#bbb" stop-opacity=".1"/><stop offset="1" stop-opacity=".1"/></linearGradient>`, id)
	fmt.Fprintf(&b, `<clipPath id="r-%s"><rect width="%d" height="20" rx="3" fill="#fff"/></clipPath>`, id, w)
	fmt.Fprintf(&b, `<g clip-path="url(#r-%s)"><rect width="%d" height="20" fill="%s"/><rect x="%d" width="%d" height="20" fill="%s"/><rect width="%d" height="20" fill="url(#s-%s)"/></g>`,
		id, lw, colorLabel, lw, vw, color, w, id)
	b.WriteString(`<g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" font-size="11">`)
	for _, t := range []struct {
		x    float64
		text string
	}{{float64(lw) / 2, l}, {float64(lw) + float64(vw)/2, v}} {
		fmt.Fprintf(&b, `<text x="%.1f" y="15" fill="#010101" fill-opacity=".3">%s</text><text x="%.1f" y="14">%s</text>`, t.x, t.text, t.x, t.text)
	}
	b.WriteString(`</g></svg>`)
	return []byte(b.String())
}

// textWidth estimates the width in pixels of s in 11 px Verdana, the
// badge font, from the widths of its character classes.
func textWidth(s string) int {
	var w float64
	for _, r := range s {
		switch {
		case strings.ContainsRune("iljI.,:;'|!", r):
			w += 3.5
		case strings.ContainsRune("frt()[] -/", r):
			w += 4.8
		case strings.ContainsRune("mwMW%@", r):
			w += 10.5
		case unicode.IsUpper(r):
			w += 7.6
		case unicode.IsDigit(r):
			w += 7
		case r < utf8.RuneSelf:
			w += 6.6
		default:
			w += 8 // wider scripts and symbols
		}
	}
	return int(w + 0.99)
}

// statusBadge returns the value and colour of a check's status badge; a
// blocked check shows as down, as it counts on the pages.
func statusBadge(st check.Status) (string, string) {
	switch st {
	case check.Up:
		return "up", colorGood
	case check.Degraded:
		return "degraded", colorWarn
	case check.Down, check.Blocked:
		return "down", colorBad
	case check.Paused:
		return "paused", colorUnknown
	}
	return "unknown", colorUnknown
}

// uptimeBadge returns the value and colour of an uptime badge; runs == 0
// is "no data".
func uptimeBadge(runs, down int64) (string, string) {
	if runs <= 0 {
		return "no data", colorUnknown
	}
	p := float64(runs-down) / float64(runs) * 100
	color := colorBad
	switch {
	case p >= 99.9:
		color = colorGood
	case p >= 99:
		color = colorOK
	case p >= 95:
		color = colorWarn
	}
	return formatPercent(p), color
}

// formatPercent shows a percentage with as many decimals as it needs to
// not round a loss away: 100%, 99.95%, 99.999%; never 100% unless it is.
func formatPercent(p float64) string {
	if p >= 100 {
		return "100%"
	}
	for dec := 2; dec <= 4; dec++ {
		s := strconv.FormatFloat(p, 'f', dec, 64)
		if s != "100."+strings.Repeat("0", dec) {
			return strings.TrimRight(strings.TrimRight(s, "0"), ".") + "%"
		}
	}
	return "99.9999%"
}

// MaxBadgeWindow is the longest uptime window a badge shows: the hourly
// rollups it reads are kept about this long.
const MaxBadgeWindow = HistoryDays * 24 * time.Hour

// ParseWindow reads an uptime window such as 24h, 7d or 30d ("" is 30d):
// a number and h or d, at most MaxBadgeWindow.
func ParseWindow(s string) (time.Duration, error) {
	if s == "" {
		return 30 * 24 * time.Hour, nil
	}
	bad := errs.Invalidf("window", "%q is not a window such as 24h, 7d or 30d (at most %dd)", s, HistoryDays)
	if len(s) < 2 || len(s) > 5 {
		return 0, bad
	}
	n, err := strconv.Atoi(s[:len(s)-1])
	if err != nil || n <= 0 || s[0] < '1' || s[0] > '9' {
		return 0, bad
	}
	var d time.Duration
	switch s[len(s)-1] {
	case 'h':
		d = time.Duration(n) * time.Hour
	case 'd':
		d = time.Duration(n) * 24 * time.Hour
	default:
		return 0, bad
	}
	if d > MaxBadgeWindow {
		return 0, bad
	}
	return d, nil
}

// cleanLabel returns a label a badge URL asked for, or def when it asked
// for none; an unusable one is an Invalid error.
func cleanLabel(s, def string) (string, error) {
	if s == "" {
		return def, nil
	}
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > MaxBadgeLabel {
		return "", errs.Invalidf("label", "must be at most %d characters of text", MaxBadgeLabel)
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return "", errs.Invalidf("label", "must be printable text")
		}
	}
	return s, nil
}
