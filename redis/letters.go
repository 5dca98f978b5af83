package redis

import (
	"context"
	"encoding/json"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"notifyql"
)

// LetterUploads keeps the PDFs validateLetterPdf checked, for their preview links
// (RENDERING.md §7.4): under letter-upload-{id}, a hash of the uploader and service (meta)
// and the file (pdf), which expires with its links.
type LetterUploads struct {
	client  goredis.UniversalClient
	timeout time.Duration
}

// letterUploadCallTimeout bounds each call: a 2 MiB value on a healthy Redis takes a few
// milliseconds; one that does not answer soon is down, and the upload's preview is null.
const letterUploadCallTimeout = 2 * time.Second

// NewLetterUploads returns LetterUploads on client.
func NewLetterUploads(client goredis.UniversalClient) *LetterUploads {
	return &LetterUploads{client: client, timeout: letterUploadCallTimeout}
}

var _ notifyql.LetterUploadStore = (*LetterUploads)(nil)

func letterUploadKey(id string) string { return "letter-upload-" + id }

// PutLetterUpload keeps u under id for ttl.
func (s *LetterUploads) PutLetterUpload(ctx context.Context, id string, u notifyql.LetterUpload, ttl time.Duration) error {
	pdf := u.PDF
	u.PDF = nil
	meta, err := json.Marshal(u)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	key := letterUploadKey(id)
	_, err = s.client.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		p.HSet(ctx, key, "meta", meta, "pdf", pdf)
		p.PExpire(ctx, key, ttl)
		return nil
	})
	if err != nil {
		return notifyql.Errorf(notifyql.EUNAVAILABLE, "the upload could not be kept")
	}
	return nil
}

// LetterUpload returns the upload kept under id: ENOTFOUND once it has expired,
// EUNAVAILABLE when Redis does not answer.
func (s *LetterUploads) LetterUpload(ctx context.Context, id string) (*notifyql.LetterUpload, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	fields, err := s.client.HGetAll(ctx, letterUploadKey(id)).Result()
	if err != nil {
		return nil, notifyql.Errorf(notifyql.EUNAVAILABLE, "uploads cannot be read now: try again shortly")
	}
	meta, ok := fields["meta"]
	if !ok {
		return nil, notifyql.Errorf(notifyql.ENOTFOUND, "upload not found")
	}
	var u notifyql.LetterUpload
	if err := json.Unmarshal([]byte(meta), &u); err != nil {
		return nil, err
	}
	u.PDF = []byte(fields["pdf"])
	return &u, nil
}

// LetterRenderCache keeps rendered letter files (notifyql.LetterRenderCache) under a byte
// budget that holds whatever Redis's maxmemory is:
//
//   - an entry larger than a sixteenth of the budget is not kept, so no one letter crowds
//     out the rest;
//   - every entry lives exactly TTL, and its bytes are counted in the budget window (a
//     counter per TTL-long slot of time) it was written in. An entry written in window k
//     has expired before window k+2 starts, so the bytes alive at any moment are at most
//     the counts of the current window and the one before; an entry is kept only while
//     those two, with it, stay within the budget. The counters expire by themselves.
//
// Neither keys nor counters hold personal data: keys are the renderer's ids and keyed
// hashes. A Redis error is a miss, or an entry not kept.
type LetterRenderCache struct {
	client goredis.UniversalClient
	// namespace keeps apart the caches of deployments (or tests) that share a Redis.
	namespace string
	ttl       time.Duration
	budget    int64
	timeout   time.Duration
	now       func() time.Time
}

// renderCacheCallTimeout bounds each call: a miss costs a render, which the caller can
// afford better than waiting on a Redis that does not answer.
const renderCacheCallTimeout = 250 * time.Millisecond

// MaxLetterRenderTTL is the longest a rendered file may be kept (RENDERING.md §1.5).
const MaxLetterRenderTTL = 10 * time.Minute

// NewLetterRenderCache returns a cache of at most budget bytes whose entries live ttl
// (capped at MaxLetterRenderTTL).
func NewLetterRenderCache(client goredis.UniversalClient, namespace string, budget int64, ttl time.Duration) *LetterRenderCache {
	ttl = min(ttl, MaxLetterRenderTTL)
	if ttl <= 0 {
		ttl = MaxLetterRenderTTL
	}
	return &LetterRenderCache{client: client, namespace: namespace, ttl: ttl, budget: budget, timeout: renderCacheCallTimeout, now: time.Now}
}

var _ notifyql.LetterRenderCache = (*LetterRenderCache)(nil)

// reserveRenderBytes takes the current and the previous window's counters (KEYS[1],
// KEYS[2]), the entry's size, the budget and the counters' life in milliseconds, and
// counts the entry in the current window when both windows with it stay within the
// budget: 1 when counted, 0 when not.
var reserveRenderBytes = goredis.NewScript(`
local used = tonumber(redis.call('GET', KEYS[1]) or '0') + tonumber(redis.call('GET', KEYS[2]) or '0')
local size = tonumber(ARGV[1])
if used + size > tonumber(ARGV[2]) then
  return 0
end
redis.call('INCRBY', KEYS[1], size)
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
`)

// Get returns the entry under key.
func (c *LetterRenderCache) Get(ctx context.Context, key string) ([]byte, bool) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	value, err := c.client.Get(ctx, c.namespace+":"+key).Bytes()
	return value, err == nil
}

// Put keeps value under key for the TTL when the budget allows it.
func (c *LetterRenderCache) Put(ctx context.Context, key string, value []byte) {
	size := int64(len(value))
	if c.budget <= 0 || size > c.budget/16 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	window := c.now().UnixNano() / int64(c.ttl)
	// One hash tag: both counters live in one slot of a Redis Cluster, so one script
	// reads both.
	tag := "{letter-render-budget:" + c.namespace + "}:"
	current := tag + strconv.FormatInt(window, 10)
	previous := tag + strconv.FormatInt(window-1, 10)
	counted, err := reserveRenderBytes.Run(ctx, c.client, []string{current, previous}, size, c.budget, (3 * c.ttl).Milliseconds()).Int()
	if err != nil || counted != 1 {
		return
	}
	// Counted but not kept (an error here) errs on the side of a smaller cache.
	_ = c.client.Set(ctx, c.namespace+":"+key, value, c.ttl).Err()
}
