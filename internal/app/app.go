package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"smartcrm/internal/access"
	"smartcrm/internal/activity"
	"smartcrm/internal/automation"
	"smartcrm/internal/cardlayout"
	"smartcrm/internal/crm"
	"smartcrm/internal/currency"
	"smartcrm/internal/customfield"
	"smartcrm/internal/events"
	"smartcrm/internal/files"
	"smartcrm/internal/history"
	"smartcrm/internal/itemcache"
	"smartcrm/internal/listindex"
	"smartcrm/internal/processdef"
	"smartcrm/internal/rest"
	"smartcrm/internal/store"
	"smartcrm/internal/tasks"
	"smartcrm/internal/timeline"
	"smartcrm/internal/web"
)

// App is a running server's parts.
type App struct {
	Config   Config
	Store    *store.Store
	CRM      *crm.Service
	Timeline *timeline.Service
	Activity *activity.Service
	Tasks    *tasks.Service
	// Automation runs robots and triggers.
	Automation *automation.Service
	CardLayout *cardlayout.Service
	History    *history.Service
	// Processes plans, applies and exports process files (processes as code).
	Processes *processdef.Service
	// Events keeps event subscriptions and delivers events.
	Events *events.Service
	// Indexes builds and lists the list indexes.
	Indexes *listindex.Service
	// Auth checks webhook secrets and throttles addresses that fail too often.
	Auth *access.Webhooks
	Log  *slog.Logger
	// AdminWebhook is the secret created on the first start ("" on later starts).
	AdminWebhook string
	// AdminPassword is the administrator's sign-in password when this start generated
	// it (shown once), "" otherwise.
	AdminPassword string
	// Accounts signs people in to the web UI.
	Accounts *access.Accounts
	// Web is the browser UI, served at / beside the API.
	Web *web.Server
	// MetricsAddr is the address the metrics listener is bound to, set by Serve before
	// it calls ready; "" when metrics are off or their address could not be bound.
	MetricsAddr string
	handler     http.Handler
	metrics     http.Handler
	// bodyMemory is the REST API's body memory budget in effect, in bytes.
	bodyMemory int64
	// releaseQueue lets another process work the SQLite database's job queue.
	releaseQueue func()
}

