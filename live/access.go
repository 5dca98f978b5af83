package live

import (
	"context"
	"encoding/json"
	"slices"

	"notifyql"
)

// Access changes travel like snapshots: the relay, the one instance that hears the
// triggers, publishes each tick's access hints on notifyql.AccessTopic, and every
// instance, subscribed to that topic for as long as it runs, tells its local subscriptions
// whose user or service the hint names. Each subscription then re-checks its permission;
// the hub itself knows nothing of permissions.

// maxAccessIDs caps the ids one tick's merged access hint keeps; past it the hint says
// All, which makes every subscription re-check.
const maxAccessIDs = 256

// AccessChanged records an access hint from the listener; the relay's next tick publishes
// it to every instance. Hints arriving while this instance is not the relay are ignored:
// an election tells everyone to re-check anyway. It never blocks.
func (h *Hub) AccessChanged(c notifyql.AccessChange) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.relay {
		return
	}
	h.mergeAccess(c)
}

// mergeAccess folds c into the access hint pending for the next tick. Called with h.mu held.
func (h *Hub) mergeAccess(c notifyql.AccessChange) {
	p := h.pendingAccess
	if p == nil {
		p = &notifyql.AccessChange{}
		h.pendingAccess = p
	}
	if p.All || c.All || len(p.UserIDs)+len(c.UserIDs)+len(p.ServiceIDs)+len(c.ServiceIDs) > maxAccessIDs {
		*p = notifyql.AccessChange{All: true}
		return
	}
	p.UserIDs = append(p.UserIDs, c.UserIDs...)
	p.ServiceIDs = append(p.ServiceIDs, c.ServiceIDs...)
}

// publishAccess publishes the pending access hint, if any, as the relay. A failed publish
// is kept for the next tick.
func (h *Hub) publishAccess(ctx context.Context) {
	h.mu.Lock()
	pending := h.pendingAccess
	h.pendingAccess = nil
	relay := h.relay
	h.mu.Unlock()
	if pending == nil || !relay {
		return
	}
	slices.Sort(pending.UserIDs)
	pending.UserIDs = slices.Compact(pending.UserIDs)
	slices.Sort(pending.ServiceIDs)
	pending.ServiceIDs = slices.Compact(pending.ServiceIDs)
	payload, err := json.Marshal(pending)
	if err == nil {
		err = h.bus.Publish(ctx, notifyql.AccessTopic, payload)
	}
	if err != nil {
		h.logger.Warn("live: publish access change", "err", err)
		h.mu.Lock()
		if h.relay {
			h.mergeAccess(*pending)
		}
		h.mu.Unlock()
	}
}

// holdAccessSubscription subscribes this instance to the access topic once; a failure is
// retried at the next tick.
func (h *Hub) holdAccessSubscription(ctx context.Context) {
	h.mu.Lock()
	done := h.accessSubscribed
	h.mu.Unlock()
	if done {
		return
	}
	if err := h.bus.Subscribe(ctx, notifyql.AccessTopic); err != nil {
		h.logger.Warn("live: subscribe to access changes", "err", err)
		return
	}
	h.mu.Lock()
	h.accessSubscribed = true
	h.mu.Unlock()
}

// releaseAccessSubscription undoes holdAccessSubscription when the hub stops.
func (h *Hub) releaseAccessSubscription(ctx context.Context) {
	h.mu.Lock()
	held := h.accessSubscribed
	h.accessSubscribed = false
	h.mu.Unlock()
	if !held {
		return
	}
	busCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), busCallTimeout)
	defer cancel()
	if err := h.bus.Unsubscribe(busCtx, notifyql.AccessTopic); err != nil {
		h.logger.Warn("live: unsubscribe from access changes", "err", err)
	}
}

// deliverAccess tells the local subscriptions an access change names. It never blocks.
func (h *Hub) deliverAccess(payload []byte) {
	var c notifyql.AccessChange
	if err := json.Unmarshal(payload, &c); err != nil {
		// Whoever published it, everyone re-checks rather than miss a revocation.
		h.logger.Warn("live: unreadable access change; every subscription re-checks", "payload_bytes", len(payload))
		c = notifyql.AccessChange{All: true}
	}
	h.notifyAccess(c)
}

// OnAccessChange has the hub tell f of every access change that reaches this instance,
// and of every gap in them as a change that says All, beside its subscriptions: what the
// instance holds outside subscriptions (open sockets, whose users may have been removed)
// is re-checked on the same hints, within the same bound. f is called from the hub's own
// goroutines: it must return at once (start any re-check elsewhere).
func (h *Hub) OnAccessChange(f func(notifyql.AccessChange)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.accessListeners = append(h.accessListeners, f)
}

// notifyAccess tells each local subscription with an access interest that c affects, and
// each listener OnAccessChange added.
func (h *Hub) notifyAccess(c notifyql.AccessChange) {
	var notify []func()
	h.mu.Lock()
	h.stats.AccessChanges++
	for _, ts := range h.topics {
		for sub := range ts.subs {
			if sub.access.OnChange != nil && c.Affects(sub.access.UserID, ts.topic.ServiceID) {
				notify = append(notify, sub.access.OnChange)
			}
		}
	}
	listeners := h.accessListeners
	h.mu.Unlock()
	for _, f := range listeners {
		f(c)
	}
	for _, f := range notify {
		f()
	}
}
