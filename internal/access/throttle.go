package access

import (
	"net/netip"
	"sync"
	"time"
)

// Throttle defaults: 20 failed authentications within a minute block an address for a
// minute. Webhook secrets are 16 random characters from 36 (about 82 bits), so the limit
// is not what keeps them safe; it keeps a scanner from costing a database query per guess
// and makes guessing visible (429s in the metrics) long before it could matter. Honest
// clients with a stale secret fail a few times a minute at most.
const (
	DefaultFailureLimit  = 20
	DefaultFailureWindow = time.Minute
	// DefaultMaxAddrs bounds the memory of the throttle: about 100 bytes an address,
	// so a megabyte or so however many addresses a distributed scan comes from.
	DefaultMaxAddrs = 10000
)

// Throttle counts failed authentications per client address. An address that fails
// Limit times within Window is refused, without its credentials being checked, until
// Window has passed since the failure that reached the limit. Successful calls change
// nothing: a caller who owns one valid webhook cannot reset its count by using it
// between guesses.
type Throttle struct {
	limit    int
	window   time.Duration
	maxAddrs int

	mu    sync.Mutex
	now   func() time.Time
	addrs map[string]*failures
}

type failures struct {
	since        time.Time // first failure of the current window
	count        int
	blockedUntil time.Time // zero unless the limit was reached
}

// NewThrottle returns a throttle allowing limit failures per window from one address
// and remembering at most maxAddrs addresses.
func NewThrottle(limit int, window time.Duration, maxAddrs int) *Throttle {
	return &Throttle{limit: limit, window: window, maxAddrs: maxAddrs, now: time.Now, addrs: map[string]*failures{}}
}

// SetClock replaces the clock (tests move it instead of sleeping).
func (t *Throttle) SetClock(now func() time.Time) {
	t.mu.Lock()
	t.now = now
	t.mu.Unlock()
}

// Blocked reports whether addr (a "host:port" or a bare IP) must wait before its
// credentials are checked again, and for how long.
func (t *Throttle) Blocked(addr string) (time.Duration, bool) {
	key := addrKey(addr)
	t.mu.Lock()
	defer t.mu.Unlock()
	f := t.addrs[key]
	if f == nil {
		return 0, false
	}
	if left := f.blockedUntil.Sub(t.now()); left > 0 {
		return left, true
	}
	return 0, false
}

// Failed records a failed authentication from addr.
func (t *Throttle) Failed(addr string) {
	key := addrKey(addr)
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	f := t.addrs[key]
	if f == nil {
		if len(t.addrs) >= t.maxAddrs {
			t.makeRoom(now)
		}
		f = &failures{}
		t.addrs[key] = f
	}
	if f.count == 0 || !now.Before(f.since.Add(t.window)) {
		*f = failures{since: now}
	}
	f.count++
	if f.count >= t.limit && f.blockedUntil.IsZero() {
		f.blockedUntil = now.Add(t.window)
	}
}

// makeRoom forgets addresses whose window and block have passed; when that frees too
// little (a scan from many addresses at once), it forgets a tenth of the rest, chosen
// by map order (which Go randomises), unblocked addresses before blocked ones: a block
// is what the throttle has learnt, a failure or two is not much. Freeing a tenth at a
// time keeps the cost of the full scan to one in maxAddrs/10 failures.
func (t *Throttle) makeRoom(now time.Time) {
	for k, f := range t.addrs {
		if !now.Before(f.since.Add(t.window)) && !now.Before(f.blockedUntil) {
			delete(t.addrs, k)
		}
	}
	if len(t.addrs) < t.maxAddrs {
		return
	}
	drop := max(1, t.maxAddrs/10)
	for _, blocked := range []bool{false, true} {
		for k, f := range t.addrs {
			if drop == 0 {
				return
			}
			if now.Before(f.blockedUntil) == blocked {
				delete(t.addrs, k)
				drop--
			}
		}
	}
}

// addrKey is what failures are counted by: the IP without its port, and for IPv6 the
// /64 network, since one host commonly holds a whole /64 and could otherwise step
// through fresh addresses. Anything unparseable is used as it is.
func addrKey(addr string) string {
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		ap, err := netip.ParseAddrPort(addr)
		if err != nil {
			return addr
		}
		ip = ap.Addr()
	}
	ip = ip.Unmap()
	if ip.Is6() {
		if p, err := ip.Prefix(64); err == nil {
			return p.String()
		}
	}
	return ip.String()
}
