package notify

import (
	"math/rand/v2"
	"time"
)

// Backoff is the retry policy of deliveries: exponential delays with full
// jitter between Min and a ceiling that doubles per attempt up to Max, a
// Retry-After from the far end honoured up to MaxRetryAfter, and no retry
// once MaxElapsed has passed since the first attempt. The zero value is a
// usable policy with the defaults documented on each field. A Backoff is a
// value; it is safe for concurrent use.
type Backoff struct {
	// Min is the shortest delay and the first ceiling; default 1 s.
	Min time.Duration
	// Max caps the ceiling of one jittered delay; default 5 min.
	Max time.Duration
	// MaxRetryAfter caps a delay asked for by Retry-After; default 1 h.
	// A longer Retry-After is cut to it, not ignored.
	MaxRetryAfter time.Duration
	// MaxElapsed bounds the total retry time: no retry is scheduled that
	// would start later than MaxElapsed after the first attempt; default
	// 6 h. After that the delivery fails visibly.
	MaxElapsed time.Duration
}

// Rand is the randomness Backoff.Next uses: a value in [0, 1).
// *math/rand/v2.Rand satisfies it.
type Rand interface{ Float64() float64 }

type globalRand struct{}

func (globalRand) Float64() float64 { return rand.Float64() }

func (b Backoff) withDefaults() Backoff {
	if b.Min <= 0 {
		b.Min = time.Second
	}
	if b.Max <= 0 {
		b.Max = 5 * time.Minute
	}
	if b.Max < b.Min {
		b.Max = b.Min
	}
	if b.MaxRetryAfter <= 0 {
		b.MaxRetryAfter = time.Hour
	}
	if b.MaxElapsed <= 0 {
		b.MaxElapsed = 6 * time.Hour
	}
	return b
}

// Next decides what follows a failed attempt. attempt is the number of
// attempts made so far (1 after the first failure), elapsed the time since
// the first attempt started, err the attempt's error, rnd the randomness
// (nil: math/rand/v2's global source).
//
// It reports retry false when err is nil, not Retryable, or when the
// budget is spent: elapsed has reached MaxElapsed, or a Retry-After would
// start the retry past it. A jittered delay that would overrun the budget
// is shortened to end exactly at it, so the last attempt is made.
// Otherwise delay is uniform in [Min, min(Max, Min·2^(attempt-1))], raised
// to the (capped) Retry-After when the far end asked for longer.
func (b Backoff) Next(attempt int, elapsed time.Duration, err error, rnd Rand) (delay time.Duration, retry bool) {
	if err == nil || !Retryable(err) {
		return 0, false
	}
	b = b.withDefaults()
	if elapsed >= b.MaxElapsed {
		return 0, false
	}
	if rnd == nil {
		rnd = globalRand{}
	}
	if attempt < 1 {
		attempt = 1
	}
	ceiling := b.Max
	if shift := attempt - 1; shift < 62 {
		if c := b.Min << shift; c > 0 && c < b.Max && c>>shift == b.Min {
			ceiling = c
		}
	}
	f := rnd.Float64()
	if f < 0 || f >= 1 {
		f = 0
	}
	delay = b.Min + time.Duration(f*float64(ceiling-b.Min))
	remaining := b.MaxElapsed - elapsed
	if ra := RetryAfterOf(err); ra > 0 {
		ra = min(ra, b.MaxRetryAfter)
		if ra > delay {
			if ra > remaining {
				return 0, false
			}
			return ra, true
		}
	}
	if remaining < b.Min {
		// Less than the shortest wait is left: one more try this soon
		// would only hammer the far end; the retry time is up.
		return 0, false
	}
	return min(delay, remaining), true
}
