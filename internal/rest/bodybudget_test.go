package rest

import (
	"context"
	"errors"
	"testing"
	"time"
)

// waitFor polls cond until it holds, failing the test after a deadline.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestBodyBudget(t *testing.T) {
	ctx := context.Background()
	b := newBodyBudget(100, time.Hour)
	relA, err := b.acquire(ctx, 60)
	if err != nil {
		t.Fatal(err)
	}
	// A reservation that does not fit waits…
	done := make(chan error, 1)
	var relBig func()
	go func() {
		var err error
		relBig, err = b.acquire(ctx, 50)
		done <- err
	}()
	waitFor(t, "the large reservation to wait", func() bool { _, w := b.state(); return w == 1 })
	// …while a smaller one that fits goes ahead.
	relSmall, err := b.acquire(ctx, 30)
	if err != nil {
		t.Fatal(err)
	}
	if used, waiting := b.state(); used != 90 || waiting != 1 {
		t.Fatalf("state %d %d", used, waiting)
	}
	relA()
	relA() // releasing twice releases once
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the waiting reservation was not woken by a release")
	}
	if used, waiting := b.state(); used != 80 || waiting != 0 {
		t.Fatalf("state after the release: %d %d", used, waiting)
	}
	relSmall()
	relBig()

	// A body larger than the whole budget reserves all of it and can run alone.
	relAll, err := b.acquire(ctx, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if used, _ := b.state(); used != 100 {
		t.Fatalf("clamped reservation: %d", used)
	}
	// Nothing more fits: a cancelled request stops waiting…
	cctx, cancel := context.WithCancel(ctx)
	go func() {
		waitFor(t, "the cancelled reservation to wait", func() bool { _, w := b.state(); return w == 1 })
		cancel()
	}()
	if _, err := b.acquire(cctx, 1); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled wait: %v", err)
	}
	// …and one that waits too long is refused.
	b.wait = 10 * time.Millisecond
	if _, err := b.acquire(ctx, 1); !errors.Is(err, errBodyMemoryWait) {
		t.Fatalf("wait past the timeout: %v", err)
	}
	if used, waiting := b.state(); used != 100 || waiting != 0 {
		t.Fatalf("state after refusals: %d %d", used, waiting)
	}
	relAll()
	if used, _ := b.state(); used != 0 {
		t.Fatalf("all released: %d", used)
	}
}
