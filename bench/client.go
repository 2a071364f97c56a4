package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// client calls REST methods through one webhook.
type client struct {
	path string // /rest/1/secret/
	wire *wirePool
}

func newClient(base string, concurrency int) *client {
	c := &client{}
	// Keep-alive with an idle pool at least as large as the number of workers (the
	// soak runs twice as many): otherwise workers would open a fresh TCP connection per
	// request and the benchmark would measure connection set-up.
	c.setBase(base, max(64, concurrency*4))
	return c
}

// setBase points the client at a webhook, http://host/rest/1/secret/.
func (c *client) setBase(base string, idle int) {
	host, path, _ := strings.Cut(strings.TrimPrefix(base, "http://"), "/")
	if c.wire != nil {
		c.wire.closeIdle()
	}
	c.path, c.wire = "/"+path, newWirePool(host, idle)
}

// closeIdle closes the kept-alive connections no call is using.
func (c *client) closeIdle() { c.wire.closeIdle() }

// envelope is the success or error envelope of a REST call.
type envelope struct {
	Result json.RawMessage `json:"result"`
	Total  *int            `json:"total"`
	Next   *int            `json:"next"`
	Error  json.RawMessage `json:"error"`
	Desc   string          `json:"error_description"`
}

// apiError is an error envelope, or a transport failure with its HTTP status.
type apiError struct {
	Status int
	Code   string
	Desc   string
}

func (e *apiError) Error() string {
	return fmt.Sprintf("HTTP %d %s: %s", e.Status, e.Code, e.Desc)
}

// callRaw posts a JSON body to a method and returns the decoded envelope. Any error
// envelope, non-200 status or malformed body is an error: the bench counts those
// instead of timing them as successes.
func (c *client) callRaw(ctx context.Context, method string, body []byte) (*envelope, error) {
	status, b, err := c.wire.post(ctx, c.path+method, body)
	if err != nil {
		return nil, err
	}
	env, err := decodeEnvelope(b)
	if err != nil {
		return nil, &apiError{Status: status, Code: "BAD_JSON", Desc: err.Error() + ": " + truncate(string(b), 200)}
	}
	if len(env.Error) > 0 && string(env.Error) != "null" {
		return nil, &apiError{Status: status, Code: strings.Trim(string(env.Error), `"`), Desc: env.Desc}
	}
	if status != http.StatusOK {
		return nil, &apiError{Status: status, Code: "HTTP", Desc: truncate(string(b), 200)}
	}
	return env, nil
}

// call marshals params, calls, and decodes the result into out (when not nil).
func (c *client) call(ctx context.Context, method string, params any, out any) (*envelope, error) {
	body, err := json.Marshal(params)
	if err != nil {
		return nil, err
	}
	env, err := c.callRaw(ctx, method, body)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", method, err)
	}
	if out != nil {
		if err := json.Unmarshal(env.Result, out); err != nil {
			return nil, fmt.Errorf("%s: decoding result: %w", method, err)
		}
	}
	return env, nil
}

// ensureAuth checks the webhook. On a PostgreSQL database that had users before this
// run, our admin token was not installed; then a webhook is made with the server's CLI.
func (c *client) ensureAuth(ctx context.Context, srv *serverProc, bin, db string) error {
	_, err := c.call(ctx, "crm.type.list", map[string]any{}, nil)
	var ae *apiError
	if err == nil || !errors.As(err, &ae) || ae.Status != http.StatusUnauthorized {
		return err
	}
	url, err := createWebhook(ctx, bin, db, srv.addr)
	if err != nil {
		return err
	}
	// The CLI prints http://ADDR/rest/1/SECRET/ with the address we gave it.
	c.setBase(strings.TrimSuffix(url, "/")+"/", cap(c.wire.idle))
	_, err = c.call(ctx, "crm.type.list", map[string]any{}, nil)
	return err
}

// createType makes a smart process with stages and the amount fields, and returns its
// entityTypeId.
func (c *client) createType(ctx context.Context, title string) (int64, error) {
	var res struct {
		Type struct {
			EntityTypeID int64 `json:"entityTypeId"`
		} `json:"type"`
	}
	_, err := c.call(ctx, "crm.type.add", map[string]any{"fields": map[string]any{
		"title": title, "isStagesEnabled": "Y", "isLinkWithProductsEnabled": "Y",
	}}, &res)
	if err != nil {
		return 0, err
	}
	if res.Type.EntityTypeID == 0 {
		return 0, errors.New("crm.type.add returned no entityTypeId")
	}
	return res.Type.EntityTypeID, nil
}

// addedItem is the part of crm.item.add's answer the bench reads.
type addedItem struct {
	Item struct {
		ID         int64  `json:"id"`
		CategoryID int64  `json:"categoryId"`
		StageID    string `json:"stageId"`
	} `json:"item"`
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
