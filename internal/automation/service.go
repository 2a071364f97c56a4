package automation

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"

	"smartcrm/internal/access"
	"smartcrm/internal/crm"
	"smartcrm/internal/jsonx"
	"smartcrm/internal/outbox"
	"smartcrm/internal/store"
	"smartcrm/internal/tasks"
	"smartcrm/internal/timeline"
)

// MaxDepth is how many automated steps may follow one another: a robot that moves an
// item into a stage whose robot moves it back is cut there, with an entry on the
// item's timeline saying so.
const MaxDepth = 10

// Options configure the service.
type Options struct {
	Mailer *Mailer
	// PublicURL is how people reach the server, for {{url}}.
	PublicURL string
	Calendar  Calendar
	// RobotTimeout bounds one webhook call or e-mail (30 s by default); a job that runs
	// far longer belongs to a process that died, and goes back to the queue.
	RobotTimeout time.Duration
	// HTTP is the client of webhook robots (RobotTimeout by default).
	HTTP *http.Client
	Log  *slog.Logger
	// RetryBase is the first retry's delay; each next one doubles, up to an hour.
	RetryBase time.Duration
	// MaxAttempts bounds how often a failing run is tried.
	MaxAttempts int
	// Clock, when set, is the time of scheduling, delays, retries and the job queue:
	// tests move it instead of sleeping.
	Clock func() time.Time
	// PollInterval is how often the queue looks for due jobs without being told.
	PollInterval time.Duration
	// Workers is how many runs work at once.
	Workers int
	// AppAuth is the auth block application robots' handlers get for the application
	// that registered the robot (its domain, endpoints and application_token).
	AppAuth func(ctx context.Context, appID int64) (jsonx.Map, error)
}

// Service runs automation.
type Service struct {
	crm      *crm.Service
	timeline *timeline.Service
	tasks    *tasks.Service
	st       *store.Store
	users    func(ctx context.Context) ([]access.User, error)
	mailer   *Mailer
	http     *http.Client
	log      *slog.Logger
	opts     Options
	river    *river.Client[*sql.Tx]
	triggers *outbox.Reader
	now      func() time.Time
	retry    retryPolicy

	// lib is every funnel's automation, read whole and kept for libraryTTL.
	lib    atomic.Pointer[library]
	libGen atomic.Int64
	mu     sync.Mutex // guards opts.PublicURL
	stop   context.CancelFunc
	done   chan struct{}
}

// RunArgs is the queue job of a run.
type RunArgs struct {
	RunID int64 `json:"runId"`
	// Timeout marks the job that ends a wait robot's waiting.
	Timeout bool `json:"timeout,omitempty"`
}

// Kind implements river.JobArgs.
func (RunArgs) Kind() string { return "automation.run" }

// New builds the service over the domain, registers it with crm's write path (stage
// entries record runs in their transaction) and prepares its queue; Start starts it.
func New(crmSvc *crm.Service, tl *timeline.Service, ts *tasks.Service, users func(ctx context.Context) ([]access.User, error), opts Options) (*Service, error) {
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if opts.RobotTimeout <= 0 {
		opts.RobotTimeout = 30 * time.Second
	}
	if opts.HTTP == nil {
		opts.HTTP = &http.Client{Timeout: opts.RobotTimeout}
	}
	if opts.RetryBase == 0 {
		opts.RetryBase = 5 * time.Second
	}
	if opts.MaxAttempts == 0 {
		opts.MaxAttempts = 10
	}
	if opts.PollInterval == 0 {
		opts.PollInterval = 20 * time.Millisecond
	}
	if opts.Workers == 0 {
		opts.Workers = 32
	}
	if opts.Mailer == nil {
		opts.Mailer, _ = NewMailer("", "")
	}
	now := time.Now
	if opts.Clock != nil {
		now = opts.Clock
	}
	s := &Service{crm: crmSvc, timeline: tl, tasks: ts, st: crmSvc.Store(), users: users, mailer: opts.Mailer,
		http: opts.HTTP, log: opts.Log, opts: opts, now: now,
		retry: retryPolicy{base: opts.RetryBase, now: now}}
	workers := river.NewWorkers()
	river.AddWorker(workers, &runWorker{s: s})
	cfg := &river.Config{
		Queues:            map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: opts.Workers}},
		Workers:           workers,
		MaxAttempts:       opts.MaxAttempts,
		RetryPolicy:       s.retry,
		FetchPollInterval: opts.PollInterval,
		FetchCooldown:     opts.PollInterval / 4,
		Logger:            slog.New(discardLow{opts.Log.Handler()}),
		JobTimeout:        opts.RobotTimeout + 10*time.Second,
		// A job running longer than its timeout allows is one a dead process held.
		RescueStuckJobsAfter: 2 * (opts.RobotTimeout + 10*time.Second),
		// Finished jobs are history our runs keep; the queue keeps them a day.
		CompletedJobRetentionPeriod: 24 * time.Hour,
	}
	if opts.Clock != nil {
		cfg.Test.Time = queueClock{opts.Clock}
	}
	var err error
	if s.st.IsPostgres() {
		s.river, err = river.NewClient(riverdatabasesql.New(s.st.JobDB()), cfg)
	} else {
		s.river, err = river.NewClient(riversqlite.New(s.st.JobDB()), cfg)
	}
	if err != nil {
		return nil, fmt.Errorf("the job queue: %w", err)
	}
	s.triggers = outbox.NewReader("automation.triggers", crmSvc, &triggerReader{s: s}, opts.Log)
	crmSvc.Listen(s)
	return s, nil
}

