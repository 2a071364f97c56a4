package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// The bench's transport reads what Go's HTTP server writes: small and large bodies
// (Content-Length or chunked), error statuses, and a connection the server closes.
func TestWirePoolReadsWhatTheServerWrites(t *testing.T) {
	big := strings.Repeat("x", 100_000)
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		switch r.URL.Path {
		case "/echo":
			w.Header().Set("Content-Length", fmt.Sprint(len(body)))
			w.Write(body)
		case "/chunked": // no length set and more than the server buffers: chunked
			w.Write([]byte(big))
		case "/missing":
			http.Error(w, "nothing here", http.StatusNotFound)
		case "/close":
			w.Header().Set("Connection", "close")
			w.Write([]byte("bye"))
		}
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	p := newWirePool(strings.TrimPrefix(srv.URL, "http://"), 4)
	defer p.closeIdle()
	ctx := context.Background()

	for i := range 3 {
		status, body, err := p.post(ctx, "/echo", []byte(fmt.Sprintf(`{"n":%d}`, i)))
		if err != nil || status != 200 || string(body) != fmt.Sprintf(`{"n":%d}`, i) {
			t.Fatalf("echo %d: %d %q %v", i, status, body, err)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Fatalf("three calls in a row opened %d connections, want 1 kept alive", n)
	}
	status, body, err := p.post(ctx, "/chunked", nil)
	if err != nil || status != 200 || string(body) != big {
		t.Fatalf("chunked: %d, %d bytes, %v", status, len(body), err)
	}
	status, body, err = p.post(ctx, "/missing", nil)
	if err != nil || status != 404 || !strings.Contains(string(body), "nothing here") {
		t.Fatalf("missing: %d %q %v", status, body, err)
	}
	if status, body, err = p.post(ctx, "/close", nil); err != nil || status != 200 || string(body) != "bye" {
		t.Fatalf("close: %d %q %v", status, body, err)
	}
	// The closed connection is not reused: the next call dials a new one.
	before := conns.Load()
	if _, _, err := p.post(ctx, "/echo", []byte("again")); err != nil {
		t.Fatal(err)
	}
	if conns.Load() != before+1 {
		t.Fatalf("after Connection: close, %d new connections, want 1", conns.Load()-before)
	}
	// A kept-alive connection the server closed meanwhile is retried on a fresh one.
	srv.CloseClientConnections()
	if status, body, err := p.post(ctx, "/echo", []byte("after close")); err != nil || status != 200 || string(body) != "after close" {
		t.Fatalf("after the server closed idle connections: %d %q %v", status, body, err)
	}
}

func TestReadAnswerRejectsWhatIsNotHTTP(t *testing.T) {
	for _, in := range []string{
		"",
		"SSH-2.0-OpenSSH\r\n",
		"HTTP/1.1 2x0 OK\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
		"HTTP/1.1 200 OK\r\nno colon\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
	} {
		if _, _, _, err := readAnswer(bufio.NewReader(strings.NewReader(in))); err == nil {
			t.Errorf("%q: no error", in)
		}
	}
}

func TestDecodeEnvelopeSplitsTheTopLevel(t *testing.T) {
	env, err := decodeEnvelope([]byte(` {"result":{"items":[{"id":1,"title":"a \"}] b","x":[1,{"y":null}]}]},"total":7, "next":50,"time":{"start":1.5}} `))
	if err != nil {
		t.Fatal(err)
	}
	if string(env.Result) != `{"items":[{"id":1,"title":"a \"}] b","x":[1,{"y":null}]}]}` || env.Total == nil || *env.Total != 7 || env.Next == nil || *env.Next != 50 {
		t.Fatalf("got result %s total %v next %v", env.Result, env.Total, env.Next)
	}
	env, err = decodeEnvelope([]byte(`{"error":"NOT_FOUND","error_description":"Not found \u00e9"}`))
	if err != nil || string(env.Error) != `"NOT_FOUND"` || env.Desc != "Not found é" || env.Result != nil {
		t.Fatalf("error envelope: %+v %v", env, err)
	}
	if env, err := decodeEnvelope([]byte(`{"result":true}`)); err != nil || string(env.Result) != "true" {
		t.Fatalf("scalar result: %+v %v", env, err)
	}
	for _, bad := range []string{``, `[]`, `{"result":{"a":1}`, `{"result":"abc}`, `{"result":1,}x`, `{"result"}`, `{"result":]}`, `{"total":"x"}`, `{"result":1} {}`} {
		if _, err := decodeEnvelope([]byte(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

// FuzzDecodeEnvelope: the splitter never panics, and where it and encoding/json both
// accept an answer, they agree on the result and the total.
func FuzzDecodeEnvelope(f *testing.F) {
	f.Add([]byte(`{"result":{"items":[]},"total":0,"time":{}}`))
	f.Add([]byte(`{"error":"X","error_description":"y"}`))
	f.Add([]byte(`{"result":"a\\"b","next":50}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		env, err := decodeEnvelope(b)
		var std envelope
		if err != nil || json.Unmarshal(b, &std) != nil {
			return
		}
		if string(env.Result) != string(std.Result) || (env.Total == nil) != (std.Total == nil) || env.Total != nil && *env.Total != *std.Total {
			t.Fatalf("%q: split %s/%v, encoding/json %s/%v", b, env.Result, env.Total, std.Result, std.Total)
		}
	})
}
