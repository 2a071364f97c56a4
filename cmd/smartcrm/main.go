// Command smartcrm is the CRM server and its administration tool.
//
//	smartcrm serve                     run the server
//	smartcrm webhook create --user N   make an inbound webhook for user N
//	smartcrm webhook list              list the webhooks (not their secrets)
//	smartcrm keys rotate               replace the key that signs file download links
//	smartcrm user add --login L --name N --email E [--password P]
//	                                   add a person who signs in to the web UI
//	smartcrm plan -f FILE              what applying a process file would change
//	smartcrm apply -f FILE             make those changes, in one transaction
//	smartcrm export [--type CODE]      the process file of what the server has
//	smartcrm preset list               the process files shipped in the binary
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"text/tabwriter"
	"time"

	"smartcrm/internal/access"
	"smartcrm/internal/app"
	"smartcrm/internal/files"
	"smartcrm/internal/store"
)

func main() {
	if len(os.Args) < 2 {
		usage()
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "serve":
		err = serve(os.Args[2:])
	case "webhook":
		err = webhook(os.Args[2:], os.Stdout)
	case "keys":
		err = keys(os.Args[2:], os.Stdout)
	case "user":
		err = user(os.Args[2:], os.Stdout)
	case "plan":
		var code int
		if code, err = planCmd(os.Args[2:], os.Stdout); err == nil {
			os.Exit(code)
		}
	case "apply":
		err = applyCmd(os.Args[2:], os.Stdout)
	case "export":
		err = exportCmd(os.Args[2:], os.Stdout)
	case "preset":
		err = presetCmd(os.Args[2:], os.Stdout)
	case "-h", "--help", "help":
		usage()
		return
	default:
		usage()
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "smartcrm:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprint(os.Stderr, `usage:
  smartcrm serve [--addr 127.0.0.1:8080] [--db ./data/smartcrm.db | postgres://…] [--data-dir ./data]
                 [--metrics-addr 127.0.0.1:9090 | off]
  smartcrm webhook create --user N [--title …] [--db …] [--addr …]
  smartcrm webhook list [--db …]
  smartcrm keys rotate [--db …]
  smartcrm user add --login L --name N [--last-name L] --email E [--password P] [--admin] [--db …]
  smartcrm user password --login L [--password P] [--db …]
  smartcrm plan -f FILE | --preset NAME [--prune] [--db … | --url WEBHOOK]   (exit 0: no change, 2: changes, 1: error)
  smartcrm apply -f FILE | --preset NAME [--prune] [--db … | --url WEBHOOK]
  smartcrm export [--type CODE] [--db … | --url WEBHOOK]
  smartcrm preset list
`)
}

// keys rotate replaces the file link signing key. Links handed out before stop working,
// in running servers too, within files.KeyRefresh.
func keys(args []string, out io.Writer) error {
	if len(args) == 0 || args[0] != "rotate" {
		return fmt.Errorf("usage: smartcrm keys rotate [--db …]")
	}
	var cfg app.Config
	fs := flag.NewFlagSet("keys rotate", flag.ExitOnError)
	cfg.Flags(fs)
	_ = fs.Parse(args[1:])
	ctx := context.Background()
	st, err := app.OpenStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.ReplaceSigningKey(ctx); err != nil {
		return fmt.Errorf("replacing the link signing key: %w", err)
	}
	fmt.Fprintf(out, "The file link signing key was replaced: links signed before no longer work (running servers notice within %s).\n", files.KeyRefresh)
	return nil
}

func serve(args []string) error {
	var cfg app.Config
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	cfg.Flags(fs)
	_ = fs.Parse(args)
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	// SQLite's memory lives outside the Go heap, which stays small (a few MB); the
	// default GOGC then collects thousands of times a minute under load. Collect less
	// often unless the operator chose otherwise.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	a, err := app.Open(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	return a.Serve(ctx, func(addr string) {
		log.Info("smartcrm listening", "addr", addr, "db", a.Store.Dialect())
		if a.MetricsAddr != "" {
			log.Info("metrics listening", "addr", a.MetricsAddr, "path", "/metrics")
		}
		if a.AdminWebhook != "" {
			fmt.Printf("Administrator webhook: %s\n", app.WebhookURL(addr, 1, a.AdminWebhook))
		}
		if a.AdminPassword != "" {
			fmt.Printf("Sign in at http://%s/login as admin with the password %s (shown this once; set SMARTCRM_ADMIN_PASSWORD on the first start to choose it)\n", addr, a.AdminPassword)
		}
	})
}

func webhook(args []string, out io.Writer) error {
	if len(args) > 0 && args[0] == "list" {
		return webhookList(args[1:], out)
	}
	if len(args) == 0 || args[0] != "create" {
		return fmt.Errorf("usage: smartcrm webhook create --user N | smartcrm webhook list")
	}
	var cfg app.Config
	fs := flag.NewFlagSet("webhook create", flag.ExitOnError)
	cfg.Flags(fs)
	user := fs.Int64("user", 1, "user the webhook acts as")
	title := fs.String("title", "", "what the webhook is for")
	_ = fs.Parse(args[1:])
	ctx := context.Background()
	// The store alone: a running server may be using the database (and, on SQLite,
	// working its job queue).
	st, err := app.OpenStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	users, err := st.Users(ctx)
	if err != nil {
		return err
	}
	found := false
	for _, u := range users {
		found = found || u.ID == *user
	}
	if !found {
		return fmt.Errorf("user %d does not exist (on a new database, start the server once: it creates the administrator, user 1)", *user)
	}
	var hook access.NewHook
	err = st.InTx(ctx, func(tx *store.Tx) error {
		hook, err = access.CreateApp(ctx, tx, *user, "", *title)
		return err
	})
	if err != nil {
		return err
	}
	fmt.Fprintln(out, app.WebhookURL(cfg.Addr, *user, hook.Secret))
	// The URL alone goes to standard output, so `URL=$(smartcrm webhook create)` keeps
	// working; the application token (what event and robot handlers receive in
	// auth[application_token]) is told beside it.
	fmt.Fprintf(os.Stderr, "application_token: %s (event and robot handlers receive it in auth[application_token])\n", hook.ApplicationToken)
	return nil
}

// webhookList prints every webhook: id, user, title, creation time. Secrets are kept
// only as SHA-256 hashes, so no URL can be printed; it says how to make a new one.
func webhookList(args []string, out io.Writer) error {
	var cfg app.Config
	fs := flag.NewFlagSet("webhook list", flag.ExitOnError)
	cfg.Flags(fs)
	_ = fs.Parse(args)
	ctx := context.Background()
	st, err := app.OpenStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	hooks, err := st.Webhooks(ctx)
	if err != nil {
		return err
	}
	if len(hooks) == 0 {
		fmt.Fprintln(out, "No webhooks yet: the first `smartcrm serve` creates the administrator's and prints its URL.")
		return nil
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tUSER\tTITLE\tCREATED")
	for _, h := range hooks {
		fmt.Fprintf(tw, "%d\t%d\t%s\t%s\n", h.ID, h.UserID, h.Title, h.Created.Format(time.RFC3339))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(out, "\nSecrets are stored as SHA-256 hashes, so their URLs cannot be shown again."+
		"\nFor a URL to use, make a new webhook: smartcrm webhook create --user N [--title …]")
	return nil
}

// user adds a person who signs in to the web UI, or sets a password. A password left
// out is generated and printed once.
func user(args []string, out io.Writer) error {
	if len(args) == 0 || (args[0] != "add" && args[0] != "password") {
		return fmt.Errorf("usage: smartcrm user add --login L --name N --email E [--password P] | smartcrm user password --login L [--password P]")
	}
	var cfg app.Config
	fs := flag.NewFlagSet("user "+args[0], flag.ExitOnError)
	cfg.Flags(fs)
	login := fs.String("login", "", "the login to sign in with")
	name := fs.String("name", "", "first name")
	lastName := fs.String("last-name", "", "last name")
	email := fs.String("email", "", "e-mail address")
	password := fs.String("password", "", "password (at least 8 characters; empty: generate one)")
	admin := fs.Bool("admin", false, "make the user an administrator")
	_ = fs.Parse(args[1:])
	ctx := context.Background()
	a, err := app.Open(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		return err
	}
	defer a.Close()
	if a.AdminPassword != "" {
		fmt.Fprintf(out, "First start: the administrator signs in as admin with the password %s (shown this once)\n", a.AdminPassword)
	}
	if args[0] == "password" {
		acc, err := a.Store.AccountByLogin(ctx, *login)
		if err != nil {
			return fmt.Errorf("no user has the login %q", *login)
		}
		pw, err := a.Accounts.SetPassword(ctx, access.System, acc.ID, *password)
		if err != nil {
			return err
		}
		if *password == "" {
			fmt.Fprintf(out, "New password of %s: %s (shown this once)\n", *login, pw)
		} else {
			fmt.Fprintf(out, "Password of %s changed\n", *login)
		}
		return nil
	}
	u, pw, err := a.Accounts.AddUser(ctx, access.System, access.NewUser{Login: *login, Name: *name, LastName: *lastName,
		Email: *email, Password: *password, IsAdmin: *admin})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "User %d added: %s signs in as %s", u.ID, *name, *login)
	if *password == "" {
		fmt.Fprintf(out, " with the password %s (shown this once)", pw)
	}
	fmt.Fprintln(out)
	return nil
}
