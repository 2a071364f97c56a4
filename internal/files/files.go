// Package files keeps uploaded files: content-addressed blobs under the data directory
// (named by their SHA-256, never by what a client called them) and signed, expiring
// download links.
package files

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

// MaxLinkAge caps how long any download link works, whatever its `expires` says: a link
// verifies only while its expiry is at most MaxLinkAge away. So no link, not even one
// signed with a leaked key and an expiry years ahead, opens a file for longer than
// MaxLinkAge in all; clients that keep links longer (an e-mail, a cached card) ask
// again, as they must anyway after LinkTTL.
const MaxLinkAge = 24 * time.Hour

// KeyRefresh is how often the signing key is read again from its source, so that a key
// replaced by `smartcrm keys rotate` (another process) takes effect in a running server
// within this time.
const KeyRefresh = 5 * time.Second

// KeySource reads the current link signing key (the database's).
type KeySource func(ctx context.Context) ([]byte, error)

// Store writes and finds blobs and signs links.
type Store struct {
	dir       string
	publicURL string
	// LinkTTL is how long a download link works (at most MaxLinkAge).
	LinkTTL time.Duration
	// Now is the clock; tests move it to expire links.
	Now func() time.Time

	mu      sync.Mutex
	key     []byte
	source  KeySource // nil: the key never changes
	checked time.Time // when source was last asked
}

// New returns a store keeping blobs under dataDir/files, signing links with key, and
// writing links that start with publicURL (e.g. http://crm.example.com).
func New(dataDir string, key []byte, publicURL string) *Store {
	return &Store{dir: filepath.Join(dataDir, "files"), key: key, publicURL: publicURL, LinkTTL: time.Hour, Now: time.Now}
}

// ReloadKeyFrom makes the store read its signing key from source again whenever it is
// older than KeyRefresh at the time of use. The key is checked by age rather than
// re-read on a signature miss: a link signed with a key that was since replaced does
// not miss (it matches the stale key), so a miss-driven reload would never revoke it.
// The cost is one small query per KeyRefresh while links are signed or verified.
func (s *Store) ReloadKeyFrom(source KeySource) {
	s.mu.Lock()
	s.source, s.checked = source, time.Time{} // due at first use, whatever the clock
	s.mu.Unlock()
}

// currentKey returns the signing key, first reading it again when it is due. One caller
// reads it; the others go on with the key they have meanwhile. If the source fails, the
// old key stays in use and the source is asked again after KeyRefresh.
func (s *Store) currentKey(ctx context.Context) []byte {
	s.mu.Lock()
	key, source := s.key, s.source
	now := s.Now()
	due := source != nil && !now.Before(s.checked.Add(KeyRefresh))
	if due {
		s.checked = now
	}
	s.mu.Unlock()
	if !due {
		return key
	}
	fresh, err := source(ctx)
	if err != nil || len(fresh) == 0 {
		return key
	}
	s.mu.Lock()
	s.key = fresh
	s.mu.Unlock()
	return fresh
}

// Save writes data once (the same content is stored once) and returns its hash.
func (s *Store) Save(data []byte) (string, error) {
	sum := sha256.Sum256(data)
	hash := hex.EncodeToString(sum[:])
	path := s.Path(hash)
	if _, err := os.Stat(path); err == nil {
		// Mark it fresh: Sweep spares recent blobs, and a transaction is about to use it.
		now := time.Now()
		return hash, os.Chtimes(path, now, now)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", err
	}
	// Write to a temporary name and rename: a crash never leaves half a file under
	// a name that claims a hash.
	tmp, err := os.CreateTemp(filepath.Dir(path), ".upload-*")
	if err != nil {
		return "", err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return "", err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return "", err
	}
	return hash, os.Rename(tmp.Name(), path)
}

// Path is where a blob lives.
func (s *Store) Path(hash string) string {
	return filepath.Join(s.dir, hash[:2], hash[2:4], hash)
}

func token(key []byte, id, expires int64) string {
	m := hmac.New(sha256.New, key)
	fmt.Fprintf(m, "%d|%d", id, expires)
	return hex.EncodeToString(m.Sum(nil))
}

// Link is a signed download link of a file that works until LinkTTL from now.
func (s *Store) Link(id int64) string {
	// Link has no caller's context (the domain renders links while shaping answers);
	// the key is read again at most every KeyRefresh, and briefly.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	key := s.currentKey(ctx)
	expires := s.Now().Add(min(s.LinkTTL, MaxLinkAge)).Unix()
	return fmt.Sprintf("%s/files/%d?expires=%d&token=%s", s.publicURL, id, expires, token(key, id, expires))
}

// SetPublicURL changes where links point (tests learn their address late).
func (s *Store) SetPublicURL(u string) { s.publicURL = u }

// Verify checks a link's signature with the current key, its expiry, and that the
// expiry is no further than MaxLinkAge away.
func (s *Store) Verify(ctx context.Context, id int64, expiresParam, tok string) bool {
	expires, err := strconv.ParseInt(expiresParam, 10, 64)
	now := s.Now().Unix()
	if err != nil || now > expires || expires-now > int64(MaxLinkAge/time.Second) {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(tok), []byte(token(s.currentKey(ctx), id, expires))) == 1
}

// Lookup finds a file's name and hash by id.
type Lookup func(ctx context.Context, id int64) (name, hash string, err error)

// Handler serves GET /files/{id}?expires=…&token=…: a signed link that has not expired
// gets the file as an attachment; anything else gets 403 (or 404 for a forgotten file).
func (s *Store) Handler(lookup Lookup) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
		q := r.URL.Query()
		if err != nil || !s.Verify(r.Context(), id, q.Get("expires"), q.Get("token")) {
			http.Error(w, "the download link is invalid or has expired", http.StatusForbidden)
			return
		}
		name, hash, err := lookup(r.Context(), id)
		if err != nil {
			http.Error(w, "no such file", http.StatusNotFound)
			return
		}
		f, err := os.Open(s.Path(hash))
		if err != nil {
			http.Error(w, "the file's content is missing", http.StatusNotFound)
			return
		}
		defer f.Close()
		w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
		w.Header().Set("X-Content-Type-Options", "nosniff")
		ctype := mime.TypeByExtension(filepath.Ext(name))
		if ctype == "" {
			ctype = "application/octet-stream"
		}
		w.Header().Set("Content-Type", ctype)
		http.ServeContent(w, r, "", time.Time{}, f)
	})
}

// Sweep deletes blobs that no record uses and that are older than minAge. Blobs are
// written before their record's transaction commits, so minAge must comfortably exceed
// any transaction; Save refreshes a reused blob's time for the same reason. It returns
// how many blobs it removed.
func (s *Store) Sweep(used map[string]bool, minAge time.Duration) (int, error) {
	removed := 0
	cutoff := time.Now().Add(-minAge)
	err := filepath.WalkDir(s.dir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) {
				return nil
			}
			return err
		}
		if d.IsDir() || used[d.Name()] || len(d.Name()) != 64 {
			return nil // not a blob (temporary uploads have other names) or still in use
		}
		info, err := d.Info()
		if err != nil || info.ModTime().After(cutoff) {
			return nil
		}
		if err := os.Remove(path); err == nil {
			removed++
		}
		return nil
	})
	return removed, err
}
