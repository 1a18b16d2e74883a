package sim

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	wire "github.com/syncsim/syncsim/agent/sink"
)

// Command is an agent given as a command line: each of its incarnations
// runs as an OS process, told where everything is through its environment
// (agent/sink's Env; docs/agent-protocol.md).
type Command struct {
	// Line is the command, split into words by SplitCommand.
	Line string
	// Grace is how long a graceful stop waits after SIGTERM before it
	// sends SIGKILL; default DefaultGrace.
	Grace time.Duration
	// Early is how long a start watches for the process to exit at once;
	// default DefaultEarly.
	Early time.Duration
	// Path is the binary to run for the first word, as Resolve found it;
	// "" looks the word up as each process starts.
	Path string
}

// Resolve sets c.Path to the absolute path of the binary the command's
// first word names, looked up in $PATH unless it holds a slash: a harness
// that later changes its working directory (sim.Init does) runs the same
// binary, and a report can name and hash it.
func (c *Command) Resolve() error {
	words, err := SplitCommand(c.Line)
	if err != nil {
		return err
	}
	path, err := exec.LookPath(words[0])
	if err != nil {
		return fmt.Errorf("agent command %q: %w", c.Line, err)
	}
	if c.Path, err = filepath.Abs(path); err != nil {
		return fmt.Errorf("agent command %q: %w", c.Line, err)
	}
	return nil
}

const (
	DefaultGrace = 5 * time.Second
	DefaultEarly = 300 * time.Millisecond
)

// shellSyntax is what SplitCommand refuses unquoted anywhere in a word,
// and at a word's start: the shell would give it a meaning it does not.
const (
	shellSyntax      = "|&;<>()$`*?["
	shellSyntaxStart = "~#"
)

// SplitCommand splits line into words as a POSIX shell splits a simple
// command, without expanding anything: words are separated by unquoted
// blanks; '…' quotes literally; "…" quotes, where a backslash escapes
// only " \ $ and `; outside quotes a backslash escapes any character. It
// refuses what only a shell could mean (pipes, redirections, variables,
// globs, a leading NAME=value): for that, write sh -c '…'.
func SplitCommand(line string) ([]string, error) {
	s := splitter{line: line}
	for i := 0; i < len(line); i++ {
		var err error
		if i, err = s.take(i); err != nil {
			return nil, err
		}
	}
	s.endWord()
	if len(s.words) == 0 {
		return nil, errors.New("the agent command is empty")
	}
	if name, _, assigns := strings.Cut(s.words[0], "="); assigns && identifier.MatchString(name) {
		return nil, fmt.Errorf("command %q starts with a variable assignment %q; write env %s instead", line, s.words[0], line)
	}
	return s.words, nil
}

// identifier is a shell variable name.
var identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// splitter is SplitCommand's state: the words so far and the one being read.
type splitter struct {
	line   string
	words  []string
	word   strings.Builder
	inWord bool
}

// take reads the byte at i, with what it quotes or escapes, and returns
// the index of the last byte it read.
func (s *splitter) take(i int) (int, error) {
	c := s.line[i]
	switch {
	case c == ' ' || c == '\t' || c == '\n':
		s.endWord()
		return i, nil
	case c == '\'' || c == '"':
		end, err := quoted(s.line, i, &s.word)
		if err != nil {
			return i, err
		}
		i = end
	case c == '\\':
		if i+1 == len(s.line) {
			return i, fmt.Errorf("command %q ends in a backslash", s.line)
		}
		i++
		s.word.WriteByte(s.line[i])
	case strings.IndexByte(shellSyntax, c) >= 0, !s.inWord && strings.IndexByte(shellSyntaxStart, c) >= 0:
		return i, fmt.Errorf("command %q holds shell syntax %q at byte %d; quote it, or run the command through sh -c '…'", s.line, c, i)
	default:
		s.word.WriteByte(c)
	}
	s.inWord = true
	return i, nil
}

func (s *splitter) endWord() {
	if s.inWord {
		s.words, s.inWord = append(s.words, s.word.String()), false
		s.word.Reset()
	}
}

// quoted appends the quoted text starting at line[open] to word and
// returns the index of its closing quote.
func quoted(line string, open int, word *strings.Builder) (int, error) {
	q := line[open]
	for i := open + 1; i < len(line); i++ {
		c := line[i]
		switch {
		case c == q:
			return i, nil
		case q == '"' && c == '\\' && i+1 < len(line) && strings.IndexByte("\"\\$`", line[i+1]) >= 0:
			i++
			word.WriteByte(line[i])
		default:
			word.WriteByte(c)
		}
	}
	return 0, fmt.Errorf("command %q has an unclosed %c quote at byte %d", line, q, open)
}

