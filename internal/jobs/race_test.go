//go:build race

package jobs_test

// raceEnabled reports whether the race detector is on. It makes the pure-Go
// SQLite about 15 times slower, so the stress test writes less under it.
const raceEnabled = true
