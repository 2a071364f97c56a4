package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

// The bench's HTTP/1.1 transport: POSTs on kept-alive connections, one request at a
// time each, read with a buffered reader. The load generator shares this machine's two
// cores with the server and the database, so what it spends is taken from them: Go's
// net/http client with a full JSON decode of each answer cost 110–200 µs of CPU per call
// here (a transport goroutine pair per connection, header maps, a context watcher per
// request), this transport with decodeEnvelope 55–80, like wrk. It speaks only what the
// server answers: a status line, headers, and a body of a Content-Length or chunked.

// wireConn is one kept-alive connection to the server.
type wireConn struct {
	c  net.Conn
	br *bufio.Reader
	bw *bufio.Writer
}

// wirePool keeps idle connections to one address for reuse.
type wirePool struct {
	addr string
	idle chan *wireConn
}

func newWirePool(addr string, size int) *wirePool {
	return &wirePool{addr: addr, idle: make(chan *wireConn, size)}
}

// get returns an idle connection, or dials one; reused says which.
func (p *wirePool) get(ctx context.Context) (wc *wireConn, reused bool, err error) {
	select {
	case wc := <-p.idle:
		return wc, true, nil
	default:
	}
	d := net.Dialer{Timeout: 5 * time.Second}
	c, err := d.DialContext(ctx, "tcp", p.addr)
	if err != nil {
		return nil, false, err
	}
	return &wireConn{c: c, br: bufio.NewReaderSize(c, 32<<10), bw: bufio.NewWriterSize(c, 8<<10)}, false, nil
}

// put keeps a connection for the next call, or closes it when enough are idle.
func (p *wirePool) put(wc *wireConn) {
	select {
	case p.idle <- wc:
	default:
		wc.c.Close()
	}
}

// closeIdle closes every idle connection.
func (p *wirePool) closeIdle() {
	for {
		select {
		case wc := <-p.idle:
			wc.c.Close()
		default:
			return
		}
	}
}

// errNothingRead is a connection that failed before any byte of the answer came: a
// kept-alive one the server had closed while it was idle. Such a call is retried once on
// a fresh connection (the bench never stops the server in the middle of a phase, so the
// server cannot have read the request and then dropped it).
var errNothingRead = errors.New("connection closed before the answer")

// post sends one POST and returns the answer's status and body.
func (p *wirePool) post(ctx context.Context, path string, body []byte) (status int, resp []byte, err error) {
	for attempt := 0; ; attempt++ {
		wc, reused, err := p.get(ctx)
		if err != nil {
			return 0, nil, err
		}
		status, resp, keep, err := wc.roundTrip(ctx, p.addr, path, body)
		if err != nil {
			wc.c.Close()
			if reused && attempt == 0 && errors.Is(err, errNothingRead) {
				continue
			}
			return 0, nil, err
		}
		if keep {
			p.put(wc)
		} else {
			wc.c.Close()
		}
		return status, resp, nil
	}
}

func (wc *wireConn) roundTrip(ctx context.Context, host, path string, body []byte) (status int, resp []byte, keep bool, err error) {
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(5 * time.Minute)
	}
	if err := wc.c.SetDeadline(deadline); err != nil {
		return 0, nil, false, err
	}
	// A cancelled run stops a call waiting for its answer.
	defer context.AfterFunc(ctx, func() { wc.c.SetDeadline(time.Now()) })()
	bw := wc.bw
	bw.WriteString("POST ")
	bw.WriteString(path)
	bw.WriteString(" HTTP/1.1\r\nHost: ")
	bw.WriteString(host)
	bw.WriteString("\r\nContent-Type: application/json\r\nContent-Length: ")
	bw.WriteString(strconv.Itoa(len(body)))
	bw.WriteString("\r\n\r\n")
	bw.Write(body)
	if err := bw.Flush(); err != nil {
		return 0, nil, false, fmt.Errorf("%w: %v", errNothingRead, err)
	}
	return readAnswer(wc.br)
}

// readAnswer reads an HTTP/1.1 answer: its status, its body, and whether the connection
// stays open.
func readAnswer(br *bufio.Reader) (status int, body []byte, keep bool, err error) {
	line, err := br.ReadSlice('\n')
	if err != nil {
		if len(line) == 0 {
			err = fmt.Errorf("%w: %v", errNothingRead, err)
		}
		return 0, nil, false, err
	}
	// "HTTP/1.1 200 OK"
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) {
		return 0, nil, false, fmt.Errorf("bad status line %q", line)
	}
	if status, err = strconv.Atoi(string(line[9:12])); err != nil {
		return 0, nil, false, fmt.Errorf("bad status line %q", line)
	}
	length, chunked := -1, false
	keep = line[7] == '1' // HTTP/1.1 keeps the connection unless told otherwise
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return 0, nil, false, err
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			break
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			return 0, nil, false, fmt.Errorf("bad header %q", line)
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			if length, err = strconv.Atoi(string(value)); err != nil || length < 0 {
				return 0, nil, false, fmt.Errorf("bad Content-Length %q", value)
			}
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			chunked = bytes.EqualFold(value, []byte("chunked"))
		case bytes.EqualFold(name, []byte("Connection")):
			keep = !bytes.EqualFold(value, []byte("close"))
		}
	}
	switch {
	case chunked:
		body, err = readChunked(br)
	case length >= 0:
		body = make([]byte, length)
		_, err = io.ReadFull(br, body)
	default:
		// No length: the body runs to the end of the connection.
		body, err = io.ReadAll(br)
		keep = false
	}
	return status, body, keep, err
}

