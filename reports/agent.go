package reports

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
)

// Agent is the agent a run ran, as its report names it and replay reruns it.
type Agent struct {
	// Name says what ran: "reference", "mutant NAME", "system" (a Go
	// function, sim.System), or "command LINE".
	Name string `json:"name"`
	// Command is the command line of an agent run as a process, with the
	// binary its first word resolved to.
	Command *Command `json:"command,omitempty"`
	// Declared is what the agent declared of itself (sim.Declared), for
	// a replay to declare the same.
	Declared json.RawMessage `json:"declared,omitempty"`
}

// Command is an agent command line and its binary, by path and hash.
type Command struct {
	Line   string `json:"line"`
	Binary string `json:"binary"`
	SHA256 string `json:"sha256"`
}

// String is how an index or a page names the agent.
func (a Agent) String() string {
	if a.Command != nil {
		return fmt.Sprintf("%s (sha256 %.12s)", a.Name, a.Command.SHA256)
	}
	return a.Name
}

// NewCommand describes line, whose first word resolved to binary, hashing
// the binary.
func NewCommand(line, binary string) (*Command, error) {
	sum, err := fileHash(binary)
	if err != nil {
		return nil, fmt.Errorf("hash the agent's binary: %w", err)
	}
	return &Command{Line: line, Binary: binary, SHA256: sum}, nil
}

// Unchanged fails, saying why, unless the command's binary is still the
// one that ran: the same path, the same content.
func (c Command) Unchanged() error {
	sum, err := fileHash(c.Binary)
	switch {
	case err != nil:
		return fmt.Errorf("the agent command %q cannot run again: its binary %s is gone (%v)", c.Line, c.Binary, err)
	case sum != c.SHA256:
		return fmt.Errorf("the agent command %q cannot run again as it ran: its binary %s changed (sha256 %.12s then, %.12s now); rebuild it from the same source, or replay with --agent to run the new one", c.Line, c.Binary, c.SHA256, sum)
	}
	return nil
}

func fileHash(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// agentOf names the agent of a report: its summary's, or, in a report
// written before summaries named it, its mutant or the reference.
func agentOf(s Summary) string {
	switch {
	case s.Agent != nil:
		return s.Agent.String()
	case s.Mutant != "":
		return "mutant " + s.Mutant
	}
	return "reference"
}
