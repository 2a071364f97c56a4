package events

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"smartcrm/internal/access"
	"smartcrm/internal/crm"
	"smartcrm/internal/outbox"
	"smartcrm/internal/store"
)

// Options configure event delivery.
type Options struct {
	Log *slog.Logger
	// Timeout bounds one delivery (10 s by default).
	Timeout time.Duration
	// HTTP is the client deliveries go through (Timeout by default).
	HTTP *http.Client
	// RetryBase is the wait after a first failed attempt (2 s); each next one doubles,
	// up to MaxRetryDelay (10 min), until GiveUpAfter (24 h) from the event.
	RetryBase, MaxRetryDelay, GiveUpAfter time.Duration
	// PerHandler is how many deliveries to one handler are under way at once (32): a
	// slow handler holds its own, never another's.
	PerHandler int
	// Retention is how long finished deliveries stay visible (1 h).
	Retention time.Duration
	// OutboxKeep is how long outbox rows stay after every reader is past them (10 min):
	// the web UI's live updates read the outbox too, from memory.
	OutboxKeep time.Duration
	// Poll is how often the lease is renewed and the outbox looked at without being
	// told (200 ms).
	Poll time.Duration
	// Clock, when set, is the time of retries and give-ups: tests move it.
	Clock func() time.Time
}

// Service keeps subscriptions and delivers events.
type Service struct {
	crm  *crm.Service
	st   *store.Store
	opts Options
	log  *slog.Logger
	now  func() time.Time

	mu        sync.Mutex
	publicURL string
	memberID  string
	tokens    map[int64]string // application tokens by app (webhook) id
	authTexts map[int64]string // auth blocks as form text, by app id
	// lastNotices is when the latest ONOFFLINEEVENT of each handler is due (unix ms):
	// its minTimeout counts from there. A restart forgets it, costing at most one
	// early notice.
	lastNotices map[int64]int64

	subs    atomic.Pointer[subscriptions]
	subsGen atomic.Int64

	reader *outbox.Reader
	d      *dispatcher
	owner  string

	stop context.CancelFunc
	done chan struct{}
}

// ReaderName is the events' cursor in the outbox.
const ReaderName = "events.delivery"

const leaseName = "events.delivery"

// New builds the service; Start starts delivering.
func New(ctx context.Context, svc *crm.Service, publicURL string, opts Options) (*Service, error) {
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	if opts.HTTP == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = 64
		opts.HTTP = &http.Client{Timeout: opts.Timeout, Transport: tr}
	}
	if opts.RetryBase <= 0 {
		opts.RetryBase = 2 * time.Second
	}
	if opts.MaxRetryDelay <= 0 {
		opts.MaxRetryDelay = 10 * time.Minute
	}
	if opts.GiveUpAfter <= 0 {
		opts.GiveUpAfter = 24 * time.Hour
	}
	if opts.PerHandler <= 0 {
		opts.PerHandler = 32
	}
	if opts.Retention <= 0 {
		opts.Retention = time.Hour
	}
	if opts.OutboxKeep <= 0 {
		opts.OutboxKeep = 10 * time.Minute
	}
	if opts.Poll <= 0 {
		opts.Poll = 200 * time.Millisecond
	}
	now := time.Now
	if opts.Clock != nil {
		now = opts.Clock
	}
	st := svc.Store()
	if err := access.GiveApplicationTokens(ctx, st); err != nil {
		return nil, fmt.Errorf("giving webhooks their application tokens: %w", err)
	}
	member, err := st.Setting(ctx, "member_id", func() (string, error) { return randomHex(16) })
	if err != nil {
		return nil, err
	}
	owner, err := randomHex(8)
	if err != nil {
		return nil, err
	}
	s := &Service{crm: svc, st: st, opts: opts, log: opts.Log, now: now, publicURL: strings.TrimSuffix(publicURL, "/"),
		memberID: member, tokens: map[int64]string{}, authTexts: map[int64]string{}, owner: owner}
	s.d = newDispatcher(s)
	s.reader = outbox.NewReader(ReaderName, svc, &fanout{s: s}, opts.Log)
	return s, nil
}

