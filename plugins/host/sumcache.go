package host

import (
	"os"
	"sync"
	"syscall"
)

// sumCache remembers the SHA-256 of plugin binaries by the identity of
// the file: a console asks for the plugins' trust every few seconds, and
// hashing every binary each time (over 100 MB for the built-ins) cost it
// about 17 ms of CPU a second. A file replaced or rewritten in place gets
// a new inode, size, modification or change time (the change time cannot
// be set back by its owner), so its next check hashes it again. The cache
// only speeds up reporting and the choice to launch: go-plugin's
// SecureConfig hashes the binary again when it starts it, so a stale entry
// can refuse a launch, never let an untrusted binary run.
type sumCache struct {
	mu   sync.Mutex
	sums map[string]cachedSum
	hash func(path string) (string, error) // Checksum; tests count calls
}

type cachedSum struct {
	id  fileID
	sum string
}

// fileID is what changes when a file's content may have.
type fileID struct {
	dev, ino     uint64
	size         int64
	mtime, ctime int64 // nanoseconds
}

func identify(path string) (fileID, bool) {
	fi, err := os.Stat(path)
	if err != nil {
		return fileID{}, false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fileID{}, false
	}
	return fileID{
		dev: uint64(st.Dev), ino: st.Ino, size: st.Size,
		mtime: st.Mtim.Nano(), ctime: st.Ctim.Nano(),
	}, true
}

// checksum is Checksum(path), from the cache while the file is the same.
// A nil cache always hashes.
func (c *sumCache) checksum(path string) (string, error) {
	if c == nil {
		return Checksum(path)
	}
	before, ok := identify(path)
	if ok {
		c.mu.Lock()
		e, hit := c.sums[path]
		c.mu.Unlock()
		if hit && e.id == before {
			return e.sum, nil
		}
	}
	hash := c.hash
	if hash == nil {
		hash = Checksum
	}
	sum, err := hash(path)
	if err != nil {
		return "", err
	}
	// Cached only if the file did not change while it was read.
	if after, ok2 := identify(path); ok && ok2 && after == before {
		c.mu.Lock()
		if c.sums == nil {
			c.sums = map[string]cachedSum{}
		}
		c.sums[path] = cachedSum{id: after, sum: sum}
		c.mu.Unlock()
	}
	return sum, nil
}
