package reports

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
)

// LatestLink is the symbolic link in a reports directory to the run
// written last, so that a script or a person finds it without sorting.
const LatestLink = "latest"

// linking serialises replacing the link within a process, whose runs
// finish together.
var linking sync.Mutex

// linkLatest points root/latest at the run directory dir, one of root's.
// The link is relative, so it keeps working when the directory is copied
// or moved, and it is replaced by a rename, so a reader never finds it
// missing.
func linkLatest(root, dir string) error {
	linking.Lock()
	defer linking.Unlock()
	link := filepath.Join(root, LatestLink)
	if st, err := os.Lstat(link); err == nil && st.Mode()&fs.ModeSymlink == 0 {
		return fmt.Errorf("%s is not a link syncsim made; move it away so it can point at the newest run", link)
	}
	tmp := filepath.Join(root, fmt.Sprintf(".latest-%d", os.Getpid()))
	if err := os.Remove(tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := os.Symlink(filepath.Base(dir), tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, link); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}