// readChunked reads a chunked body and its (empty) trailer.
func readChunked(br *bufio.Reader) ([]byte, error) {
	var body []byte
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return nil, err
		}
		size, _, _ := bytes.Cut(bytes.TrimRight(line, "\r\n"), []byte(";"))
		n, err := strconv.ParseUint(string(size), 16, 31)
		if err != nil {
			return nil, fmt.Errorf("bad chunk size %q", line)
		}
		if n == 0 {
			for { // trailer lines, up to the empty one
				line, err := br.ReadSlice('\n')
				if err != nil {
					return nil, err
				}
				if len(bytes.TrimRight(line, "\r\n")) == 0 {
					return body, nil
				}
			}
		}
		start := len(body)
		body = append(body, make([]byte, n)...)
		if _, err := io.ReadFull(br, body[start:]); err != nil {
			return nil, err
		}
		if _, err := br.Discard(2); err != nil { // the CRLF after the chunk
			return nil, err
		}
	}
}

// decodeEnvelope splits a REST answer into its top-level members without decoding the
// result: encoding/json spent 55 µs of the bench's CPU on a page of 50 items (7 KB),
// more than the rest of a call. The result stays raw for the callers that read it
// (and decode it then); the split checks the answer's structure — one object, strings
// closed, brackets balanced — which catches a truncated or garbled body.
func decodeEnvelope(b []byte) (*envelope, error) {
	var env envelope
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return nil, errors.New("not an object")
	}
	i = skipSpace(b, i+1)
	for i < len(b) && b[i] != '}' {
		keyEnd, err := skipValue(b, i)
		if err != nil || b[i] != '"' {
			return nil, fmt.Errorf("bad member name at %d", i)
		}
		key := b[i+1 : keyEnd-1]
		i = skipSpace(b, keyEnd)
		if i >= len(b) || b[i] != ':' {
			return nil, fmt.Errorf("no colon at %d", i)
		}
		i = skipSpace(b, i+1)
		end, err := skipValue(b, i)
		if err != nil {
			return nil, err
		}
		value := b[i:end]
		// Member names match as encoding/json matches them: ignoring case.
		switch strings.ToLower(string(key)) {
		case "result":
			env.Result = value
		case "error":
			env.Error = value
		case "total":
			err = json.Unmarshal(value, &env.Total)
		case "next":
			err = json.Unmarshal(value, &env.Next)
		case "error_description":
			err = json.Unmarshal(value, &env.Desc)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", key, err)
		}
		i = skipSpace(b, end)
		if i < len(b) && b[i] == ',' {
			i = skipSpace(b, i+1)
		} else if i >= len(b) || b[i] != '}' {
			return nil, fmt.Errorf("no comma or brace at %d", i)
		}
	}
	if i >= len(b) || skipSpace(b, i+1) != len(b) {
		return nil, errors.New("unterminated object or trailing data")
	}
	return &env, nil
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

func isSpace(c byte) bool { return c == ' ' || c == '\n' || c == '\r' || c == '\t' }

// skipValue returns the end of the JSON value starting at b[i].
func skipValue(b []byte, i int) (int, error) {
	depth := 0
	for j := i; j < len(b); j++ {
		switch b[j] {
		case '"':
			for j++; j < len(b) && b[j] != '"'; j++ {
				if b[j] == '\\' {
					j++
				}
			}
			if j >= len(b) {
				return 0, errors.New("unterminated string")
			}
		case '{', '[':
			depth++
			continue
		case '}', ']':
			depth--
			if depth < 0 {
				return 0, fmt.Errorf("unbalanced %c at %d", b[j], j)
			}
		case ',', ' ', '\n', '\r', '\t', ':':
			// At depth 0 every value has ended before its next delimiter (a scalar at
			// its last byte, below): one here means no value at all.
			if depth == 0 {
				return 0, fmt.Errorf("no value at %d", i)
			}
			continue
		default:
			if depth == 0 && j+1 < len(b) && isDelim(b[j+1]) {
				return j + 1, nil // a scalar's last byte
			}
			continue
		}
		if depth == 0 {
			return j + 1, nil
		}
	}
	if depth == 0 && i < len(b) {
		return len(b), nil
	}
	return 0, errors.New("unterminated value")
}

func isDelim(c byte) bool { return c == ',' || c == '}' || c == ']' || c == ':' || isSpace(c) }
