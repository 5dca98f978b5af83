package redis

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

const (
	// liveChannelPrefix namespaces the live snapshot channels so that a shared Redis
	// can carry other publishers' channels beside ours.
	liveChannelPrefix = "notifyql:live:"
	// watchedTopicsKey is the sorted set in which every instance registers the topics its
	// subscribers watch (member = topic, score = unix ms expiry), so that the relay,
	// running on one instance, recomputes snapshots for all of them after a gap.
	watchedTopicsKey = "notifyql:live:watched"

	// resubscribedPing is the PING payload sent right after (re)subscribing: Redis answers
	// commands in order, so its PONG proves every SUBSCRIBE before it is in effect.
	resubscribedPing = "notifyql:resubscribed"
	// healthPing is the PING payload sent when the connection has been quiet, to tell a
	// silently dead connection from a quiet one.
	healthPing = "notifyql:health"

	defaultHealthInterval = 5 * time.Second
	firstReconnectDelay   = 50 * time.Millisecond
	maxReconnectDelay     = 2 * time.Second
)

// Bus carries encoded live snapshots between instances through Redis pub/sub
// (docs/live.md): the relay publishes each tick's recomputed
// topics in one pipeline, and every instance holds one subscription per watched topic.
// Reference counting of topics is the caller's job; the Bus only keeps the set of
// channels so that it can subscribe to them again after a reconnect.
//
// On a single Redis, or a primary that Sentinel manages, the subscriptions share one
// connection. On a Redis Cluster the bus uses sharded pub/sub (SSUBSCRIBE, SPUBLISH): a
// plain PUBLISH there is broadcast to every node, so each node's bandwidth would grow with
// the whole cluster's traffic. A topic's channel is hashed on the topic alone (a hash
// tag), so it lives on the one master owning that slot; the bus holds one connection per
// master that owns a subscribed topic, and the topics spread over every shard. A failover
// of a shard unsubscribes the bus there (see busSession); its reconnect, routed by
// go-redis's view of the cluster, which may lag a moment, can land on the old master, now
// a replica of the shard: Redis sends a shard's messages to its replicas too, so the
// subscription receives all the same.
type Bus struct {
	client goredis.UniversalClient
	// cluster is client as a Redis Cluster client, nil on a single Redis or a Sentinel-
	// managed primary.
	cluster *goredis.ClusterClient
	logger  *slog.Logger
	// healthInterval is how long a connection may stay quiet before a PING, and how
	// long that PING may go unanswered before the connection counts as lost.
	healthInterval time.Duration
	// channelPrefix and watchedKey name the bus's channels and registry in Redis.
	channelPrefix string
	watchedKey    string
	// probeID, set by UnderSentinel, names the channel of this bus's probes.
	probeID string

	mu sync.Mutex
	// topics is the set of topics subscribed to, also while no connection is open.
	topics map[string]struct{}
	// session holds the connections Run is reading from, nil while Run is not
	// connected. Subscribe and Unsubscribe write to them under mu, which keeps their
	// commands in the order the callers made them.
	session *busSession
	running bool
}

// NewBus returns a Bus over client. It opens no connection until Run or a publish.
func NewBus(client goredis.UniversalClient, logger *slog.Logger) *Bus {
	cluster, _ := client.(*goredis.ClusterClient)
	return &Bus{
		client:         client,
		cluster:        cluster,
		logger:         logger,
		healthInterval: defaultHealthInterval,
		channelPrefix:  liveChannelPrefix,
		watchedKey:     watchedTopicsKey,
		topics:         make(map[string]struct{}),
	}
}

// InNamespace keeps the bus's channels and registry apart from other deployments sharing
// one Redis (pub/sub channels ignore Redis database numbers), such as tests that run at
// once. Call it before the bus is used.
func (b *Bus) InNamespace(namespace string) *Bus {
	b.channelPrefix = "notifyql:" + namespace + ":live:"
	b.watchedKey = b.channelPrefix + "watched"
	return b
}

// sentinelProbeInterval is how long a connection to a Sentinel-managed primary may stay
// quiet before a probe, and how long the probe may take to come back.
const sentinelProbeInterval = time.Second

