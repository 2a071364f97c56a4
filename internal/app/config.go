// Package app is the composition root: configuration, store, services, HTTP server.
package app

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"smartcrm/internal/listindex"
)

// Config is how the server is run. Every flag has an environment equivalent; a flag
// given on the command line wins.
type Config struct {
	Addr    string // SMARTCRM_ADDR
	DB      string // SMARTCRM_DB: a file path (SQLite) or a postgres:// URL
	DataDir string // SMARTCRM_DATA_DIR: uploaded files
	// AdminToken, when set on the first start, becomes the administrator's webhook
	// secret (SMARTCRM_ADMIN_TOKEN), so scripts and CI can know the URL in advance.
	AdminToken string
	// AdminPassword, when set on the first start, becomes the administrator's sign-in
	// password (login "admin"; SMARTCRM_ADMIN_PASSWORD); else one is generated and
	// printed once.
	AdminPassword string
	// Pprof, when set, serves Go's profiler on this address (SMARTCRM_PPROF). Keep it
	// on loopback: profiles expose internals.
	Pprof string
	// PublicURL is how clients reach the server, for download links
	// (SMARTCRM_PUBLIC_URL); http://{addr} when empty.
	PublicURL string
	// MetricsAddr is where GET /metrics is served (SMARTCRM_METRICS_ADDR), apart from
	// the API: metrics carry no authentication and show internals (method names, call
	// rates, pool sizes), so by default they are on loopback only. "off" (or "")
	// serves none.
	MetricsAddr string
	// MaxBodyMemory is how many bytes of request bodies may be held at once
	// (SMARTCRM_MAX_BODY_MEMORY); 0 means rest.DefaultBodyMemory. Calls decode their
	// parameters from the body and keep them while they run, so peak memory follows
	// this figure (see README, Limits).
	MaxBodyMemory int64
	// BodyMemoryWait is how long a request waits for its share of MaxBodyMemory before
	// it is refused with 503; 0 means rest.DefaultBodyMemoryWait. No flag: tests and
	// embedders set it.
	BodyMemoryWait time.Duration

	// SMTPURL is where e-mail robots send (SMARTCRM_SMTP_URL): smtp://[user:pass@]host[:port]
	// or smtps://…; empty, e-mail robots fail saying e-mail is not configured.
	SMTPURL string
	// MailFrom is the sender of robots' e-mail (SMARTCRM_MAIL_FROM).
	MailFrom string
	// WorkingHours is the calendar of robots delayed to working time
	// (SMARTCRM_WORKING_HOURS): "mon-fri 09:00-18:00 Europe/Berlin".
	WorkingHours string
	// RobotTimeout bounds one call of a webhook robot or one e-mail
	// (SMARTCRM_ROBOT_TIMEOUT); 30 s when zero.
	RobotTimeout time.Duration

	// Clock and RobotRetryBase let tests drive automation's time and retries (no flags:
	// tests and embedders set them). Zero: the real clock, a 5-second first retry.
	Clock          func() time.Time
	RobotRetryBase time.Duration
	// EventRetryBase and EventMaxRetryDelay let tests retry event deliveries quickly
	// (zero: 2 s, doubling up to 10 min).
	EventRetryBase, EventMaxRetryDelay time.Duration

	// ListTimeout bounds one list or count statement (SMARTCRM_LIST_TIMEOUT; default
	// 5s): a longer one is stopped and answered 429 OPERATION_TIME_LIMIT.
	ListTimeout time.Duration
	// ListIndexesPerTable caps the list indexes built for a type's observed list
	// shapes and by administrators (SMARTCRM_LIST_INDEXES_PER_TABLE; default 6).
	ListIndexesPerTable int
	// ListIndexes tunes when observed list shapes get indexes (no flags: tests and
	// embedders set it; PerTable comes from ListIndexesPerTable).
	ListIndexes listindex.Config

	// envErr is an environment variable that could not be read, reported by Open (Flags
	// cannot return it).
	envErr error
}

// DefaultMetricsAddr is where metrics are served unless configured: loopback, so that
// only the host (a local Prometheus or an SSH tunnel) can scrape them.
const DefaultMetricsAddr = "127.0.0.1:9090"

