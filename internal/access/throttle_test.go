package access

import (
	"fmt"
	"testing"
	"time"
)

type testClock struct{ t time.Time }

func (c *testClock) now() time.Time { return c.t }

// A scan from more addresses than the throttle remembers keeps its memory bounded; an
// address whose block is over goes first, one that is blocked stays longest.
func TestThrottleMemoryBounded(t *testing.T) {
	clk := &testClock{t: time.Unix(1_900_000_000, 0)}
	th := NewThrottle(3, time.Minute, 100)
	th.SetClock(clk.now)
	for i := 0; i < 3; i++ {
		th.Failed("198.51.100.1:1")
	}
	clk.t = clk.t.Add(2 * time.Minute) // the first block is over: its entry can go
	for i := 0; i < 3; i++ {
		th.Failed("198.51.100.2:1")
	}
	for i := 0; i < 10_000; i++ {
		th.Failed(fmt.Sprintf("10.%d.%d.%d:80", i>>16, (i>>8)&255, i&255))
		if n := len(th.addrs); n > 100 {
			t.Fatalf("%d addresses remembered, the bound is 100", n)
		}
	}
	if _, blocked := th.Blocked("198.51.100.1:5"); blocked {
		t.Errorf("an address whose block ended is still blocked")
	}
	if _, blocked := th.Blocked("198.51.100.2:5"); !blocked {
		t.Errorf("a blocked address was forgotten before addresses that failed once")
	}
}

// Failures count per IP whatever the port, per /64 for IPv6; the window starts again
// once it has passed without reaching the limit.
func TestThrottleKeysAndWindow(t *testing.T) {
	clk := &testClock{t: time.Unix(1_900_000_000, 0)}
	th := NewThrottle(3, time.Minute, 100)
	th.SetClock(clk.now)
	th.Failed("[2001:db8:1:2::1]:1000")
	th.Failed("[2001:db8:1:2:ffff::9]:2000")
	clk.t = clk.t.Add(59 * time.Second)
	th.Failed("2001:db8:1:2::77")
	if _, blocked := th.Blocked("[2001:db8:1:2::5]:1"); !blocked {
		t.Errorf("three failures from one /64 within a minute must block it")
	}
	if _, blocked := th.Blocked("[2001:db8:1:3::1]:1"); blocked {
		t.Errorf("the next /64 is someone else")
	}

	th.Failed("192.0.2.1:1")
	th.Failed("192.0.2.1:2")
	clk.t = clk.t.Add(time.Minute) // the window of those two has passed
	th.Failed("192.0.2.1:3")
	if _, blocked := th.Blocked("192.0.2.1:4"); blocked {
		t.Errorf("failures of an old window were counted with the new one")
	}
	th.Failed("192.0.2.1:3")
	th.Failed("192.0.2.1:3")
	if wait, blocked := th.Blocked("192.0.2.1:4"); !blocked || wait != time.Minute {
		t.Errorf("three failures in the new window: blocked %v for %s, want a minute", blocked, wait)
	}
	if _, blocked := th.Blocked("::ffff:192.0.2.1"); !blocked {
		t.Errorf("an IPv4-mapped IPv6 address is the IPv4 address")
	}
}
