// Package metric stores time series samples and turns forecasts of them
// into alerts.
//
// A series is a metric name and a label set (node_filesystem_used_ratio
// {host="db1",mountpoint="/"}); samples are pushed through the API and kept
// for Retention. ForecastRule objects (kind: ForecastRule) name series by
// metric name and Alertmanager-syntax matchers and say when a forecast of
// them should page; the Evaluator runs them every minute through the pure
// core in the forecast subpackage, keeps each rule's `for` state in the
// database and fires and resolves alerts through the alert service.
package metric

import (
	"fmt"
	"maps"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"groundcrew.dev/groundcrew/internal/errs"
)

// Limits of what a push may carry.
const (
	// Retention is how long raw samples are kept; a push may not carry
	// samples older than that.
	Retention = 35 * 24 * time.Hour
	// MaxFuture is how far ahead of the server's clock a sample may be.
	MaxFuture = 5 * time.Minute
	// MaxSamplesPerPush bounds the samples of one push.
	MaxSamplesPerPush = 10000
	// MaxLabels bounds the labels of a series.
	MaxLabels = 32
	// MaxNameLen bounds metric and label names; MaxLabelValueLen label values.
	MaxNameLen       = 200
	MaxLabelValueLen = 1024
)

var nameRE = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_:]*$`)

// ValidName reports whether s is a valid metric or label name:
// [a-zA-Z_][a-zA-Z0-9_:]*, at most MaxNameLen bytes.
func ValidName(s string) bool { return len(s) <= MaxNameLen && nameRE.MatchString(s) }

// Series is a stored time series.
type Series struct {
	ID        uuid.UUID         `json:"id"`
	Name      string            `json:"name"`
	Labels    map[string]string `json:"labels"`
	CreatedAt time.Time         `json:"created_at"`
	UpdatedAt time.Time         `json:"updated_at" doc:"when samples last arrived"`
}

// Sample is one value of a series at a time. Times are kept to the
// millisecond.
type Sample struct {
	T time.Time `json:"t"`
	V float64   `json:"v"`
}

// SeriesInput is one series of a push: its identity and new samples.
type SeriesInput struct {
	Name    string            `json:"name" maxLength:"200" doc:"metric name, [a-zA-Z_][a-zA-Z0-9_:]*"`
	Labels  map[string]string `json:"labels,omitempty" doc:"label names as metric names; values up to 1024 bytes"`
	Samples []Sample          `json:"samples"`
}

// Push is what POST /api/v1/metrics carries.
type Push struct {
	Series []SeriesInput `json:"series"`
}

// Validate checks the push as of now, naming the first bad field
// ("series[2].samples[5].v").
func (p Push) Validate(now time.Time) error {
	if len(p.Series) == 0 {
		return errs.Invalidf("series", "must not be empty")
	}
	total := 0
	for i := range p.Series {
		total += len(p.Series[i].Samples)
		if total > MaxSamplesPerPush {
			return errs.Invalidf("series", "carries more than %d samples; split the push", MaxSamplesPerPush)
		}
	}
	for i := range p.Series {
		if err := p.Series[i].validate(now); err != nil {
			return errs.WithField(fmt.Sprintf("series[%d]", i), err)
		}
	}
	return nil
}

func (s *SeriesInput) validate(now time.Time) error {
	if !ValidName(s.Name) {
		return errs.Invalidf("name", "%q is not a metric name: [a-zA-Z_][a-zA-Z0-9_:]*, at most %d characters", s.Name, MaxNameLen)
	}
	if err := checkLabels(s.Labels); err != nil {
		return err
	}
	if len(s.Samples) == 0 {
		return errs.Invalidf("samples", "must not be empty")
	}
	oldest, newest := now.Add(-Retention), now.Add(MaxFuture)
	for j, smp := range s.Samples {
		switch {
		case smp.T.IsZero():
			return errs.Invalidf(fmt.Sprintf("samples[%d].t", j), "is required (RFC 3339)")
		case smp.T.Before(oldest) || smp.T.After(newest):
			return errs.Invalidf(fmt.Sprintf("samples[%d].t", j), "%s is outside [now-%s, now+%s]",
				smp.T.UTC().Format(time.RFC3339), compact(Retention), compact(MaxFuture))
		case math.IsNaN(smp.V) || math.IsInf(smp.V, 0):
			return errs.Invalidf(fmt.Sprintf("samples[%d].v", j), "must be a finite number")
		}
	}
	return nil
}

// checkLabels validates a label set; fields are "labels.NAME".
func checkLabels(labels map[string]string) error {
	if len(labels) > MaxLabels {
		return errs.Invalidf("labels", "has %d labels, at most %d", len(labels), MaxLabels)
	}
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		if !ValidName(k) {
			return errs.Invalidf("labels", "%q is not a label name: [a-zA-Z_][a-zA-Z0-9_:]*", k)
		}
		if v := labels[k]; v == "" || len(v) > MaxLabelValueLen {
			return errs.Invalidf("labels."+k, "must be 1 to %d bytes", MaxLabelValueLen)
		}
	}
	return nil
}

// Key is the identity of a series: the name and its labels sorted by name,
// as name{a="x",b="y"}.
func Key(name string, labels map[string]string) string {
	var b strings.Builder
	b.WriteString(name)
	b.WriteByte('{')
	for i, k := range slices.Sorted(maps.Keys(labels)) {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(strconv.Quote(labels[k]))
	}
	b.WriteByte('}')
	return b.String()
}

// compact writes a duration as people write it: 35d, 5m, 12h.
func compact(d time.Duration) string {
	if d >= 24*time.Hour && d%(24*time.Hour) == 0 {
		return strconv.FormatInt(int64(d/(24*time.Hour)), 10) + "d"
	}
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// ParseDuration parses a Go duration ("90s", "12h") or a whole number of
// days ("14d").
func ParseDuration(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days < 0 || days > 10000 {
			return 0, fmt.Errorf("%q is not a duration", s)
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration (e.g. 15m, 12h, 14d)", s)
	}
	return d, nil
}
