package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The browser suite drives Debian's chromium headless through chromedp. One Chromium
// serves the whole test process (each test gets browser contexts of its own, with
// their own cookies); scripts/test.sh installs chromium when it is missing.

var (
	browserOnce   sync.Once
	browserRoot   context.Context
	browserCancel context.CancelFunc
	browserErr    error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if browserCancel != nil {
		browserCancel()
	}
	os.Exit(code)
}

func chromiumPath() string {
	if p := os.Getenv("SMARTCRM_CHROMIUM"); p != "" {
		return p
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	return "/usr/bin/chromium"
}

// startBrowser launches the shared Chromium once.
func startBrowser(t testing.TB) context.Context {
	t.Helper()
	browserOnce.Do(func() {
		dir, err := os.MkdirTemp("", "smartcrm-chromium-")
		if err != nil {
			browserErr = err
			return
		}
		opts := []chromedp.ExecAllocatorOption{
			chromedp.ExecPath(chromiumPath()), chromedp.UserDataDir(dir), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
			chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck, chromedp.WindowSize(1366, 768),
			chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
			chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
			chromedp.Flag("disable-dev-shm-usage", true), chromedp.Flag("mute-audio", true),
		}
		alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
		root, cancelRoot := chromedp.NewContext(alloc)
		browserCancel = func() { cancelRoot(); cancelAlloc(); os.RemoveAll(dir) }
		_, browserErr = chromedp.Run(root, chromedp.Steps())
		browserRoot = root
	})
	if browserErr != nil {
		t.Fatalf("starting %s: %v (scripts/test.sh installs Debian's chromium; or set SMARTCRM_CHROMIUM)", chromiumPath(), browserErr)
	}
	return browserRoot
}

// tab opens a page in a browser context of its own (its own cookies: another person).
func tab(t testing.TB) context.Context {
	t.Helper()
	root := startBrowser(t)
	ctx, cancel := chromedp.NewContext(root, chromedp.WithNewBrowserContext())
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() { cancelTimeout(); cancel() })
	return ctx
}

// run runs steps in the tab and fails the test with the page's address on an error.
func run(t testing.TB, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		loc, _ := chromedp.Run(ctx, chromedp.Location())
		t.Fatalf("%s (at %s): %v", what, loc, err)
	}
}

// eval evaluates JavaScript (awaiting a promise) and decodes its value.
func eval[T any](t testing.TB, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("evaluating %.80s: %v", expr, err)
	}
	return v
}

// waitJS polls a JavaScript condition until it holds.
func waitJS(expr string) chromedp.Action[chromedp.Void] {
	poll := chromedp.Poll[any](expr, chromedp.WithPollingTimeout(15*time.Second), chromedp.WithPollingInterval(25*time.Millisecond))
	return func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		for attempt := 0; ; attempt++ {
			_, err := poll(ctx, tg)
			// A form that navigates ends the poll of the page it left: poll the new one.
			if err != nil && attempt < 20 && ctx.Err() == nil && (strings.Contains(err.Error(), "navigated or closed") ||
				strings.Contains(err.Error(), "Cannot find context")) {
				continue
			}
			if err != nil {
				return chromedp.Void{}, fmt.Errorf("waiting for %s: %w", expr, err)
			}
			return chromedp.Void{}, nil
		}
	}
}

// artifactsDir is where screenshots are kept: $SMARTCRM_ARTIFACTS, else artifacts/
// screenshots at the repository's root.
func artifactsDir(t testing.TB) string {
	dir := os.Getenv("SMARTCRM_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join("..", "..", "artifacts", "screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func screenshot(t testing.TB, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // 100: PNG (lower is JPEG)
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(artifactsDir(t), name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// axeSource is axe-core's script, from the npm package scripts/test.sh installs.
func axeSource(t testing.TB) string {
	b, err := os.ReadFile(filepath.Join("..", "..", "uitest", "node_modules", "axe-core", "axe.min.js"))
	if err != nil {
		t.Fatalf("axe-core is not installed (npm ci --prefix uitest, which scripts/test.sh runs): %v", err)
	}
	return string(b)
}

type axeViolation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  []struct {
		Target []any  `json:"target"`
		HTML   string `json:"html"`
	} `json:"nodes"`
}

// checkAxe runs axe-core on the page and fails on serious and critical violations.
func checkAxe(t testing.TB, ctx context.Context, page string) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](axeSource(t)+";undefined")); err != nil && err != chromedp.ErrJSUndefined {
		t.Fatalf("loading axe-core on %s: %v", page, err)
	}
	raw := eval[string](t, ctx, `axe.run(document, {resultTypes: ["violations"]}).then(r => JSON.stringify(r.violations))`)
	var vs []axeViolation
	if err := json.Unmarshal([]byte(raw), &vs); err != nil {
		t.Fatalf("axe on %s: %v", page, err)
	}
	for _, v := range vs {
		if v.Impact == "serious" || v.Impact == "critical" {
			var where []string
			for _, n := range v.Nodes {
				where = append(where, fmt.Sprintf("%v %.160s", n.Target, n.HTML))
			}
			t.Errorf("axe on %s: %s (%s): %s\n  %s", page, v.ID, v.Impact, v.Help, strings.Join(where, "\n  "))
		}
	}
}

// phone shows pages at a phone's width; desktop at 1366×768.
func phone() chromedp.Action[chromedp.Void] {
	return chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2))
}

func desktop() chromedp.Action[chromedp.Void] { return chromedp.EmulateViewport(1366, 768) }
