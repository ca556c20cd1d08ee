package sched

import "time"

// Offset returns id's offset within interval: a value in [0, interval)
// derived from a hash of id alone, so that items sharing an interval are
// spread uniformly across it and an item's offset never changes. Offsets are
// whole microseconds when interval is (the precision the databases store).
// It returns 0 if interval <= 0.
//
// The hash is part of the schedule every replica computes independently:
// changing it moves every check's slots, so don't.
func Offset(id string, interval time.Duration) time.Duration {
	if interval <= 0 {
		return 0
	}
	h := hash(id)
	if interval%time.Microsecond == 0 {
		return time.Duration(h%uint64(interval/time.Microsecond)) * time.Microsecond
	}
	return time.Duration(h % uint64(interval))
}

// NextSlot returns the first slot of id strictly after after. The slots of
// an item are epoch + Offset(id, interval) + k*interval for every integer
// k, epoch being the Unix epoch, so they do not depend on when a process
// started. The result is in UTC. Times must lie within the range of
// time.UnixNano (years 1678 to 2262); NextSlot panics if interval <= 0.
func NextSlot(id string, interval time.Duration, after time.Time) time.Time {
	if interval <= 0 {
		panic("sched: NextSlot with non-positive interval")
	}
	return time.Unix(0, nextSlot(int64(Offset(id, interval)), int64(interval), after.UnixNano())).UTC()
}

// nextSlot is NextSlot in Unix nanoseconds: the least off+k*iv > after.
func nextSlot(off, iv, after int64) int64 {
	d := after - off
	k := d / iv
	if d%iv < 0 { // floor division for instants before the first slot
		k--
	}
	return off + (k+1)*iv
}

// hash is 64-bit FNV-1a followed by the MurmurHash3 finalizer: FNV-1a alone
// leaves ids that differ only in their last characters ("check-17",
// "check-18") close together in the low bits.
func hash(s string) uint64 {
	const (
		offset64 = 14695981039346656037
		prime64  = 1099511628211
	)
	h := uint64(offset64)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= prime64
	}
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}
