package redis

import (
	"context"
	"sync"

	goredis "github.com/redis/go-redis/v9"
)

// busSession is one of Run's attempts at holding the bus's subscriptions: the pub/sub
// connections it opened and those Subscribe added while it ran. They end together: when
// one is lost, Run closes the others, opens a new session on every topic, and reports the
// gap once. (On a cluster a failover of one shard so costs a resubscription on every
// shard; the hub resyncs every topic after any gap anyway, and the bus stays as simple as
// on one node.)
type busSession struct {
	bus *Bus
	// ctx ends when the session does; its cause is why.
	ctx  context.Context
	fail context.CancelCauseFunc
	// missed reports whether the session follows one that was lost: once it is
	// confirmed, onGap announces the snapshots missed in between.
	missed    bool
	onMessage func(topic string, payload []byte)
	onGap     func()
	// delivering keeps the callbacks, which several connections' readers make, from
	// overlapping.
	delivering sync.Mutex
	readers    sync.WaitGroup

	// The fields below are guarded by bus.mu.

	// links are the connections by the address of the master they are open to on a
	// cluster; on one node the only one is under "".
	links map[string]*busLink
	// linkOf is the connection each topic is subscribed on, on a cluster.
	linkOf map[string]*busLink
	// unsubscribing counts, by channel, the SUNSUBSCRIBEs sent whose answer has not come
	// back: any other sunsubscribe the server sends means the cluster moved the channel's
	// slot away from the master the connection is open to.
	unsubscribing map[string]int
	// started is set once open has started the readers; links added later start at once.
	started bool
	// unconfirmed counts the connections opened with the session whose first PONG has not
	// come back; confirmed is set when none is left.
	unconfirmed int
	confirmed   bool
}

// busLink is one pub/sub connection of a session.
type busLink struct {
	pubsub *goredis.PubSub
	// unconfirmed is set on the connections opened with the session until the answer
	// to their resubscribedPing comes back.
	unconfirmed bool
}

func newBusSession(ctx context.Context, b *Bus, missed bool, onMessage func(string, []byte), onGap func()) *busSession {
	s := &busSession{
		bus:           b,
		missed:        missed,
		onMessage:     onMessage,
		onGap:         onGap,
		links:         make(map[string]*busLink),
		linkOf:        make(map[string]*busLink),
		unsubscribing: make(map[string]int),
	}
	s.ctx, s.fail = context.WithCancelCause(ctx)
	return s
}

// subscribe subscribes the session to topics: on one node with one SUBSCRIBE, on a
// cluster with one SSUBSCRIBE each on the connection to the master owning its slot
// (SSUBSCRIBE refuses channels of several slots at once), opening that connection first
// when the session has none to it. Called with bus.mu held.
func (s *busSession) subscribe(ctx context.Context, topics []string) error {
	b := s.bus
	if b.cluster == nil {
		l := s.links[""]
		if l == nil {
			l = s.addLink("", b.client.Subscribe(ctx)) // opens no connection yet
			if probe := b.probeChannel(); probe != "" {
				if err := l.pubsub.Subscribe(ctx, probe); err != nil {
					return err
				}
			}
		}
		if len(topics) == 0 {
			return nil
		}
		channels := make([]string, len(topics))
		for i, topic := range topics {
			channels[i] = b.channelName(topic)
		}
		return l.pubsub.Subscribe(ctx, channels...)
	}
	for _, topic := range topics {
		channel := b.channelName(topic)
		master, err := b.cluster.MasterForKey(ctx, channel)
		if err != nil {
			return err
		}
		addr := master.Options().Addr
		l := s.links[addr]
		if l == nil {
			l = s.addLink(addr, master.SSubscribe(ctx))
		}
		if err := l.pubsub.SSubscribe(ctx, channel); err != nil {
			return err
		}
		s.linkOf[topic] = l
	}
	return nil
}

// addLink adds a connection to the session, and starts its reader when the session's
// readers run. Called with bus.mu held.
func (s *busSession) addLink(addr string, pubsub *goredis.PubSub) *busLink {
	l := &busLink{pubsub: pubsub}
	s.links[addr] = l
	if s.started {
		s.start(l)
	}
	return l
}

// unsubscribe unsubscribes the session from topics. Called with bus.mu held.
func (s *busSession) unsubscribe(ctx context.Context, topics []string) error {
	b := s.bus
	if b.cluster == nil {
		channels := make([]string, len(topics))
		for i, topic := range topics {
			channels[i] = b.channelName(topic)
		}
		return s.links[""].pubsub.Unsubscribe(ctx, channels...)
	}
	for _, topic := range topics {
		l := s.linkOf[topic]
		if l == nil {
			continue
		}
		delete(s.linkOf, topic)
		channel := b.channelName(topic)
		s.unsubscribing[channel]++
		if err := l.pubsub.SUnsubscribe(ctx, channel); err != nil {
			return err
		}
	}
	return nil
}

// startReaders starts a reader on each connection open so far. Called with bus.mu held.
func (s *busSession) startReaders() {
	s.started = true
	for _, l := range s.links {
		s.start(l)
	}
}

// start runs l's reader until l fails, which ends the session. Called with bus.mu held.
func (s *busSession) start(l *busLink) {
	s.readers.Add(1)
	pinged := l.unconfirmed
	go func() {
		defer s.readers.Done()
		s.fail(s.bus.receive(s, l, pinged))
	}()
}

// closeLinks closes every connection, which ends their readers' reads (go-redis reads
// ignore ctx). Called with bus.mu held.
func (s *busSession) closeLinks() {
	for _, l := range s.links {
		_ = l.pubsub.Close() // a second Close only reports ErrClosed
	}
}

// lostChannel reports whether a sunsubscribe the server sent for channel took away a
// topic still subscribed to, rather than answering an SUNSUBSCRIBE of ours.
func (s *busSession) lostChannel(channel string) bool {
	b := s.bus
	b.mu.Lock()
	defer b.mu.Unlock()
	if s.unsubscribing[channel] > 0 {
		s.unsubscribing[channel]--
		if s.unsubscribing[channel] == 0 {
			delete(s.unsubscribing, channel)
		}
		return false
	}
	topic, ok := b.topicOf(channel)
	if !ok {
		return false
	}
	_, subscribed := b.topics[topic]
	return subscribed
}

// noteConfirmed records that l, or with nil no connection, proved to work, and once every
// connection the session opened with has, announces the gap a lost session left.
func (s *busSession) noteConfirmed(l *busLink) {
	b := s.bus
	b.mu.Lock()
	if l != nil {
		if !l.unconfirmed {
			b.mu.Unlock()
			return
		}
		l.unconfirmed = false
		s.unconfirmed--
	}
	announce := s.unconfirmed == 0 && !s.confirmed
	if announce {
		s.confirmed = true
	}
	b.mu.Unlock()
	if announce && s.missed {
		b.logger.Info("live event bus reconnected to redis; resyncing")
		s.delivering.Lock()
		defer s.delivering.Unlock()
		s.onGap()
	}
}

// deliver hands one snapshot over.
func (s *busSession) deliver(topic string, payload []byte) {
	s.delivering.Lock()
	defer s.delivering.Unlock()
	s.onMessage(topic, payload)
}
