package redis

import (
	"cmp"
	"context"
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
// (ARCHITECTURE.md, "Relay" and "Fan-out"): the relay publishes each tick's recomputed
// topics in one pipeline, and every instance holds one subscription per watched topic on
// a single connection. Reference counting of topics is the caller's job; the Bus only
// keeps the set of channels so that it can subscribe to them again after a reconnect.
type Bus struct {
	client *goredis.Client
	logger *slog.Logger
	// healthInterval is how long the connection may stay quiet before a PING, and how
	// long that PING may go unanswered before the connection counts as lost.
	healthInterval time.Duration
	// channelPrefix and watchedKey name the bus's channels and registry in Redis.
	channelPrefix string
	watchedKey    string

	mu sync.Mutex
	// topics is the set of topics subscribed to, also while no connection is open.
	topics map[string]struct{}
	// current is the PubSub connection Run is reading from, nil while Run is not
	// connected. Subscribe and Unsubscribe write to it under mu, which keeps their
	// SUBSCRIBE and UNSUBSCRIBE commands in the order the callers made them.
	current *goredis.PubSub
	running bool
}

// NewBus returns a Bus over client. It opens no connection until Run or a publish.
func NewBus(client *goredis.Client, logger *slog.Logger) *Bus {
	return &Bus{
		client:         client,
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

// Publish sends one topic's encoded snapshot to every instance subscribed to it.
func (b *Bus) Publish(ctx context.Context, topic string, payload []byte) error {
	if err := b.client.Publish(ctx, b.channelPrefix+topic, payload).Err(); err != nil {
		return fmt.Errorf("publish live snapshot of %s: %w", topic, err)
	}
	return nil
}

// PublishMany sends each topic's encoded snapshot in one pipeline: one round trip
// however many topics a relay tick recomputed. It returns the topics whose PUBLISH
// failed, sorted, with the first failure; the others were sent.
func (b *Bus) PublishMany(ctx context.Context, snapshots map[string][]byte) (failed []string, err error) {
	if len(snapshots) == 0 {
		return nil, nil
	}
	topics := slices.Sorted(maps.Keys(snapshots))
	cmds := make([]*goredis.IntCmd, len(topics))
	_, pipeErr := b.client.Pipelined(ctx, func(pipe goredis.Pipeliner) error {
		for i, topic := range topics {
			cmds[i] = pipe.Publish(ctx, b.channelPrefix+topic, snapshots[topic])
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
	if b.current == nil {
		return nil
	}
	if err := b.current.Subscribe(ctx, b.channelNames(topics)...); err != nil {
		return fmt.Errorf("subscribe to %d live topics: %w", len(topics), err)
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
	if b.current == nil {
		return nil
	}
	if err := b.current.Unsubscribe(ctx, b.channelNames(topics)...); err != nil {
		return fmt.Errorf("unsubscribe from %d live topics: %w", len(topics), err)
	}
	return nil
}

// Run holds this instance's one pub/sub connection until ctx is done, then returns
// nil. It calls onMessage with the topic (without the channel prefix) and payload of
// each snapshot published to a subscribed topic; onMessage runs on Run's goroutine and
// must not block. When the connection is lost (or cannot be opened at first) Run keeps
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
		pubsub, err := b.open(ctx)
		if err == nil {
			var confirmed bool
			confirmed, err = b.receive(ctx, pubsub, missed, onMessage, onGap)
			b.close(pubsub)
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
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(delay):
		}
		delay = min(2*delay, maxReconnectDelay)
	}
}

// open starts a pub/sub connection subscribed to the whole topic set and sends the
// PING whose answer confirms it. It holds mu throughout, so that no Subscribe or
// Unsubscribe can slip between the snapshot of the set and the connection taking over.
func (b *Bus) open(ctx context.Context) (*goredis.PubSub, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	pubsub := b.client.Subscribe(ctx) // opens no connection yet
	if len(b.topics) > 0 {
		topics := make([]string, 0, len(b.topics))
		for topic := range b.topics {
			topics = append(topics, topic)
		}
		if err := pubsub.Subscribe(ctx, b.channelNames(topics)...); err != nil {
			_ = pubsub.Close()
			return nil, fmt.Errorf("subscribe to %d live topics: %w", len(topics), err)
		}
	}
	if err := pubsub.Ping(ctx, resubscribedPing); err != nil {
		_ = pubsub.Close()
		return nil, fmt.Errorf("ping redis after subscribing: %w", err)
	}
	b.current = pubsub
	return pubsub, nil
}

// close retires a connection that receive gave up on.
func (b *Bus) close(pubsub *goredis.PubSub) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.current == pubsub {
		b.current = nil
	}
	_ = pubsub.Close() // a second Close (after ctx ended) only reports ErrClosed
}

// receive reads from one connection until it fails or ctx is done. confirmed reports
// whether the connection was seen to work (its first PONG arrived), which is when a
// pending gap is announced.
func (b *Bus) receive(ctx context.Context, pubsub *goredis.PubSub, missed bool, onMessage func(string, []byte), onGap func()) (confirmed bool, err error) {
	// go-redis reads ignore ctx cancellation; closing the connection ends the read.
	stop := context.AfterFunc(ctx, func() { _ = pubsub.Close() })
	defer stop()

	awaitingPong := true // the one open sent
	for {
		received, err := pubsub.ReceiveTimeout(ctx, b.healthInterval)
		if err != nil {
			if ctx.Err() != nil {
				return confirmed, ctx.Err()
			}
			if !isTimeout(err) {
				return confirmed, fmt.Errorf("receive live snapshots: %w", err)
			}
			if awaitingPong {
				return confirmed, fmt.Errorf("redis left a ping unanswered for %s", b.healthInterval)
			}
			if err := pubsub.Ping(ctx, healthPing); err != nil {
				return confirmed, fmt.Errorf("ping redis: %w", err)
			}
			awaitingPong = true
			continue
		}
		switch received := received.(type) {
		case *goredis.Message:
			topic, ok := strings.CutPrefix(received.Channel, b.channelPrefix)
			if ok && b.isSubscribed(topic) {
				onMessage(topic, []byte(received.Payload))
			}
		case *goredis.Pong:
			awaitingPong = false
			if received.Payload == resubscribedPing && !confirmed {
				confirmed = true
				if missed {
					b.logger.Info("live event bus reconnected to redis; resyncing")
					onGap()
				}
			}
		}
	}
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

func (b *Bus) channelNames(topics []string) []string {
	channels := make([]string, len(topics))
	for i, topic := range topics {
		channels[i] = b.channelPrefix + topic
	}
	return channels
}

func isTimeout(err error) bool {
	var netErr net.Error
	return errors.As(err, &netErr) && netErr.Timeout()
}
