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
	"time"
)

// Store writes and finds blobs and signs links.
type Store struct {
	dir       string
	key       []byte
	publicURL string
	// LinkTTL is how long a download link works.
	LinkTTL time.Duration
	// Now is the clock; tests move it to expire links.
	Now func() time.Time
}

// New returns a store keeping blobs under dataDir/files, signing links with key, and
// writing links that start with publicURL (e.g. http://crm.example.com).
func New(dataDir string, key []byte, publicURL string) *Store {
	return &Store{dir: filepath.Join(dataDir, "files"), key: key, publicURL: publicURL, LinkTTL: time.Hour, Now: time.Now}
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

func (s *Store) token(id, expires int64) string {
	m := hmac.New(sha256.New, s.key)
	fmt.Fprintf(m, "%d|%d", id, expires)
	return hex.EncodeToString(m.Sum(nil))
}

// Link is a signed download link of a file that works until LinkTTL from now.
func (s *Store) Link(id int64) string {
	expires := s.Now().Add(s.LinkTTL).Unix()
	return fmt.Sprintf("%s/files/%d?expires=%d&token=%s", s.publicURL, id, expires, s.token(id, expires))
}

// SetPublicURL changes where links point (tests learn their address late).
func (s *Store) SetPublicURL(u string) { s.publicURL = u }

// Verify checks a link's signature and expiry.
func (s *Store) Verify(id int64, expiresParam, token string) bool {
	expires, err := strconv.ParseInt(expiresParam, 10, 64)
	if err != nil || s.Now().Unix() > expires {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(token), []byte(s.token(id, expires))) == 1
}

// Lookup finds a file's name and hash by id.
type Lookup func(ctx context.Context, id int64) (name, hash string, err error)

// Handler serves GET /files/{id}?expires=…&token=…: a signed link that has not expired
// gets the file as an attachment; anything else gets 403 (or 404 for a forgotten file).
func (s *Store) Handler(lookup Lookup) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
		q := r.URL.Query()
		if err != nil || !s.Verify(id, q.Get("expires"), q.Get("token")) {
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
