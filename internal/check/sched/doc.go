// Package sched runs many periodic items — health checks — each on its own
// interval, in one process. It knows nothing of the database or of what a
// check does: it decides when each item runs and calls Run.
//
// Every item runs on a fixed grid of slots aligned to the Unix epoch and
// spread by a stable per-item offset (see NextSlot), so runs never drift,
// items sharing an interval never start together, and every replica and
// every restart agrees on the slots: a check whose lease moves to another
// replica keeps its cadence there.
//
// One goroutine keeps a min-heap of next slots behind a single timer of
// the injected clock.Clock. Due items go to at most Concurrency workers and
// wait in a FIFO queue when all are busy; the wait shows as lateness
// (start of Run minus slot), never inside a check's own response time,
// because Run starts timing only when it is called. An item never runs
// twice at once: a slot that comes while its previous run is still queued
// or running is skipped and counted, so a slow target cannot pile up work.
//
// For several replicas, Options.Owns is asked at every slot whether this
// replica holds the item's lease; when a lease moves, the new owner runs
// the item from its next slot, so a check moves within the lease expiry
// plus one interval.
package sched