// SetPublicURL is how people reach the server, for {{url}}.
func (s *Service) SetPublicURL(u string) {
	s.mu.Lock()
	s.opts.PublicURL = u
	s.mu.Unlock()
}

// PublicURL is how people reach the server: the base of the webhook trigger URLs the
// editor shows.
func (s *Service) PublicURL() string { return s.publicURL() }

func (s *Service) publicURL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.opts.PublicURL
}

// Migrate creates or upgrades the job queue's tables (River manages its own schema).
func (s *Service) Migrate(ctx context.Context) error {
	var err error
	if s.st.IsPostgres() {
		m, e := rivermigrate.New(riverdatabasesql.New(s.st.JobDB()), nil)
		if e != nil {
			return e
		}
		_, err = m.Migrate(ctx, rivermigrate.DirectionUp, nil)
	} else {
		m, e := rivermigrate.New(riversqlite.New(s.st.JobDB()), nil)
		if e != nil {
			return e
		}
		_, err = m.Migrate(ctx, rivermigrate.DirectionUp, nil)
	}
	return err
}

// Start starts working runs and reading triggers; Stop ends both.
func (s *Service) Start(ctx context.Context) error {
	if err := s.river.Start(ctx); err != nil {
		return err
	}
	rctx, cancel := context.WithCancel(context.Background())
	s.stop, s.done = cancel, make(chan struct{})
	go func() {
		defer close(s.done)
		s.triggers.Run(rctx, 200*time.Millisecond)
	}()
	return nil
}

// Stop lets running jobs finish (up to ctx) and stops the trigger reader.
func (s *Service) Stop(ctx context.Context) error {
	if s.stop != nil {
		s.stop()
		<-s.done
	}
	return s.river.Stop(ctx)
}

// retryPolicy doubles the delay between attempts, from base up to an hour.
type retryPolicy struct {
	base time.Duration
	now  func() time.Time
}

func (p retryPolicy) NextRetry(job *rivertype.JobRow) time.Time { return p.next(job.Attempt, p.now()) }

// next is when a run that failed its attempt-th attempt at now is tried again.
func (p retryPolicy) next(attempt int, now time.Time) time.Time {
	d := p.base
	for i := 1; i < attempt && d < time.Hour; i++ {
		d *= 2
	}
	return now.Add(min(d, time.Hour))
}

// queueClock gives the job queue the service's clock.
type queueClock struct{ now func() time.Time }

func (c queueClock) Now() time.Time { return c.now() }

func (c queueClock) NowOrNil() *time.Time {
	t := c.now()
	return &t
}

// discardLow keeps the queue's own logging to warnings and errors.
type discardLow struct{ slog.Handler }

func (h discardLow) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelWarn && h.Handler.Enabled(ctx, l)
}

// idempotencyKey is a run's stable key: the item, its entry into the stage (the item's
// version then) and the robot. Webhook calls and e-mails carry it.
func (s *Service) idempotencyKey(r *store.AutomationRun) string {
	return fmt.Sprintf("smartcrm-%d-%d-%d-%s", r.EntityTypeID, r.ItemID, r.EntryVersion, r.RobotID)
}

// user finds a user by id; nil when there is none.
func (s *Service) user(ctx context.Context, id int64) (*access.User, error) {
	list, err := s.users(ctx)
	if err != nil {
		return nil, err
	}
	for i := range list {
		if list[i].ID == id {
			return &list[i], nil
		}
	}
	return nil, nil
}

// supports reports whether a type runs automation: deals and leads always, smart
// processes with isAutomationEnabled.
func supports(t *crm.Type) bool {
	return t.EntityTypeID == 1 || t.EntityTypeID == 2 || (!t.IsStandard() && t.Flag(crm.FlagAutomation))
}
