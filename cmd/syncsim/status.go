package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// A status says what a long command is doing. On a terminal it keeps one
// line at the foot of the screen, rewritten every second, and prints other
// lines above it; elsewhere (a CI log, a pipe) it prints that line every
// plainEvery, or never when plainEvery is 0, so a log gets a heartbeat
// rather than a flood of rewrites.
type status struct {
	w        io.Writer
	terminal bool
	// describe says what is under way; it is called with mu held, so it
	// may read whatever do changes.
	describe func() string
	stop     chan struct{}
	stopped  chan struct{}

	mu sync.Mutex
}

// statusWidth bounds the status line so that it never wraps on a common
// terminal: a wrapped line cannot be rewritten in place.
const statusWidth = 110

func startStatus(w io.Writer, plainEvery time.Duration, describe func() string) *status {
	s := &status{w: w, terminal: isTerminal(w), describe: describe, stop: make(chan struct{}), stopped: make(chan struct{})}
	every := plainEvery
	if s.terminal {
		every = time.Second
	}
	go func() {
		defer close(s.stopped)
		if every == 0 {
			<-s.stop
			return
		}
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				s.mu.Lock()
				s.render()
				s.mu.Unlock()
			case <-s.stop:
				return
			}
		}
	}()
	return s
}

// isTerminal reports whether w is a terminal, where a line can be rewritten.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// render shows the status line; s.mu is held.
func (s *status) render() {
	line := s.describe()
	if !s.terminal {
		fmt.Fprintln(s.w, line)
		return
	}
	if r := []rune(line); len(r) > statusWidth {
		line = string(r[:statusWidth-1]) + "…"
	}
	fmt.Fprintf(s.w, "\r\033[K%s", line)
}

// do changes what describe reads, under the status's lock, and on a
// terminal shows the change at once.
func (s *status) do(change func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	change()
	if s.terminal {
		s.render()
	}
}

// println prints a line of its own, keeping the status line below it.
func (s *status) println(line string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.terminal {
		fmt.Fprintln(s.w, line)
		return
	}
	fmt.Fprintf(s.w, "\r\033[K%s\n", line)
	s.render()
}

// finish stops the status and clears its line, leaving the cursor at the
// start of a fresh line for what the command prints next.
func (s *status) finish() {
	close(s.stop)
	<-s.stopped
	if s.terminal {
		fmt.Fprint(s.w, "\r\033[K")
	}
}

// Write prints p above the status line, a line at a time, so that code
// which prints to a writer can print while a status is shown.
func (s *status) Write(p []byte) (int, error) {
	for line := range strings.Lines(string(p)) {
		s.println(strings.TrimSuffix(line, "\n"))
	}
	return len(p), nil
}
