package automation

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
)

// webhookRobot calls a URL: {url, method?: POST|GET, headers?, body?}. The body and
// headers are templates. The call carries the run's idempotency key; 2xx is done, 4xx
// fails the run, 5xx and network errors are retried. The status and the first 4 KB of
// the answer are kept on the run.
type webhookRobot struct{}

// maxAnswerKept bounds what a run keeps of an answer.
const maxAnswerKept = 4 << 10

func (webhookRobot) check(c *checker, p map[string]any) {
	raw, _ := p["url"].(string)
	if raw == "" {
		c.add("url", "url is required")
	} else if err := checkURL(raw); err != nil {
		c.add("url", "%v", err)
	} else {
		c.checkTemplate("url", raw)
	}
	switch m, _ := p["method"].(string); strings.ToUpper(m) {
	case "", "POST", "GET":
	default:
		c.add("method", "method is POST or GET")
	}
	if h, given := p["headers"]; given {
		m, ok := h.(map[string]any)
		if !ok {
			c.add("headers", "headers is an object of names and values")
		}
		for name, v := range m {
			s, isText := v.(string)
			if !isText || strings.ContainsAny(name, " :\r\n") || strings.ContainsAny(s, "\r\n") {
				c.add("headers."+name, "a header is a name and a one-line text")
				continue
			}
			c.checkTemplate("headers."+name, s)
		}
	}
	c.text(p, "body", false)
}

func (webhookRobot) call(ctx context.Context, rc *runCtx) (map[string]any, error) {
	p := rc.robot.Params
	raw, _ := p["url"].(string)
	target := rc.r.render(raw)
	if err := checkURL(target); err != nil {
		return nil, permanent(err)
	}
	method := strings.ToUpper(fmt.Sprint(p["method"]))
	if method != "GET" {
		method = "POST"
	}
	var body io.Reader
	if b, _ := p["body"].(string); b != "" && method == "POST" {
		body = strings.NewReader(rc.r.render(b))
	}
	req, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		return nil, permanent(err)
	}
	if h, ok := p["headers"].(map[string]any); ok {
		names := make([]string, 0, len(h))
		for n := range h {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			s, _ := h[n].(string)
			req.Header.Set(n, rc.r.render(s))
		}
	}
	if body != nil && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Idempotency-Key", rc.s.idempotencyKey(rc.run))
	req.Header.Set("User-Agent", "smartcrm-automation")
	resp, err := rc.s.http.Do(req)
	if err != nil {
		return nil, err // the network: retried
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, maxAnswerKept))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	result := map[string]any{"status": resp.StatusCode, "body": string(answer)}
	switch {
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusRequestTimeout:
		return result, fmt.Errorf("%s answered %d", target, resp.StatusCode)
	case resp.StatusCode >= 400:
		return result, permanent(fmt.Errorf("%s answered %d", target, resp.StatusCode))
	}
	return result, nil
}
