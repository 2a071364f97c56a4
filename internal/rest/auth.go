package rest

import (
	"errors"
	"math"
	"net/http"
	"strconv"
	"time"

	"smartcrm/internal/access"
)

// errThrottled answers an address that failed to authenticate too often. Bitrix24 has
// no code of its own for this; QUERY_LIMIT_EXCEEDED is its "slow down" code, which the
// SDKs retry after a pause, and 429 with Retry-After says how long. Every call from the
// address gets it, right credentials or wrong, so it tells a guesser nothing.
var errThrottled = apiErr(http.StatusTooManyRequests, "QUERY_LIMIT_EXCEEDED", "Too many failed authorizations from this address; try again later")

// authenticate checks the webhook of a call. When it fails it has written the answer
// and returns false.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request, metricName string, started time.Time, userID int64, secret string) (access.Actor, bool) {
	actor, err := s.auth.AuthenticateFrom(r.Context(), r.RemoteAddr, userID, secret)
	if err == nil {
		return actor, true
	}
	var throttled *access.ThrottledError
	switch {
	case errors.As(err, &throttled):
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(throttled.RetryAfter.Seconds()))))
		s.writeError(w, metricName, started, errThrottled)
	case errors.Is(err, access.ErrNoAuth):
		s.writeError(w, metricName, started, errNoAuth)
	default:
		s.log.Error("authenticating", "err", err)
		s.writeError(w, metricName, started, errInternal)
	}
	return access.Actor{}, false
}
