package live

import (
	"slices"
	"time"

	"notifyql"
)

// subscriber is one local subscription: a channel that holds at most the latest
// snapshot. Every field is guarded by Hub.mu; the hub is the only sender, so a send into
// a channel it has just emptied cannot block.
type subscriber struct {
	ch   chan []byte
	ts   *topicState
	stop func() bool // stops the context.AfterFunc that removes the subscriber

	// taken is the hash of the snapshot the reader is known to have taken, queued the
	// hash of the one waiting in ch; the has flags tell a zero hash from none.
	taken, queued       uint64
	hasTaken, hasQueued bool
	// pendingSince is when ch last went from empty to holding a snapshot.
	pendingSince time.Time
	closed       bool
}

// offer queues payload unless the reader already has those bytes, replacing a snapshot
// the reader has not taken yet. It reports whether it replaced one.
func (s *subscriber) offer(payload []byte, hash uint64, now time.Time) (replaced bool) {
	if s.closed {
		return false
	}
	if s.hasQueued {
		select {
		case <-s.ch:
			replaced = true
		default:
			// The reader took it: it is what the reader has now.
			s.taken, s.hasTaken = s.queued, true
		}
		s.hasQueued = false
	}
	if s.hasTaken && s.taken == hash {
		// The reader already shows these bytes; a replaced newer one was never seen.
		return replaced
	}
	select {
	case s.ch <- payload:
	default:
		// Unreachable while the hub is the only sender; dropping beats blocking.
		return replaced
	}
	s.queued, s.hasQueued = hash, true
	if !replaced {
		s.pendingSince = now
	}
	return replaced
}

// stalled reports whether a snapshot has waited in ch untaken since before deadline.
func (s *subscriber) stalled(deadline time.Time) bool {
	return !s.closed && s.hasQueued && len(s.ch) > 0 && s.pendingSince.Before(deadline)
}

// changeKey is what change hints are merged by within one tick.
type changeKey struct {
	serviceID, table string
}

// maxMergedIDs caps the ids one merged hint keeps; past it the hint says More, which
// makes it affect every topic of its table for the service.
const maxMergedIDs = 256

// mergeChange folds c into the hint merged so far for the same service and table.
func mergeChange(merged, c notifyql.Change) notifyql.Change {
	if merged.ServiceID == "" {
		merged = notifyql.Change{ServiceID: c.ServiceID, Table: c.Table}
	}
	merged.More = merged.More || c.More
	if merged.More {
		merged.IDs = nil
		return merged
	}
	// Duplicates are kept: they cost nothing in Affects, and finding them would cost
	// time under the hub's lock on the listener's path.
	if len(merged.IDs)+len(c.IDs) > maxMergedIDs {
		merged.IDs, merged.More = nil, true
		return merged
	}
	merged.IDs = append(merged.IDs, c.IDs...)
	return merged
}

// percentile returns the p-quantile (0..1) of samples, 0 when there are none.
func percentile(samples []time.Duration, p float64) time.Duration {
	if len(samples) == 0 {
		return 0
	}
	sorted := slices.Clone(samples)
	slices.Sort(sorted)
	i := int(float64(len(sorted)-1) * p)
	return sorted[i]
}