func randomHex(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// SetPublicURL is how handlers reach the server: auth[client_endpoint] and
// auth[domain] of every event.
func (s *Service) SetPublicURL(u string) {
	s.mu.Lock()
	s.publicURL = strings.TrimSuffix(u, "/")
	s.authTexts = map[int64]string{}
	s.mu.Unlock()
}

// Auth is the auth block of an event or robot call for an application: the portal's
// address and the application's token (webhook applications get no OAuth tokens, like
// Bitrix24's outgoing-webhook subscriptions).
func (s *Service) Auth(ctx context.Context, appID int64) (domain, endpoint, memberID, appToken string, err error) {
	s.mu.Lock()
	base := s.publicURL
	token, known := s.tokens[appID]
	s.mu.Unlock()
	if !known {
		token, err = s.st.ApplicationToken(ctx, appID)
		if errors.Is(err, store.ErrNotFound) {
			token, err = "", nil // the webhook is gone; its subscriptions go with it
		}
		if err != nil {
			return "", "", "", "", err
		}
		s.mu.Lock()
		s.tokens[appID] = token
		s.mu.Unlock()
	}
	domain = base
	if u, err := url.Parse(base); err == nil && u.Host != "" {
		domain = u.Host
		if h, _, err := net.SplitHostPort(u.Host); err == nil && (u.Port() == "80" || u.Port() == "443") {
			domain = h
		}
	}
	return domain, base + "/rest/", s.memberID, token, nil
}

// Start starts delivering: the process that holds the delivery lease reads the outbox
// and sends; the others wait to take over.
func (s *Service) Start(ctx context.Context) error {
	rctx, cancel := context.WithCancel(context.Background())
	s.stop, s.done = cancel, make(chan struct{})
	go func() {
		defer close(s.done)
		s.lead(rctx)
	}()
	return nil
}

// Stop ends delivery; deliveries under way finish (up to ctx) and are recorded.
func (s *Service) Stop(ctx context.Context) error {
	if s.stop == nil {
		return nil
	}
	s.stop()
	select {
	case <-s.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	return nil
}

// Wake makes the reader look at the outbox now (tests, after a change elsewhere).
func (s *Service) Wake() { s.reader.Wake() }

// leaseFor is how long a lease lasts without renewal.
func (s *Service) leaseFor() time.Duration { return 30 * s.opts.Poll }

// lead takes the delivery lease and, while it holds it, reads the outbox, delivers and
// trims; it renews the lease every poll.
func (s *Service) lead(ctx context.Context) {
	t := time.NewTicker(s.opts.Poll)
	defer t.Stop()
	var stopWork context.CancelFunc
	var workDone chan struct{}
	lastTrim := time.Time{}
	stopWorking := func() {
		if stopWork != nil {
			stopWork()
			<-workDone
			stopWork = nil
		}
	}
	defer func() {
		stopWorking()
		rctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = s.st.InTx(rctx, func(tx *store.Tx) error { return tx.ReleaseLease(rctx, leaseName, s.owner) })
		cancel()
	}()
	for {
		held, err := s.takeLease(ctx)
		if err != nil && ctx.Err() == nil {
			s.log.Warn("events: renewing the delivery lease", "err", err)
		}
		switch {
		case held && stopWork == nil:
			wctx, cancel := context.WithCancel(ctx)
			stopWork, workDone = cancel, make(chan struct{})
			go func() {
				defer close(workDone)
				s.work(wctx)
			}()
		case !held && err == nil && stopWork != nil:
			s.log.Warn("events: another process took over delivery")
			stopWorking()
		}
		if held && time.Since(lastTrim) > time.Minute {
			lastTrim = time.Now()
			if err := s.trim(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("events: trimming", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (s *Service) takeLease(ctx context.Context) (bool, error) {
	var held bool
	now := time.Now()
	err := s.st.InTx(ctx, func(tx *store.Tx) error {
		var err error
		held, err = tx.TakeLease(ctx, leaseName, s.owner, now.UnixMilli(), now.Add(s.leaseFor()).UnixMilli())
		return err
	})
	return held, err
}

// work delivers while ctx lasts: what is pending from before, then what the outbox
// brings.
func (s *Service) work(ctx context.Context) {
	if err := s.d.start(ctx); err != nil {
		if ctx.Err() == nil {
			s.log.Error("events: loading pending deliveries", "err", err)
		}
		return
	}
	defer s.d.stop()
	s.reader.Run(ctx, s.opts.Poll)
}

// trim deletes finished deliveries past their retention, offline reservations past 30
// days, and outbox rows every reader has passed.
func (s *Service) trim(ctx context.Context) error {
	now := s.now()
	for {
		var n int64
		err := s.st.InTx(ctx, func(tx *store.Tx) error {
			var err error
			n, err = tx.TrimDeliveries(ctx, now.Add(-s.opts.Retention).UnixMilli(), 5000)
			return err
		})
		if err != nil {
			return err
		}
		if n == 0 { // each round looks at the first rows only
			break
		}
	}
	if err := s.st.InTx(ctx, func(tx *store.Tx) error {
		return tx.ExpireOfflineReservations(ctx, now.Add(-30*24*time.Hour).UnixMilli())
	}); err != nil {
		return err
	}
	return outbox.Trim(ctx, s.st, time.Now().Add(-s.opts.OutboxKeep))
}

// lastNotice is when a handler's latest ONOFFLINEEVENT is (or was) due, 0 for none.
func (s *Service) lastNotice(handlerID int64) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastNotices[handlerID]
}

// noticed records ONOFFLINEEVENT deliveries that committed.
func (s *Service) noticed(list []*store.EventDelivery) {
	if len(list) == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lastNotices == nil {
		s.lastNotices = map[int64]int64{}
	}
	for _, d := range list {
		s.lastNotices[d.HandlerID] = d.NextMS
	}
}
