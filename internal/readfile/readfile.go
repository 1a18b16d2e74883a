// Package readfile reads the files a user points syncsim at without trusting
// them: only regular files, and only up to a size limit, so that a FIFO
// cannot hang a command and /dev/zero cannot exhaust its memory.
package readfile

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// Limits on the files syncsim reads.
const (
	// MaxScenario is a scenario file's: the largest scenario the format
	// allows is a fraction of it.
	MaxScenario = 16 << 20
	// MaxSummary is a report's summary.json's: it lists a few violations
	// per property and counts the rest.
	MaxSummary = 16 << 20
	// MaxHistory is a history file's: a 100,000-operation history is about
	// 25 MB, so this leaves ten times that.
	MaxHistory = 256 << 20
)

// Regular reads the regular file at path, which must hold at most limit
// bytes. Anything else (a directory, a FIFO, a device, a socket) is refused
// with an error naming what it is, before it is read.
func Regular(path string, limit int64) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if err := check(path, st, limit); err != nil {
		return nil, err
	}
	// O_NONBLOCK: if a FIFO took the file's place since the Stat, opening
	// it must not wait for a writer; the Stat of what was opened refuses it.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st, err = f.Stat(); err != nil {
		return nil, err
	}
	if err := check(path, st, limit); err != nil {
		return nil, err
	}
	// The file may grow while it is read: never read more than the limit.
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, tooLarge(path, int64(len(data)), limit)
	}
	return data, nil
}

// check refuses what is not a regular file of at most limit bytes.
func check(path string, st fs.FileInfo, limit int64) error {
	if !st.Mode().IsRegular() {
		return fmt.Errorf("%s is %s, not a regular file", path, describe(st.Mode()))
	}
	if st.Size() > limit {
		return tooLarge(path, st.Size(), limit)
	}
	return nil
}

func tooLarge(path string, size, limit int64) error {
	return fmt.Errorf("%s is larger than the limit for this file, %s (it has at least %s)", path, Size(limit), Size(size))
}

// describe names the kind of file a mode is.
func describe(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a device"
	case m&fs.ModeSocket != 0:
		return "a socket"
	}
	return "a special file (mode " + m.String() + ")"
}

// Size formats a byte count for people: "16 MB" for 16 << 20.
func Size(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MB", n>>20)
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%d KB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