// Open connects to the database, migrates it and, on the first start, creates the
// administrator and its webhook.
func Open(ctx context.Context, cfg Config, log *slog.Logger) (*App, error) {
	if cfg.envErr != nil {
		return nil, cfg.envErr
	}
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return nil, fmt.Errorf("creating the data directory: %w", err)
	}
	st, err := OpenStore(ctx, cfg)
	if err != nil {
		return nil, err
	}
	a := &App{Config: cfg, Store: st, CRM: crm.New(st), Log: log}
	if err := a.CRM.EnsureStandardTypes(ctx); err != nil {
		st.Close()
		return nil, fmt.Errorf("creating the standard CRM types: %w", err)
	}
	if err := listindex.RetireDefaults(ctx, st); err != nil {
		st.Close()
		return nil, err
	}
	key, err := st.SigningKey(ctx)
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("reading the link signing key: %w", err)
	}
	publicURL := strings.TrimSuffix(cfg.PublicURL, "/")
	if publicURL == "" {
		publicURL = "http://" + cfg.Addr
	}
	a.CRM.Files = files.New(cfg.DataDir, key, publicURL)
	a.CRM.Files.ReloadKeyFrom(st.CurrentSigningKey) // `smartcrm keys rotate` replaces it while we run
	// The timeline and activities listen to the item write path; they register here,
	// once, before anything is written.
	a.Timeline = timeline.New(a.CRM)
	a.Activity = activity.New(a.CRM, a.Timeline)
	a.Tasks = tasks.New(a.CRM, a.Timeline)
	if a.AdminWebhook, err = bootstrap(ctx, st, cfg.AdminToken); err != nil {
		st.Close()
		return nil, err
	}
	a.Accounts = access.NewAccounts(st)
	if a.AdminPassword, err = a.Accounts.EnsureAdminLogin(ctx, cfg.AdminPassword); err != nil {
		st.Close()
		return nil, err
	}
	a.Auth = access.NewWebhooks(st)
	a.Events, err = events.New(ctx, a.CRM, publicURL, events.Options{Log: log, Clock: cfg.Clock,
		RetryBase: cfg.EventRetryBase, MaxRetryDelay: cfg.EventMaxRetryDelay})
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("preparing event delivery: %w", err)
	}
	if err := a.prepareAutomation(ctx, publicURL); err != nil {
		st.Close()
		return nil, err
	}
	a.CardLayout, a.History = cardlayout.New(a.CRM), history.New(a.CRM)
	a.Processes = processdef.New(a.CRM, a.Automation, a.CardLayout)
	if cfg.ListTimeout > 0 {
		st.SetListTimeout(cfg.ListTimeout)
	}
	ixCfg := cfg.ListIndexes
	if cfg.ListIndexesPerTable > 0 {
		ixCfg.PerTable = cfg.ListIndexesPerTable
	}
	a.Indexes = listindex.New(st, a.CRM, ixCfg)
	a.Indexes.Start()
	fields := customfield.New(a.CRM)
	a.Web = web.New(web.Services{CRM: a.CRM, Timeline: a.Timeline, Activity: a.Activity, Tasks: a.Tasks, Accounts: a.Accounts, People: a.Auth,
		Automation: a.Automation, CustomField: fields, CardLayout: a.CardLayout, History: a.History,
		Processes: webProcesses{a.Processes}, Indexes: a.Indexes}, web.Options{Log: log})
	a.CRM.Listen(a.Web.Listener())
	// Automation starts working once every listener is registered: from then on robots
	// and triggers may write.
	if err := a.Automation.Start(ctx); err != nil {
		a.Web.Close()
		a.releaseQueue()
		st.Close()
		return nil, fmt.Errorf("starting automation: %w", err)
	}
	if err := a.Events.Start(ctx); err != nil {
		a.closeAll()
		return nil, fmt.Errorf("starting event delivery: %w", err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	for name, pool := range st.Pools() {
		reg.MustRegister(collectors.NewDBStatsCollector(pool, name))
	}
	api := rest.New(rest.Services{CRM: a.CRM, CustomField: fields, Timeline: a.Timeline, Activity: a.Activity,
		Tasks: a.Tasks, Automation: a.Automation, CardLayout: a.CardLayout, Currency: currency.New(a.CRM), History: a.History,
		Events: a.Events, Processes: a.Processes, Indexes: a.Indexes},
		a.Auth, log, rest.NewMetrics(reg))
	bodyMemory, bodyWait := cfg.MaxBodyMemory, cfg.BodyMemoryWait
	if bodyMemory <= 0 {
		bodyMemory = rest.DefaultBodyMemory
	}
	if bodyWait <= 0 {
		bodyWait = rest.DefaultBodyMemoryWait
	}
	api.LimitBodyMemory(bodyMemory, bodyWait)
	a.bodyMemory = bodyMemory
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "smartcrm_rest_body_bytes_in_flight",
			Help: "Bytes of request bodies reserved by calls in progress (at most --max-body-memory).",
		}, func() float64 { n, _ := api.BodyMemory(); return float64(n) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "smartcrm_db_statements_total",
			Help: "Statements sent to the database, BEGIN and COMMIT of PostgreSQL transactions included.",
		}, func() float64 { return float64(store.Statements()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "smartcrm_db_round_trips_total",
			Help: "Round trips to PostgreSQL: a pipelined transaction sends several statements in one.",
		}, func() float64 { return float64(store.RoundTrips()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "smartcrm_item_cache_hits_total",
			Help: "Updates that started from the item as this server last wrote it, without reading it (PostgreSQL).",
		}, func() float64 { return float64(itemcache.Hits()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "smartcrm_item_cache_misses_total",
			Help: "Updates of items this server did not write last: they read and lock the row first (PostgreSQL).",
		}, func() float64 { return float64(itemcache.Misses()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "smartcrm_db_stale_assumptions_total",
			Help: "Updates whose item had changed since this server wrote it: rolled back and redone from the row as read.",
		}, func() float64 { return float64(store.StaleAssumptions()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "smartcrm_rest_body_waiting",
			Help: "Requests waiting for their share of --max-body-memory.",
		}, func() float64 { _, n := api.BodyMemory(); return float64(n) }),
	)

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := st.Ping(ctx); err != nil {
			http.Error(w, "database unreachable", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	})
	a.metrics = promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	mux.Handle("GET /files/{id}", a.CRM.Files.Handler(func(ctx context.Context, id int64) (string, string, error) {
		f, err := st.File(ctx, id)
		if err != nil {
			return "", "", err
		}
		return f.Name, f.SHA256, nil
	}))
	// The pages answer every path the API, /healthz and /files do not.
	mux.Handle("/", a.Web)
	a.handler = restFirst(api, mux)
	return a, nil
}

// restFirst hands every /rest path to the API as it came. http.ServeMux cleans paths
// and redirects `/rest//1/…` (which clients that join URLs produce) to the clean path,
// and a client following that redirect with a POST drops the body; the API reads its
// path segments itself and tolerates doubled slashes.
func restFirst(api, mux http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p := strings.TrimLeft(r.URL.Path, "/"); p == "rest" || strings.HasPrefix(p, "rest/") {
			api.ServeHTTP(w, r)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// OpenStore opens and migrates the configured database without starting anything or
// creating the administrator: for the administration commands, which must not leave a
// first-start webhook nobody has seen behind.
func OpenStore(ctx context.Context, cfg Config) (*store.Store, error) {
	st, err := store.Open(ctx, cfg.DB)
	if err != nil {
		return nil, fmt.Errorf("opening the database: %w", err)
	}
	if err := st.Migrate(ctx); err != nil {
		st.Close()
		return nil, fmt.Errorf("migrating the database: %w", err)
	}
	return st, nil
}

// Handler is the HTTP handler of the API port: the REST API, file downloads and
// /healthz. Metrics are not on it (see MetricsHandler).
func (a *App) Handler() http.Handler { return a.handler }

// MetricsHandler serves the Prometheus metrics; Serve puts it on its own listener.
func (a *App) MetricsHandler() http.Handler { return a.metrics }

// Close stops the robots (letting running ones finish, up to 30 s), ends the UI's live
// streams and releases the database.
func (a *App) Close() error {
	return a.closeAll()
}

func (a *App) closeAll() error {
	if a.Events != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if err := a.Events.Stop(ctx); err != nil {
			a.Log.Warn("stopping event delivery", "err", err)
		}
		cancel()
	}
	a.Web.Close()
	if a.Automation != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if err := a.Automation.Stop(ctx); err != nil {
			a.Log.Warn("stopping automation", "err", err)
		}
		cancel()
	}
	if a.releaseQueue != nil {
		a.releaseQueue()
	}
	if a.Indexes != nil {
		a.Indexes.Close()
	}
	return a.Store.Close()
}

// SetPublicURL is how clients reach the server, for download links and the item links
// robots write ({{url}}).
func (a *App) SetPublicURL(u string) {
	a.CRM.Files.SetPublicURL(u)
	a.Automation.SetPublicURL(u)
	a.Events.SetPublicURL(u)
}

// prepareAutomation builds the robots' service and prepares its job queue; Open starts
// it. On SQLite one process works a database's queue: it holds a lock on a file beside
// the database, so jobs it finds running were running in a process that died, and go
// back to the queue at once.
func (a *App) prepareAutomation(ctx context.Context, publicURL string) error {
	cfg := a.Config
	mailer, err := automation.NewMailer(cfg.SMTPURL, cfg.MailFrom)
	if err != nil {
		return err
	}
	cal := automation.DefaultCalendar
	if cfg.WorkingHours != "" {
		if cal, err = automation.ParseCalendar(cfg.WorkingHours); err != nil {
			return err
		}
	}
	svc, err := automation.New(a.CRM, a.Timeline, a.Tasks, a.Auth.Users, automation.Options{
		Mailer: mailer, PublicURL: publicURL, Calendar: cal, Log: a.Log, RobotTimeout: cfg.RobotTimeout,
		Clock: cfg.Clock, RetryBase: cfg.RobotRetryBase, AppAuth: a.Events.AuthForm})
	if err != nil {
		return err
	}
	if err := svc.Migrate(ctx); err != nil {
		return fmt.Errorf("preparing the job queue: %w", err)
	}
	a.releaseQueue = func() {}
	if !a.Store.IsPostgres() {
		if a.releaseQueue, err = lockQueue(cfg.DB); err != nil {
			return err
		}
		if err := a.Store.ReviveInterruptedJobs(ctx); err != nil {
			a.releaseQueue()
			return fmt.Errorf("reviving interrupted jobs: %w", err)
		}
	}
	a.Automation = svc
	return nil
}

// bootstrap creates user 1, the administrator, and a webhook for it when the database
// has no user yet. It returns the new secret, or "" when users existed.
func bootstrap(ctx context.Context, st *store.Store, token string) (string, error) {
	users, err := st.Users(ctx)
	if err != nil {
		return "", err
	}
	if len(users) > 0 {
		return "", nil
	}
	var secret string
	err = st.InTx(ctx, func(tx *store.Tx) error {
		admin := &store.UserRecord{Name: "Administrator", Active: true, IsAdmin: true}
		if err := tx.InsertUser(ctx, admin); err != nil {
			return err
		}
		secret, err = access.Create(ctx, tx, admin.ID, token, "Administrator")
		return err
	})
	return secret, err
}

// Serve listens on the configured address until ctx is cancelled, then stops accepting,
// lets in-flight requests finish (up to 30 s) and returns.
func (a *App) Serve(ctx context.Context, ready func(addr string)) error {
	ln, err := net.Listen("tcp", a.Config.Addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           a.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       5 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(a.Log.Handler(), slog.LevelWarn),
	}
	// Live streams (server-sent events) last as long as a page is open: end them when
	// the server shuts down, or the drain would wait for them.
	srv.RegisterOnShutdown(a.Web.Close)
	if a.Config.PublicURL == "" {
		a.SetPublicURL("http://" + ln.Addr().String()) // the real port, when asked for :0
	}
	a.limitHeap()
	if a.Config.Pprof != "" {
		go a.servePprof()
	}
	metricsSrv := a.listenMetrics()
	go a.sweepFiles(ctx)
	if ready != nil {
		ready(ln.Addr().String())
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		if metricsSrv != nil {
			_ = metricsSrv.Close()
		}
		return err
	case <-ctx.Done():
	}
	a.Log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// Metrics stay up while the API drains, so the drain itself can be watched.
	err = srv.Shutdown(shutdownCtx)
	if metricsSrv != nil {
		_ = metricsSrv.Shutdown(shutdownCtx)
	}
	if err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// limitHeap gives the Go heap a soft limit that follows the body memory budget, unless
// GOMEMLIMIT is set. The budget bounds the bodies calls hold at once, but with serve's
// GOGC=400 the garbage they leave (a body once parsed, a file once decoded and written)
// may grow to four times the live heap before a collection: without a limit, each
// further upload raised the peak (4 parallel 60 MB uploads 515 MB, 8 of them 884 MB).
// A call holds about 3 times its body at most (the body, the strings decoded from it,
// a file decoded from base64), hence 3 × budget, plus room for everything else.
func (a *App) limitHeap() {
	if os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	limit := heapLimit(a.bodyMemory)
	debug.SetMemoryLimit(limit)
	a.Log.Info("soft memory limit", "bytes", limit, "max_body_memory", a.bodyMemory)
}

// heapLimit is the soft limit of the Go heap for a body memory budget.
func heapLimit(bodyMemory int64) int64 { return 3*bodyMemory + 128<<20 }

// WebhookURL is the base URL of a webhook on addr.
func WebhookURL(addr string, userID int64, secret string) string {
	return fmt.Sprintf("http://%s/rest/%d/%s/", addr, userID, secret)
}

// listenMetrics serves /metrics on the metrics address and returns its server, or nil
// when metrics are off or the address cannot be bound. A taken metrics port is logged
// and does not stop the server: the API is what the CRM is for, and two servers on one
// host (tests, a blue/green switch) would otherwise refuse to start over a port
// nobody asked for.
func (a *App) listenMetrics() *http.Server {
	if a.Config.metricsOff() {
		return nil
	}
	ln, err := net.Listen("tcp", a.Config.MetricsAddr)
	if err != nil {
		a.Log.Error("metrics are not served: cannot listen on the metrics address; set --metrics-addr (or off)",
			"addr", a.Config.MetricsAddr, "err", err)
		return nil
	}
	a.MetricsAddr = ln.Addr().String()
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", a.metrics)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(a.Log.Handler(), slog.LevelWarn)}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.Log.Error("metrics listener", "err", err)
		}
	}()
	return srv
}

// servePprof serves the profiler on its own listener, apart from the API.
func (a *App) servePprof() {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	srv := &http.Server{Addr: a.Config.Pprof, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	if err := srv.ListenAndServe(); err != nil {
		a.Log.Error("pprof listener", "err", err)
	}
}

// sweepFiles removes unused file contents every hour while the server runs.
func (a *App) sweepFiles(ctx context.Context) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if n, err := a.CRM.SweepFiles(ctx); err != nil {
				a.Log.Warn("sweeping unused files", "err", err)
			} else if n > 0 {
				a.Log.Info("swept unused files", "removed", n)
			}
		}
	}
}
