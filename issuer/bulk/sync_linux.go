package bulk

import (
	"os"

	"golang.org/x/sys/unix"
)

// syncDir makes every file written under dir durable: one syncfs for all
// the files of a flush, rather than one fsync per file.
func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return unix.Syncfs(int(f.Fd()))
}
