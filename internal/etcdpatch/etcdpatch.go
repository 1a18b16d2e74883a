// Package etcdpatch prepares the one change to etcd that the simulated
// clock needs, from the module cache, without a copy of etcd in this
// repository.
//
// Inside a testing/synctest bubble every connection must be in memory: a
// goroutine waiting on a real socket is never durably blocked, so the
// bubble's clock never moves. etcd members dial their peers (raft's
// streams and pipeline, and a follower forwarding a lease renewal to the
// leader) through go.etcd.io/etcd/client/pkg/v3/transport.NewTransport,
// which builds its own net.Dialer; nothing in ServerConfig, TLSInfo or the
// integration framework reaches it. Prepare copies that module out of the
// module cache, adds a DialHook variable that NewTransport uses when set
// (one added line and one added file), and writes a go.work that replaces
// the module with the copy. Builds with GOWORK set to that file and the
// simclock build tag get the simulated clock; every other build uses etcd
// as released.
//
// The upstream change that would remove this: a
// `DialContext func(ctx context.Context, network, addr string) (net.Conn, error)`
// field on transport.TLSInfo, used by NewTransport for tcp and unix peers
// (ServerConfig.PeerTLSInfo already carries a TLSInfo to every peer dial).
package etcdpatch

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
)

// Module and Version name what is patched; the version must be the one
// go.mod requires.
const (
	Module  = "go.etcd.io/etcd/client/pkg/v3"
	Version = "v3.7.3"
)

// The change: a file added to package transport, and one line inserted in
// NewTransport just before it returns its transports.
var (
	//go:embed dialhook.go.txt
	hookFile []byte

	anchor   = "\tut := &unixTransport{tu}\n"
	inserted = "\tuseDialHook(t, tu)\n"
)

const (
	patchedFile = "transport/transport.go"
	addedFile   = "transport/syncsim_dialhook.go"
	workName    = "go.work"
	copyName    = "client-pkg" // the patched copy, next to go.work
	stampName   = "stamp"      // what the copy was made from
)

// Prepare writes the patched module and a go.work under dir (made if
// needed) and returns the go.work's path. root is syncsim's module root,
// which the workspace uses. It does nothing if dir already holds what this
// version of the patch makes.
func Prepare(root, dir string) (string, error) {
	root, err := filepath.Abs(root)
	if err != nil {
		return "", err
	}
	dir, err = filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	src, err := moduleDir(root)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	// Two syncsims preparing at once (make soak's shards) take turns.
	lock, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return "", err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return "", fmt.Errorf("lock %s: %w", lock.Name(), err)
	}
	work := filepath.Join(dir, workName)
	stamp := stampOf(src, root)
	if old, err := os.ReadFile(filepath.Join(dir, stampName)); err == nil && string(old) == stamp {
		if _, err := os.Stat(work); err == nil {
			return work, nil
		}
	}
	dst := filepath.Join(dir, copyName)
	if err := os.RemoveAll(dst); err != nil {
		return "", err
	}
	if err := copyTree(src, dst); err != nil {
		return "", fmt.Errorf("copy %s@%s: %w", Module, Version, err)
	}
	if err := apply(dst); err != nil {
		return "", err
	}
	rel, err := filepath.Rel(dir, root)
	if err != nil {
		return "", err
	}
	goVersion, err := goDirective(root)
	if err != nil {
		return "", err
	}
	text := fmt.Sprintf("// Written by syncsim's internal/etcdpatch: etcd with a peer dial hook, for the simulated clock.\ngo %s\n\nuse %s\n\nreplace %s %s => ./%s\n",
		goVersion, filepath.ToSlash(rel), Module, Version, copyName)
	if err := os.WriteFile(work, []byte(text), 0o644); err != nil {
		return "", err
	}
	return work, os.WriteFile(filepath.Join(dir, stampName), []byte(stamp), 0o644)
}

// apply makes the change in the copy at dir, refusing a source it does not
// recognise rather than patching the wrong place.
func apply(dir string) error {
	path := filepath.Join(dir, patchedFile)
	src, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if n := bytes.Count(src, []byte(anchor)); n != 1 {
		return fmt.Errorf("%s@%s %s: found the line %q %d times, want once: the patch fits %s only",
			Module, Version, patchedFile, strings.TrimSpace(anchor), n, Version)
	}
	src = bytes.Replace(src, []byte(anchor), []byte(inserted+anchor), 1)
	if err := os.WriteFile(path, src, 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, addedFile), hookFile, 0o644)
}

// moduleDir is the module cache's copy of Module, downloaded if needed.
func moduleDir(root string) (string, error) {
	cmd := exec.Command("go", "mod", "download", "-json", Module+"@"+Version)
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go mod download %s@%s: %v: %s", Module, Version, err, strings.TrimSpace(stderr.String()))
	}
	var m struct{ Dir, Error string }
	if err := json.Unmarshal(out, &m); err != nil {
		return "", fmt.Errorf("go mod download %s@%s: %w", Module, Version, err)
	}
	if m.Error != "" || m.Dir == "" {
		return "", fmt.Errorf("go mod download %s@%s: %s", Module, Version, m.Error)
	}
	return m.Dir, nil
}

// goDirective is the go version root's go.mod declares.
func goDirective(root string) (string, error) {
	mod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		return "", err
	}
	for line := range strings.Lines(string(mod)) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "go "); ok {
			return v, nil
		}
	}
	return "", fmt.Errorf("%s: no go directive", filepath.Join(root, "go.mod"))
}

// stampOf names what a prepared copy was made from: the source module, the
// workspace root and the patch itself.
func stampOf(src, root string) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%s\n%s\n%s\n", src, root, anchor, inserted)
	h.Write(hookFile)
	return hex.EncodeToString(h.Sum(nil))
}

// copyTree copies the regular files under src to dst, writable (the module
// cache's are read-only).
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
}