// UnderSentinel tells the bus that its client follows a primary Sentinel manages. A
// failover there can leave the old primary up, and the bus's subscriptions on it, while
// the client publishes to the new one, until Sentinel demotes the old one seconds later:
// its PINGs would still be answered. So instead of PING the bus checks a quiet connection
// with a probe published through the client on a channel of its own: a probe that does not
// come back within sentinelProbeInterval means the subscriptions are not where the
// snapshots go, and the bus subscribes again (the client's dialer asks Sentinel for the
// primary) and reports the gap. Call it before the bus is used.
func (b *Bus) UnderSentinel() *Bus {
	var id [8]byte
	_, _ = rand.Read(id[:])
	b.probeID = hex.EncodeToString(id[:])
	b.healthInterval = sentinelProbeInterval
	return b
}

// probeChannel is the channel of this bus's probes; "" unless UnderSentinel.
func (b *Bus) probeChannel() string {
	if b.probeID == "" {
		return ""
	}
	return b.channelPrefix + "probe:" + b.probeID
}

// Publish sends one topic's encoded snapshot to every instance subscribed to it.
func (b *Bus) Publish(ctx context.Context, topic string, payload []byte) error {
	if err := b.publish(ctx, b.client, topic, payload).Err(); err != nil {
		return fmt.Errorf("publish live snapshot of %s: %w", topic, err)
	}
	return nil
}

// publish queues (on a pipeline) or sends one snapshot: sharded on a cluster.
func (b *Bus) publish(ctx context.Context, on goredis.Cmdable, topic string, payload []byte) *goredis.IntCmd {
	if b.cluster != nil {
		return on.SPublish(ctx, b.channelName(topic), payload)
	}
	return on.Publish(ctx, b.channelName(topic), payload)
}

// PublishMany sends each topic's encoded snapshot in one pipeline: one round trip
// however many topics a relay tick recomputed (on a cluster, one per master, made at
// once). It returns the topics whose PUBLISH failed, sorted, with the first failure; the
// others were sent.
func (b *Bus) PublishMany(ctx context.Context, snapshots map[string][]byte) (failed []string, err error) {
	if len(snapshots) == 0 {
		return nil, nil
	}
	topics := slices.Sorted(maps.Keys(snapshots))
	cmds := make([]*goredis.IntCmd, len(topics))
	_, pipeErr := b.client.Pipelined(ctx, func(pipe goredis.Pipeliner) error {
		for i, topic := range topics {
			cmds[i] = b.publish(ctx, pipe, topic, snapshots[topic])
		}
		return nil
	})
	for i, cmd := range cmds {
		if cmdErr := cmd.Err(); cmdErr != nil {
			failed = append(failed, topics[i])
			err = cmp.Or(err, cmdErr)
		}
	}
	if pipeErr != nil && len(failed) == 0 {
		// No command carries the error: none can be known to have gone out.
		failed, err = topics, pipeErr
	}
	if err != nil {
		return failed, fmt.Errorf("publish %d of %d live snapshots: %w", len(failed), len(topics), err)
	}
	return nil, nil
}

