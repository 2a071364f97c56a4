//go:build unix

package app

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
)

// lockQueue takes the lock of a SQLite database's job queue: a file beside the
// database, locked for as long as this process runs (the system releases it when the
// process dies, however it dies). A second server on the same database is refused.
func lockQueue(dbPath string) (release func(), err error) {
	dbPath = strings.TrimPrefix(dbPath, "file:")
	if i := strings.IndexByte(dbPath, '?'); i >= 0 {
		dbPath = dbPath[:i]
	}
	path := dbPath + ".queue-lock"
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("the job queue's lock %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("another smartcrm server works this database (%s is locked)", path)
		}
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	return func() { f.Close() }, nil
}