// metricsOff reports whether the configuration asks for no metrics listener.
func (c *Config) metricsOff() bool { return c.MetricsAddr == "" || c.MetricsAddr == "off" }

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// Flags registers the configuration flags on fs, with defaults from the environment.
func (c *Config) Flags(fs *flag.FlagSet) {
	fs.StringVar(&c.Addr, "addr", envOr("SMARTCRM_ADDR", "127.0.0.1:8080"), "listen address (SMARTCRM_ADDR)")
	fs.StringVar(&c.DB, "db", envOr("SMARTCRM_DB", filepath.Join("data", "smartcrm.db")),
		"database: a SQLite file path, or a postgres:// URL (SMARTCRM_DB)")
	fs.StringVar(&c.DataDir, "data-dir", envOr("SMARTCRM_DATA_DIR", "data"), "directory for uploaded files (SMARTCRM_DATA_DIR)")
	fs.StringVar(&c.Pprof, "pprof", os.Getenv("SMARTCRM_PPROF"), "serve the Go profiler on this address, e.g. 127.0.0.1:6060 (SMARTCRM_PPROF)")
	fs.StringVar(&c.PublicURL, "public-url", os.Getenv("SMARTCRM_PUBLIC_URL"), "how clients reach the server, for download links (SMARTCRM_PUBLIC_URL); default http://{addr}")
	fs.StringVar(&c.MetricsAddr, "metrics-addr", envOr("SMARTCRM_METRICS_ADDR", DefaultMetricsAddr),
		`serve GET /metrics on this address, apart from the API, or "off" (SMARTCRM_METRICS_ADDR)`)
	fs.StringVar(&c.SMTPURL, "smtp-url", os.Getenv("SMARTCRM_SMTP_URL"), "where e-mail robots send: smtp://[user:password@]host[:port] or smtps://… (SMARTCRM_SMTP_URL)")
	fs.StringVar(&c.MailFrom, "mail-from", os.Getenv("SMARTCRM_MAIL_FROM"), "the sender address of robots' e-mail (SMARTCRM_MAIL_FROM)")
	fs.StringVar(&c.WorkingHours, "working-hours", envOr("SMARTCRM_WORKING_HOURS", "mon-fri 09:00-18:00"),
		`when robots delayed to working time run, e.g. "mon-fri 09:00-18:00 Europe/Berlin" (SMARTCRM_WORKING_HOURS)`)
	c.AdminToken = os.Getenv("SMARTCRM_ADMIN_TOKEN")
	if env := os.Getenv("SMARTCRM_ROBOT_TIMEOUT"); env != "" {
		d, err := time.ParseDuration(env)
		if err != nil || d <= 0 {
			c.envErr = fmt.Errorf("SMARTCRM_ROBOT_TIMEOUT: %q is not a duration such as 30s", env)
		}
		c.RobotTimeout = d
	}
	fs.DurationVar(&c.RobotTimeout, "robot-timeout", c.RobotTimeout, "how long one webhook call or e-mail of a robot may take (SMARTCRM_ROBOT_TIMEOUT; default 30s)")
	c.AdminPassword = os.Getenv("SMARTCRM_ADMIN_PASSWORD")
	if env := os.Getenv("SMARTCRM_LIST_TIMEOUT"); env != "" {
		d, err := time.ParseDuration(env)
		if err != nil || d <= 0 {
			c.envErr = fmt.Errorf("SMARTCRM_LIST_TIMEOUT: %q is not a duration such as 5s", env)
		}
		c.ListTimeout = d
	}
	fs.DurationVar(&c.ListTimeout, "list-timeout", c.ListTimeout, "how long one list or count query may run (SMARTCRM_LIST_TIMEOUT; default 5s)")
	if env := os.Getenv("SMARTCRM_LIST_INDEXES_PER_TABLE"); env != "" {
		n, err := strconv.Atoi(env)
		if err != nil || n < 0 {
			c.envErr = fmt.Errorf("SMARTCRM_LIST_INDEXES_PER_TABLE: %q is not a count", env)
		}
		c.ListIndexesPerTable = n
	}
	fs.IntVar(&c.ListIndexesPerTable, "list-indexes-per-table", c.ListIndexesPerTable, "list indexes a type may hold, built for its frequent slow list shapes (SMARTCRM_LIST_INDEXES_PER_TABLE; default 6)")
	if env := os.Getenv("SMARTCRM_MAX_BODY_MEMORY"); env != "" {
		n, err := ParseSize(env)
		if err != nil {
			c.envErr = fmt.Errorf("SMARTCRM_MAX_BODY_MEMORY: %w", err)
		}
		c.MaxBodyMemory = n
	}
	fs.Func("max-body-memory", "bytes of request bodies held at once, e.g. 128MB; more requests wait, then get 503 (SMARTCRM_MAX_BODY_MEMORY; default 128MB)",
		func(s string) error {
			n, err := ParseSize(s)
			c.MaxBodyMemory = n
			return err
		})
}

// ParseSize reads a byte count: a number with an optional unit K, M or G, binary
// (1K = 1024), optionally followed by B or iB: "134217728", "128M", "128MB", "1GiB".
func ParseSize(s string) (int64, error) {
	t := strings.ToUpper(strings.TrimSpace(s))
	t = strings.TrimSuffix(t, "B")
	if u := strings.TrimSuffix(t, "I"); u != t && u != "" && strings.ContainsAny(u[len(u)-1:], "KMG") {
		t = u // KiB, MiB, GiB
	}
	shift := 0
	switch {
	case strings.HasSuffix(t, "K"):
		shift = 10
	case strings.HasSuffix(t, "M"):
		shift = 20
	case strings.HasSuffix(t, "G"):
		shift = 30
	}
	if shift > 0 {
		t = t[:len(t)-1]
	}
	n, err := strconv.ParseInt(strings.TrimSpace(t), 10, 64)
	if err != nil || n < 0 || n > (1<<62)>>shift {
		return 0, fmt.Errorf("%q is not a size such as 134217728, 128MB or 1G", s)
	}
	return n << shift, nil
}
