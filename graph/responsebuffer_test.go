package graph

import "testing"

// An answer starts in a buffer a little larger than the answer before it, never larger
// than maxResponseSizeHint however large that answer was.
func TestResponseBufferStartsAtTheLastAnswersSize(t *testing.T) {
	t.Cleanup(func() { responseSizeHint.Store(0) })
	for _, tt := range []struct{ last, atLeast, atMost int }{
		{0, 0, 0},
		{12_000, 12_000, 14_000},
		{10 << 20, maxResponseSizeHint, maxResponseSizeHint},
		{100, 100, 120},
	} {
		rememberResponseSize(tt.last)
		buf := responseBuffer()
		if buf.Len() != 0 || buf.Cap() < tt.atLeast || buf.Cap() > tt.atMost {
			t.Errorf("after an answer of %d bytes: a buffer of length %d, capacity %d; want empty, capacity %d to %d",
				tt.last, buf.Len(), buf.Cap(), tt.atLeast, tt.atMost)
		}
	}
}
