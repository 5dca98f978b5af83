package server

import (
	"context"
	"sync"

	"github.com/99designs/gqlgen/graphql"
	"github.com/hashicorp/golang-lru/v2/simplelru"
	"github.com/vektah/gqlparser/v2/ast"
)

// parsedQueries is gqlgen's cache of parsed and validated documents, keyed by their text,
// bounded twice: by how many documents it keeps and by the bytes of their texts. A count
// alone does not bound its memory: a parsed document takes 25 to 80 times its text (a
// 6 KB document of 2,000 tokens, 460 KB), so a client sending 1,000 distinct large but
// valid documents, signed in or not, would have the server keep half a gigabyte. Past
// either bound the least recently used documents go; a text larger than the byte bound is
// not kept at all (it is parsed again when it comes back).
type parsedQueries struct {
	mu       sync.Mutex
	lru      *simplelru.LRU[string, *ast.QueryDocument]
	bytes    int
	maxBytes int
}

// parsedQueryCacheDocs is how many parsed documents the cache keeps at most: far more than
// the distinct operations the dashboard and its integrations send.
const parsedQueryCacheDocs = 1000

var _ graphql.Cache[*ast.QueryDocument] = (*parsedQueries)(nil)

// newParsedQueries keeps at most maxDocs documents whose texts add up to at most maxBytes.
func newParsedQueries(maxDocs, maxBytes int) *parsedQueries {
	c := &parsedQueries{maxBytes: maxBytes}
	// NewLRU fails only for a size below 1.
	c.lru, _ = simplelru.NewLRU(max(maxDocs, 1), func(text string, _ *ast.QueryDocument) { c.bytes -= len(text) })
	return c
}

func (c *parsedQueries) Get(_ context.Context, text string) (*ast.QueryDocument, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Get(text)
}

func (c *parsedQueries) Add(_ context.Context, text string, doc *ast.QueryDocument) {
	if len(text) > c.maxBytes {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.lru.Contains(text) {
		c.lru.Add(text, doc)
		return
	}
	c.lru.Add(text, doc) // may evict the oldest, which the callback takes off bytes
	c.bytes += len(text)
	for c.bytes > c.maxBytes {
		c.lru.RemoveOldest()
	}
}

// size is how many documents, and bytes of text, the cache holds now.
func (c *parsedQueries) size() (docs, bytes int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len(), c.bytes
}
