// Package benchapi is the small REST client the benchmark commands share: calls through
// an inbound webhook URL, answers decoded with numbers kept exact.
package benchapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
)

// API calls the server's REST API at Base (a webhook URL ending in "/").
type API struct {
	Base string
	HTTP *http.Client
}

// Call posts params as JSON to a method and returns its `result`; an answer other than
// 200 is an error carrying the body.
func (a *API) Call(method string, params any) (any, error) {
	b, _ := json.Marshal(params)
	resp, err := a.HTTP.Post(a.Base+method, "application/json", bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var body map[string]any
	dec := json.NewDecoder(resp.Body)
	dec.UseNumber()
	if err := dec.Decode(&body); err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: %d %v", method, resp.StatusCode, body)
	}
	return body["result"], nil
}

// Num reads the integer at a path of object keys in a decoded answer (0 when absent).
func Num(v any, path ...string) int64 {
	for _, k := range path {
		m, _ := v.(map[string]any)
		v = m[k]
	}
	n, _ := v.(json.Number)
	i, _ := n.Int64()
	return i
}
