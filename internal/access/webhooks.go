// Package access is who acts and what they may do: the Actor every read and write of
// the domain takes, the Policy the domain asks before each, users, inbound webhooks and
// the throttle of failed authentications. It sits below the domain.
package access

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"strconv"
	"sync"
	"time"

	"smartcrm/internal/store"
)

// ErrNoAuth is every authentication failure: an unknown secret, a secret of another
// user, an inactive user. They are one error on purpose: a caller who could tell "this
// secret exists, but not for this user" from "no such secret" would learn which guessed
// secrets are real.
var ErrNoAuth = errors.New("wrong authorization data")

// Webhooks authenticates inbound webhook calls. Secrets are stored as SHA-256 hashes
// (they are long random strings, so a slow hash adds nothing); a verified secret is
// remembered for a short while so that a busy integration does not cost a query per call.
type Webhooks struct {
	st    *store.Store
	mu    sync.Mutex
	cache map[string]cachedHook
	// Throttle counts failed authentications per client address (AuthenticateFrom).
	Throttle *Throttle
}

type cachedHook struct {
	actor Actor
	at    time.Time
}

const hookCacheTTL = 30 * time.Second

// NewWebhooks returns the authenticator.
func NewWebhooks(st *store.Store) *Webhooks {
	return &Webhooks{st: st, cache: map[string]cachedHook{},
		Throttle: NewThrottle(DefaultFailureLimit, DefaultFailureWindow, DefaultMaxAddrs)}
}

// ThrottledError is the answer to an address that failed to authenticate too often:
// its credentials were not checked.
type ThrottledError struct {
	RetryAfter time.Duration
}

func (e *ThrottledError) Error() string {
	return "too many failed authentications from this address"
}

// AuthenticateFrom is Authenticate for a call from a client address: an address the
// throttle blocks gets a *ThrottledError whatever it sends (so a right guess during the
// block looks like any other), and each ErrNoAuth counts against its address.
func (w *Webhooks) AuthenticateFrom(ctx context.Context, addr string, userID int64, secret string) (Actor, error) {
	if wait, blocked := w.Throttle.Blocked(addr); blocked {
		return Actor{}, &ThrottledError{RetryAfter: wait}
	}
	actor, err := w.Authenticate(ctx, userID, secret)
	if errors.Is(err, ErrNoAuth) {
		w.Throttle.Failed(addr)
	}
	return actor, err
}

// HashSecret is how a secret is stored.
func HashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// NewSecret makes a random webhook secret of 16 lower-case letters and digits, the
// shape Bitrix24 uses.
func NewSecret() (string, error) {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b), nil
}

// Authenticate checks a webhook secret for the user named in the URL. The stored hashes
// of that user's webhooks are compared with the secret's hash in constant time.
func (w *Webhooks) Authenticate(ctx context.Context, userID int64, secret string) (Actor, error) {
	if secret == "" || len(secret) > 256 {
		return Actor{}, ErrNoAuth
	}
	hash := HashSecret(secret)
	key := strconv.FormatInt(userID, 10) + ":" + hash
	w.mu.Lock()
	c, ok := w.cache[key]
	w.mu.Unlock()
	if ok && time.Since(c.at) < hookCacheTTL {
		return c.actor, nil
	}
	keys, err := w.st.WebhookKeys(ctx, userID)
	if err != nil {
		return Actor{}, err
	}
	matched := 0
	var appID int64
	for _, k := range keys {
		eq := subtle.ConstantTimeCompare([]byte(k.Hash), []byte(hash))
		matched |= eq
		appID |= int64(subtle.ConstantTimeSelect(eq, int(k.ID), 0))
	}
	if matched != 1 {
		// Whether the secret belongs to someone else is not looked up: the answer must
		// not depend on it (nor take longer when it does).
		return Actor{}, ErrNoAuth
	}
	users, err := w.st.Users(ctx)
	if err != nil {
		return Actor{}, err
	}
	for _, u := range users {
		if u.ID == userID && u.Active {
			actor := Actor{UserID: userID, IsAdmin: u.IsAdmin, Origin: OriginWebhook, AppID: appID}
			w.mu.Lock()
			if len(w.cache) > 10000 {
				w.cache = map[string]cachedHook{}
			}
			w.cache[key] = cachedHook{actor: actor, at: time.Now()}
			w.mu.Unlock()
			return actor, nil
		}
	}
	return Actor{}, ErrNoAuth
}

// Create makes a webhook for a user and returns its secret. A given secret is used as
// is (the first start takes SMARTCRM_ADMIN_TOKEN so scripts can know it).
func Create(ctx context.Context, tx *store.Tx, userID int64, secret, title string) (string, error) {
	hook, err := CreateApp(ctx, tx, userID, secret, title)
	return hook.Secret, err
}

// NewHook is a webhook just made: its secret (shown once) and, as an application, its
// id and the token handlers receive in auth[application_token].
type NewHook struct {
	ID               int64
	Secret           string
	ApplicationToken string
}

// CreateApp is Create, telling the webhook's application token too.
func CreateApp(ctx context.Context, tx *store.Tx, userID int64, secret, title string) (NewHook, error) {
	if secret == "" {
		var err error
		if secret, err = NewSecret(); err != nil {
			return NewHook{}, err
		}
	}
	token, err := NewApplicationToken()
	if err != nil {
		return NewHook{}, err
	}
	id, err := tx.InsertWebhook(ctx, userID, HashSecret(secret), title, token)
	return NewHook{ID: id, Secret: secret, ApplicationToken: token}, err
}

// NewApplicationToken makes the token an application's event handlers check: 32
// random hexadecimal digits, like Bitrix24's.
func NewApplicationToken() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// GiveApplicationTokens gives the webhooks made before applications had tokens theirs.
func GiveApplicationTokens(ctx context.Context, st *store.Store) error {
	ids, err := st.WebhooksWithoutToken(ctx)
	if err != nil || len(ids) == 0 {
		return err
	}
	return st.InTx(ctx, func(tx *store.Tx) error {
		for _, id := range ids {
			token, err := NewApplicationToken()
			if err != nil {
				return err
			}
			if err := tx.SetApplicationToken(ctx, id, token); err != nil {
				return err
			}
		}
		return nil
	})
}

// CreateFor makes a webhook for the signed-in person and returns its secret, shown to
// them once (the web UI's "webhook URL for triggers"): a person makes their own.
func (w *Webhooks) CreateFor(ctx context.Context, actor Actor, title string) (string, error) {
	if actor.UserID <= 0 {
		return "", ErrDenied
	}
	var secret string
	err := w.st.InTx(ctx, func(tx *store.Tx) (err error) {
		secret, err = Create(ctx, tx, actor.UserID, "", title)
		return err
	})
	return secret, err
}
