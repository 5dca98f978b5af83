package pdfium

import (
	"bufio"
	"context"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// rssBytes is the process's resident set size.
func rssBytes(t *testing.T) uint64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Skip("no /proc/self/status")
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	t.Skip("no VmRSS")
	return 0
}

// TestEightConcurrentFirstRenders is issue 16's memory target: 8 concurrent first renders
// (open, render page 1 at 150 dpi, close) on a warm pool of 8 grow the process's RSS by at
// most 200 MB.
func TestEightConcurrentFirstRenders(t *testing.T) {
	r := ownReader(t, Options{Instances: 8})
	pdf := letterPage()
	runtime.GC()
	debug.FreeOSMemory()
	before := rssBytes(t)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			doc, err := r.Open(ctx, pdf)
			if err != nil {
				errs <- err
				return
			}
			defer doc.Close()
			if _, err := doc.Render(ctx, 1, 150); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	growth := int64(rssBytes(t)) - int64(before)
	t.Logf("RSS %d MB before, grew by %d MB", before>>20, growth>>20)
	if growth > 200<<20 {
		t.Errorf("RSS grew by %d MB", growth>>20)
	}
}
