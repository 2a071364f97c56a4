package files

import (
	"context"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// verifyLink checks a link as the download handler does.
func verifyLink(t *testing.T, s *Store, link string) bool {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	id, err := strconv.ParseInt(strings.TrimPrefix(u.Path, "/files/"), 10, 64)
	if err != nil {
		t.Fatalf("link path %q", u.Path)
	}
	return s.Verify(context.Background(), id, u.Query().Get("expires"), u.Query().Get("token"))
}

// A link signed with the right key but an expiry beyond MaxLinkAge is refused, however
// right its signature; within the cap it works. A store told to sign for longer than
// the cap signs for the cap.
func TestLinkLifetimeCapped(t *testing.T) {
	clk := &clock{t: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	key := []byte("0123456789abcdef0123456789abcdef")
	s := New(t.TempDir(), key, "")
	s.Now = clk.Now
	now := clk.Now().Unix()
	forge := func(expires int64) string {
		return "/files/7?expires=" + strconv.FormatInt(expires, 10) + "&token=" + token(key, 7, expires)
	}
	for _, c := range []struct {
		name    string
		expires int64
		ok      bool
	}{
		{"an hour ahead", now + 3600, true},
		{"exactly the cap ahead", now + int64(MaxLinkAge/time.Second), true},
		{"a second beyond the cap", now + int64(MaxLinkAge/time.Second) + 1, false},
		{"ten years ahead", now + 10*365*86400, false},
		{"a second ago", now - 1, false},
	} {
		if got := verifyLink(t, s, forge(c.expires)); got != c.ok {
			t.Errorf("%s: verified %v, want %v", c.name, got, c.ok)
		}
	}

	s.LinkTTL = 30 * 24 * time.Hour
	link := s.Link(7)
	if !verifyLink(t, s, link) {
		t.Fatalf("a fresh link with a long LinkTTL does not verify: %s", link)
	}
	clk.Advance(MaxLinkAge + time.Second)
	if verifyLink(t, s, link) {
		t.Errorf("a link still verifies after MaxLinkAge: %s", link)
	}
}

// With a key source, a replaced key takes effect within KeyRefresh: links signed with
// the old key stop verifying, links signed afterwards work. A failing source keeps the
// key in use.
func TestKeyReloaded(t *testing.T) {
	clk := &clock{t: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	var mu sync.Mutex
	current, fail, reads := []byte("old-key-old-key-old-key-old-key!"), false, 0
	s := New(t.TempDir(), []byte("boot-key"), "")
	s.Now = clk.Now
	s.ReloadKeyFrom(func(context.Context) ([]byte, error) {
		mu.Lock()
		defer mu.Unlock()
		reads++
		if fail {
			return nil, context.DeadlineExceeded
		}
		return current, nil
	})
	old := s.Link(1)
	for i := 0; i < 100; i++ {
		if !verifyLink(t, s, old) {
			t.Fatalf("a fresh link does not verify")
		}
	}
	if reads != 1 {
		t.Errorf("the key was read %d times within KeyRefresh, want 1", reads)
	}

	mu.Lock()
	current = []byte("new-key-new-key-new-key-new-key!")
	mu.Unlock()
	clk.Advance(KeyRefresh - time.Second)
	if !verifyLink(t, s, old) {
		t.Errorf("the key was read again before KeyRefresh")
	}
	clk.Advance(time.Second)
	if verifyLink(t, s, old) {
		t.Errorf("a link signed with the replaced key still verifies after KeyRefresh")
	}
	if fresh := s.Link(1); !verifyLink(t, s, fresh) {
		t.Errorf("a link signed with the new key does not verify")
	}

	mu.Lock()
	fail = true
	mu.Unlock()
	clk.Advance(KeyRefresh)
	if fresh := s.Link(2); !verifyLink(t, s, fresh) {
		t.Errorf("a failing key source must leave the current key in use")
	}
}
