package conformance

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"smartcrm/internal/store"
	"smartcrm/internal/testdb"
)

// sdkVersion is the @bitrix24/b24jssdk version sdktest/package.json pins.
// Checking the installed copy catches a stale node_modules, which would
// otherwise test some other client than the one the lockfile promises.
const sdkVersion = "2.2.0"

// nodeTimeout bounds one run of the JS suite; it normally takes a second or two.
const nodeTimeout = 5 * time.Minute

// TestB24JSSDK runs the JS conformance suite in sdktest/ (the unmodified
// official Bitrix24 JS SDK) against a freshly started server, once per
// database backend.
func TestB24JSSDK(t *testing.T) {
	root := RepoRoot(t)
	sdkDir := filepath.Join(root, "sdktest")
	checkSDKInstalled(t, sdkDir)
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is not on PATH (Node.js 20 or >= 22 is needed for sdktest/): %v", err)
	}

	bin := BuildServer(t)

	backends := []struct {
		name string
		dsn  func(testing.TB) string
	}{
		{"sqlite", func(t testing.TB) string { return testdb.DSN(t, store.SQLite) }},
		{"postgres", func(t testing.TB) string { return testdb.DSN(t, store.Postgres) }},
	}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			dsn := b.dsn(t)
			srv := StartServer(t, bin, dsn)
			runNodeSuite(t, node, sdkDir, srv.Webhook)
		})
	}
}

// checkSDKInstalled fails with instructions when sdktest/node_modules is
// missing or holds another SDK version than the one pinned.
func checkSDKInstalled(t *testing.T, sdkDir string) {
	t.Helper()
	const hint = "run `npm ci --prefix sdktest` from the repository root (the Makefile does this before go test)"
	pkg := filepath.Join(sdkDir, "node_modules", "@bitrix24", "b24jssdk", "package.json")
	data, err := os.ReadFile(pkg)
	if err != nil {
		t.Fatalf("the Bitrix24 JS SDK is not installed (%v): %s", err, hint)
	}
	var meta struct {
		Version string `json:"version"`
	}
	if err := json.Unmarshal(data, &meta); err != nil {
		t.Fatalf("read %s: %v: %s", pkg, err, hint)
	}
	if meta.Version != sdkVersion {
		t.Fatalf("sdktest/node_modules has @bitrix24/b24jssdk %s, want %s: %s", meta.Version, sdkVersion, hint)
	}
}

// runNodeSuite runs `node --test` in sdktest/ with SMARTCRM_WEBHOOK set and
// streams its output into the test log. Without file arguments node finds
// *.test.mjs itself (skipping node_modules) on every supported Node version,
// whereas a directory argument is read differently since Node 21 switched
// the arguments to glob patterns.
func runNodeSuite(t *testing.T, node, sdkDir, webhook string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), nodeTimeout)
	defer cancel()
	out := NewLogWriter(t, "node: ")

	// The spec reporter is the readable one in a log; NO_COLOR keeps ANSI
	// escapes out of it.
	cmd := exec.CommandContext(ctx, node, "--test", "--test-reporter=spec")
	cmd.Dir = sdkDir
	cmd.Env = append(os.Environ(), "SMARTCRM_WEBHOOK="+webhook, "NO_COLOR=1")
	cmd.Stdout = out
	cmd.Stderr = out
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	out.Flush()
	if err != nil {
		if ctx.Err() != nil {
			t.Fatalf("node --test did not finish within %s", nodeTimeout)
		}
		t.Fatalf("node --test failed (%v); see the node: lines above", err)
	}
}
