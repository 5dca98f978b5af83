// Package redis holds everything that speaks Redis: search-term cache, event bus, APQ
// cache, and the in-process server used by make run.
package redis
