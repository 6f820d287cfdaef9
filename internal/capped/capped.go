// Package capped reads files within a size limit, so a configured path that
// points at something huge (or endless, like a device) cannot exhaust memory.
package capped

import (
	"fmt"
	"io"
	"os"
)

// ReadFile reads the file at path, failing once it holds more than limit
// bytes. It reads through a limit rather than trusting the size the file
// system reports, so pipes, devices and growing files are bounded too.
func ReadFile(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s is larger than the %d-byte limit", path, limit)
	}
	return b, nil
}