// Subscribe adds topics to the set this instance receives. It may be called before or
// while Run runs. If Redis cannot be reached the error is returned, but the topics stay
// in the set: they are subscribed as soon as Run reconnects, and onGap follows.
func (b *Bus) Subscribe(ctx context.Context, topics ...string) error {
	if len(topics) == 0 {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, topic := range topics {
		b.topics[topic] = struct{}{}
	}
	if b.session == nil {
		return nil
	}
	if err := b.session.subscribe(ctx, topics); err != nil {
		err = fmt.Errorf("subscribe to %d live topics: %w", len(topics), err)
		b.session.fail(err)
		return err
	}
	return nil
}

// Unsubscribe removes topics from the set this instance receives. Once it returns,
// Run hands over no more messages for them, even ones already in flight.
func (b *Bus) Unsubscribe(ctx context.Context, topics ...string) error {
	if len(topics) == 0 {
		// go-redis would read an empty list as "unsubscribe from everything".
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, topic := range topics {
		delete(b.topics, topic)
	}
	if b.session == nil {
		return nil
	}
	if err := b.session.unsubscribe(ctx, topics); err != nil {
		err = fmt.Errorf("unsubscribe from %d live topics: %w", len(topics), err)
		b.session.fail(err)
		return err
	}
	return nil
}

// Run holds this instance's pub/sub connections until ctx is done, then returns nil. It
// calls onMessage with the topic (without the channel prefix) and payload of each
// snapshot published to a subscribed topic; onMessage must not block, and no two calls
// of onMessage and onGap overlap. When a connection is lost (or cannot be opened at
// first), or a cluster moves a subscribed topic's slot to another master, Run keeps
// reconnecting, subscribes again to every topic in the set, and then calls onGap:
// snapshots published meanwhile were missed and must be recomputed.
func (b *Bus) Run(ctx context.Context, onMessage func(topic string, payload []byte), onGap func()) error {
	b.mu.Lock()
	if b.running {
		b.mu.Unlock()
		return errors.New("run live event bus: already running")
	}
	b.running = true
	b.mu.Unlock()
	defer func() {
		b.mu.Lock()
		b.running = false
		b.mu.Unlock()
	}()

	missed := false
	delay := firstReconnectDelay
	for {
		session, err := b.open(ctx, missed, onMessage, onGap)
		if err == nil {
			var confirmed bool
			confirmed, err = b.hold(ctx, session)
			if confirmed {
				missed = false
				delay = firstReconnectDelay
			}
		}
		if ctx.Err() != nil {
			return nil
		}
		if !missed {
			b.logger.Warn("live event bus lost its redis connection; reconnecting", "err", err)
		}
		missed = true
		if !b.awaitNextAttempt(ctx, delay) {
			return nil
		}
		delay = min(2*delay, maxReconnectDelay)
	}
}

// clusterReloadLead is how long before a reconnect attempt the bus has go-redis reread a
// cluster's layout, time enough for a CLUSTER SLOTS round trip.
const clusterReloadLead = 100 * time.Millisecond

// awaitNextAttempt waits delay, or returns false when ctx ends first. On a cluster, whose
// slots may have moved (a failover), it has go-redis reread the layout at once and again
// shortly before the attempt: go-redis rereads it in the background, and a layout read
// only when the attempt failed would still name a crashed master that its replica has
// since replaced, costing a whole further delay.
func (b *Bus) awaitNextAttempt(ctx context.Context, delay time.Duration) bool {
	wait := func(d time.Duration) bool {
		select {
		case <-ctx.Done():
			return false
		case <-time.After(d):
			return true
		}
	}
	if b.cluster == nil {
		return wait(delay)
	}
	lead := min(delay/2, clusterReloadLead)
	b.cluster.ReloadState(ctx)
	if !wait(delay - lead) {
		return false
	}
	b.cluster.ReloadState(ctx)
	return wait(lead)
}

// open starts a session subscribed to the whole topic set, each of its connections sent
// the PING whose answer confirms it. It holds mu throughout, so that no Subscribe or
// Unsubscribe can slip between the snapshot of the set and the session taking over.
func (b *Bus) open(ctx context.Context, missed bool, onMessage func(string, []byte), onGap func()) (*busSession, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s := newBusSession(ctx, b, missed, onMessage, onGap)
	if err := s.subscribe(ctx, slices.Collect(maps.Keys(b.topics))); err != nil {
		s.closeLinks()
		return nil, fmt.Errorf("subscribe to %d live topics: %w", len(b.topics), err)
	}
	for _, l := range s.links {
		if err := l.pubsub.Ping(ctx, resubscribedPing); err != nil {
			s.closeLinks()
			return nil, fmt.Errorf("ping redis after subscribing: %w", err)
		}
		l.unconfirmed = true
	}
	s.unconfirmed = len(s.links)
	s.startReaders()
	b.session = s
	return s, nil
}

// hold reads from the session's connections until one of them fails or ctx is done,
// then closes them all. confirmed reports whether every connection opened with the
// session was seen to work (its first PONG arrived), which is when a pending gap is
// announced.
func (b *Bus) hold(ctx context.Context, s *busSession) (confirmed bool, err error) {
	s.noteConfirmed(nil) // a session with no connection is confirmed at once
	<-s.ctx.Done()
	b.mu.Lock()
	if b.session == s {
		b.session = nil
	}
	s.closeLinks()
	confirmed = s.confirmed
	b.mu.Unlock()
	s.readers.Wait()
	if ctx.Err() != nil {
		return confirmed, ctx.Err()
	}
	return confirmed, context.Cause(s.ctx)
}

// receive reads from one connection until it fails or its session ends. awaitingPong
// tells whether a PING was sent on it already (open's).
func (b *Bus) receive(s *busSession, l *busLink, awaitingPong bool) error {
	for {
		received, err := l.pubsub.ReceiveTimeout(s.ctx, b.healthInterval)
		if err != nil {
			if s.ctx.Err() != nil {
				return s.ctx.Err()
			}
			if !isTimeout(err) {
				return fmt.Errorf("receive live snapshots: %w", err)
			}
			if awaitingPong {
				return fmt.Errorf("redis left a ping (or probe) unanswered for %s", b.healthInterval)
			}
			if err := b.checkHealth(s.ctx, l); err != nil {
				return err
			}
			awaitingPong = true
			continue
		}
		switch received := received.(type) {
		case *goredis.Message:
			if b.probeID != "" && received.Channel == b.probeChannel() {
				awaitingPong = false
				continue
			}
			topic, ok := b.topicOf(received.Channel)
			if ok && b.isSubscribed(topic) {
				s.deliver(topic, []byte(received.Payload))
			}
		case *goredis.Subscription:
			if received.Kind == "sunsubscribe" && s.lostChannel(received.Channel) {
				return errors.New("redis cluster moved a subscribed topic's slot to another master")
			}
		case *goredis.Pong:
			awaitingPong = false
			if received.Payload == resubscribedPing {
				s.noteConfirmed(l)
			}
		}
	}
}

// checkHealth sends the PING, or under Sentinel publishes the probe, whose answer tells a
// working connection from a lost one.
func (b *Bus) checkHealth(ctx context.Context, l *busLink) error {
	if b.probeID == "" {
		if err := l.pubsub.Ping(ctx, healthPing); err != nil {
			return fmt.Errorf("ping redis: %w", err)
		}
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, b.healthInterval)
	defer cancel()
	if err := b.client.Publish(ctx, b.probeChannel(), "probe").Err(); err != nil {
		return fmt.Errorf("publish the bus's probe: %w", err)
	}
	return nil
}

func (b *Bus) isSubscribed(topic string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	_, ok := b.topics[topic]
	return ok
}

// Watch registers topics as watched by this instance until ttl from now. Callers
// renew well within ttl; an expiry is only ever pushed later (ZADD GT), so an instance
// renewing with a short ttl never cuts short another instance's registration.
func (b *Bus) Watch(ctx context.Context, topics []string, ttl time.Duration) error {
	if len(topics) == 0 {
		return nil
	}
	expiry := float64(time.Now().Add(ttl).UnixMilli())
	members := make([]goredis.Z, len(topics))
	for i, topic := range topics {
		members[i] = goredis.Z{Score: expiry, Member: topic}
	}
	if err := b.client.ZAddGT(ctx, b.watchedKey, members...).Err(); err != nil {
		return fmt.Errorf("register %d watched live topics: %w", len(topics), err)
	}
	return nil
}

// Watched returns, sorted, every topic some instance watches and whose registration
// has not expired, and removes the expired ones.
func (b *Bus) Watched(ctx context.Context) ([]string, error) {
	now := strconv.FormatInt(time.Now().UnixMilli(), 10)
	var members *goredis.StringSliceCmd
	_, err := b.client.TxPipelined(ctx, func(pipe goredis.Pipeliner) error {
		pipe.ZRemRangeByScore(ctx, b.watchedKey, "-inf", now)
		members = pipe.ZRangeByScore(ctx, b.watchedKey, &goredis.ZRangeBy{Min: "(" + now, Max: "+inf"})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list watched live topics: %w", err)
	}
	topics := members.Val()
	slices.Sort(topics)
	return topics, nil
}

// channelName is topic's channel. On a cluster the topic is the channel's hash tag, so
// the channel's slot, and the master holding it, follow from the topic alone.
func (b *Bus) channelName(topic string) string {
	if b.cluster != nil {
		return b.channelPrefix + "{" + topic + "}"
	}
	return b.channelPrefix + topic
}

// topicOf is the topic whose channel is channel, if it is one of the bus's.
func (b *Bus) topicOf(channel string) (string, bool) {
	topic, ok := strings.CutPrefix(channel, b.channelPrefix)
	if ok && b.cluster != nil {
		topic, ok = strings.CutPrefix(topic, "{")
		if ok {
			topic, ok = strings.CutSuffix(topic, "}")
		}
	}
	return topic, ok
}

func isTimeout(err error) bool {
	var netErr net.Error
	return errors.As(err, &netErr) && netErr.Timeout()
}
