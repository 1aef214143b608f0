package main

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/respool/respool/simulator"
)

// progressBar draws a run's progress on a terminal: one line, redrawn at
// most ten times a second, shown only once a run has taken half a second
// (short runs show nothing), and erased when the run ends. On anything but
// a terminal it draws nothing.
type progressBar struct {
	mu      sync.Mutex
	w       io.Writer
	on      bool
	now     func() time.Time
	started time.Time
	last    time.Time
	drawn   bool
}

const (
	progressDelay = 500 * time.Millisecond
	progressEvery = 100 * time.Millisecond
	progressWidth = 30
)

func newProgressBar(w io.Writer, tty bool, now func() time.Time) *progressBar {
	return &progressBar{w: w, on: tty, now: now, started: now()}
}

// update is a simulator.Options.Progress.
func (b *progressBar) update(p simulator.Progress) {
	if !b.on {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	t := b.now()
	if t.Sub(b.started) < progressDelay || (b.drawn && t.Sub(b.last) < progressEvery && p.Done < 1) {
		return
	}
	b.last, b.drawn = t, true
	full := int(p.Done * progressWidth)
	full = min(max(full, 0), progressWidth)
	fmt.Fprintf(b.w, "\r\x1b[K[%s%s] %3.0f%%  %s  %s", strings.Repeat("#", full), strings.Repeat(".", progressWidth-full),
		p.Done*100, p.At.Format("2006-01-02"), p.Variant)
}

// clear erases the bar if it was drawn.
func (b *progressBar) clear() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.drawn {
		fmt.Fprint(b.w, "\r\x1b[K")
		b.drawn = false
	}
}
