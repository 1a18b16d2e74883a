package reports

import (
	"fmt"
	"os"
)

// Prepare makes sure reports can be written under dir before anything runs,
// so a bad directory is a usage error at once rather than a failure after
// the runs: it creates dir if it is missing, and checks that it is a
// directory this process can write to by creating and removing a file.
func Prepare(dir string) error {
	if info, err := os.Stat(dir); err == nil && !info.IsDir() {
		return fmt.Errorf("%s is not a directory; reports need a directory (it is created if missing)", dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("cannot create the reports directory %s: %w", dir, err)
	}
	probe, err := os.CreateTemp(dir, ".writable-")
	if err != nil {
		return fmt.Errorf("cannot write to the reports directory %s: %w", dir, err)
	}
	probe.Close()
	return os.Remove(probe.Name())
}