// osProcess is one agent incarnation running as an OS process, in a
// process group of its own, so every signal reaches the children it
// started too (a shell, say).
type osProcess struct {
	line   string
	grace  time.Duration
	cmd    *exec.Cmd
	stderr *tail
	done   chan struct{} // closed once the process exited and its output was read
	err    error         // what Wait returned, once done

	killed atomic.Bool // stop's grace ran out and it sent SIGKILL
}

// start runs one incarnation with the harness's environment added to the
// harness's own, its stdout and stderr written to log. It fails, naming
// the command, when the command cannot start or exits within c.Early.
func (c Command) start(env wire.Env, log io.Writer) (*osProcess, error) {
	words, err := SplitCommand(c.Line)
	if err != nil {
		return nil, err
	}
	p := &osProcess{line: c.Line, grace: c.Grace, stderr: &tail{}, done: make(chan struct{})}
	if p.grace <= 0 {
		p.grace = DefaultGrace
	}
	if c.Path != "" {
		words[0] = c.Path
	}
	p.cmd = exec.Command(words[0], words[1:]...)
	p.cmd.Env = append(os.Environ(), env.Environ()...)
	p.cmd.Stdout = log
	p.cmd.Stderr = io.MultiWriter(log, p.stderr)
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// A child that outlives the group's kill could hold the output pipes
	// open; Wait gives up on them after this.
	p.cmd.WaitDelay = time.Second
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("agent command %q did not start: %w", c.Line, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	early := c.Early
	if early <= 0 {
		early = DefaultEarly
	}
	select {
	case <-p.done:
		return nil, fmt.Errorf("agent command %q exited at once (%s); an agent must run until it is stopped", c.Line, p.exit())
	case <-time.After(early):
		return p, nil
	}
}

// signal sends sig to the process's group; one that already exited is
// left alone.
func (p *osProcess) signal(sig syscall.Signal) {
	select {
	case <-p.done:
	default:
		syscall.Kill(-p.cmd.Process.Pid, sig)
	}
}

// crash kills the process at once (SIGKILL) and waits for it.
func (p *osProcess) crash() {
	p.signal(syscall.SIGKILL)
	<-p.done
}

// stop sends SIGTERM (and SIGCONT, so a frozen process sees it), waits
// up to the grace, then SIGKILL; killedAfterGrace says if it came to that.
func (p *osProcess) stop() {
	p.signal(syscall.SIGTERM)
	p.signal(syscall.SIGCONT)
	select {
	case <-p.done:
		return
	case <-time.After(p.grace):
	}
	p.killed.Store(true)
	p.crash()
}

// freeze stops the process (SIGSTOP): its timers freeze with it.
func (p *osProcess) freeze() { p.signal(syscall.SIGSTOP) }

// thaw resumes a frozen process (SIGCONT).
func (p *osProcess) thaw() { p.signal(syscall.SIGCONT) }

// exited is closed once the process exited.
func (p *osProcess) exited() <-chan struct{} { return p.done }

// killedAfterGrace reports whether stop had to SIGKILL the process.
func (p *osProcess) killedAfterGrace() bool { return p.killed.Load() }

// exit describes how the process ended, with the last lines of its
// stderr; call it once exited is closed.
func (p *osProcess) exit() string {
	status := "exit status 0"
	if p.err != nil {
		status = p.err.Error()
	}
	if p.killed.Load() {
		status += fmt.Sprintf(", killed after ignoring SIGTERM for %v", p.grace)
	}
	last := p.stderr.lines()
	if len(last) == 0 {
		return status + "; its stderr was empty"
	}
	return status + "; its stderr ends:\n\t" + strings.Join(last, "\n\t")
}

// tailLines is how many of its last stderr lines an error quotes.
const tailLines = 5

// tail keeps the last tailLines lines written to it.
type tail struct {
	mu   sync.Mutex
	last []string
	part []byte // an unfinished line
}

func (t *tail) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.part = append(t.part, b...)
	for {
		i := bytes.IndexByte(t.part, '\n')
		if i < 0 {
			break
		}
		t.push(string(t.part[:i]))
		t.part = t.part[i+1:]
	}
	// A line without end cannot grow without bound.
	if len(t.part) > 4096 {
		t.push(string(t.part))
		t.part = nil
	}
	return len(b), nil
}

func (t *tail) push(line string) {
	t.last = append(t.last, line)
	if len(t.last) > tailLines {
		t.last = t.last[1:]
	}
}

func (t *tail) lines() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := append([]string(nil), t.last...)
	if len(t.part) > 0 {
		out = append(out, string(t.part))
		if len(out) > tailLines {
			out = out[1:]
		}
	}
	return out
}
