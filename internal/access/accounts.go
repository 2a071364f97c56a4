package access

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"

	"smartcrm/internal/store"
)

// People sign in to the web UI with a login and a password. Passwords are kept as
// bcrypt hashes; a session is a random token in a cookie whose SHA-256 hash is the
// session's key in the database (a leaked database copy opens no session), with a
// token of its own for the forms of that session (CSRF). Failed sign-ins count per
// address in a Throttle, as failed webhook calls do.

// Errors of signing in and of managing accounts.
var (
	// ErrBadCredentials is every failed sign-in: unknown login, wrong password,
	// inactive user. One error, so that a guesser cannot tell which logins exist.
	ErrBadCredentials = errors.New("wrong login or password")
	// ErrNoSession is a cookie that names no live session.
	ErrNoSession = errors.New("no such session")
	// ErrLoginTaken is a login another user has.
	ErrLoginTaken = errors.New("this login is taken")
)

// InputError is a value an administrator typed that cannot be used.
type InputError struct{ Field, Msg string }

func (e *InputError) Error() string { return e.Msg }

// Password rules: bcrypt reads at most 72 bytes, and a short password is guessed.
const (
	MinPasswordLength = 8
	MaxPasswordBytes  = 72
	// SessionTTL is how long a session lasts after sign-in.
	SessionTTL = 7 * 24 * time.Hour
	// Sign-in throttle: 10 failures a minute from one address block it for a minute.
	SignInFailureLimit = 10
)

// Accounts signs people in and out and manages their logins.
type Accounts struct {
	st *store.Store
	// Throttle counts failed sign-ins per client address.
	Throttle *Throttle
	// Cost is bcrypt's work factor (tests lower it).
	Cost int
	now  func() time.Time
}

// NewAccounts returns the account service over the store.
func NewAccounts(st *store.Store) *Accounts {
	return &Accounts{st: st, Throttle: NewThrottle(SignInFailureLimit, DefaultFailureWindow, DefaultMaxAddrs),
		Cost: bcrypt.DefaultCost, now: time.Now}
}

// Session is a signed-in person.
type Session struct {
	// Token is the cookie's value; only known right after sign-in.
	Token   string
	Hash    string
	User    User
	Login   string
	CSRF    string
	Expires time.Time
}

// Actor is who the session's requests act as: a person.
func (s *Session) Actor() Actor {
	return Actor{UserID: s.User.ID, IsAdmin: s.User.IsAdmin, Origin: OriginPerson}
}

// HashPassword hashes a password after checking its length.
func (a *Accounts) HashPassword(password string) (string, error) {
	if utf8.RuneCountInString(password) < MinPasswordLength {
		return "", &InputError{Field: "password", Msg: fmt.Sprintf("The password must have at least %d characters", MinPasswordLength)}
	}
	if len(password) > MaxPasswordBytes {
		return "", &InputError{Field: "password", Msg: fmt.Sprintf("The password must have at most %d bytes", MaxPasswordBytes)}
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), a.Cost)
	return string(h), err
}

// dummyHash is compared when the login is unknown, so that a wrong login takes as long
// as a wrong password.
var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("not a password of anyone"), bcrypt.DefaultCost)

// SignIn checks a login and a password from a client address and opens a session. A
// blocked address gets a *ThrottledError without its password being checked.
func (a *Accounts) SignIn(ctx context.Context, addr, login, password string) (*Session, error) {
	if wait, blocked := a.Throttle.Blocked(addr); blocked {
		return nil, &ThrottledError{RetryAfter: wait}
	}
	login = strings.TrimSpace(login)
	acc, err := a.st.AccountByLogin(ctx, login)
	if errors.Is(err, store.ErrNotFound) || login == "" || len(password) > MaxPasswordBytes {
		_ = bcrypt.CompareHashAndPassword(dummyHash, []byte(password))
		a.Throttle.Failed(addr)
		return nil, ErrBadCredentials
	}
	if err != nil {
		return nil, err
	}
	if acc.PasswordHash == "" || bcrypt.CompareHashAndPassword([]byte(acc.PasswordHash), []byte(password)) != nil || !acc.Active {
		a.Throttle.Failed(addr)
		return nil, ErrBadCredentials
	}
	token, err := randomToken()
	if err != nil {
		return nil, err
	}
	csrf, err := randomToken()
	if err != nil {
		return nil, err
	}
	now := a.now().Truncate(time.Second)
	rec := &store.SessionRecord{TokenHash: tokenHash(token), UserID: acc.ID, CSRF: csrf, Created: now, Expires: now.Add(SessionTTL)}
	err = a.st.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.DeleteExpiredSessions(ctx, now); err != nil {
			return err
		}
		return tx.InsertSession(ctx, rec)
	})
	if err != nil {
		return nil, err
	}
	return &Session{Token: token, Hash: rec.TokenHash, User: userOf(acc), Login: acc.Login, CSRF: csrf, Expires: rec.Expires}, nil
}

// Session finds the live session of a cookie token: not expired, its user active.
func (a *Accounts) Session(ctx context.Context, token string) (*Session, error) {
	if token == "" || len(token) > 128 {
		return nil, ErrNoSession
	}
	h := tokenHash(token)
	rec, err := a.st.Session(ctx, h)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrNoSession
	}
	if err != nil {
		return nil, err
	}
	if !a.now().Before(rec.Expires) {
		return nil, ErrNoSession
	}
	acc, err := a.st.AccountByID(ctx, rec.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrNoSession
	}
	if err != nil {
		return nil, err
	}
	if !acc.Active {
		return nil, ErrNoSession
	}
	return &Session{Hash: h, User: userOf(acc), Login: acc.Login, CSRF: rec.CSRF, Expires: rec.Expires}, nil
}

// SignOut ends a session.
func (a *Accounts) SignOut(ctx context.Context, s *Session) error {
	return a.st.InTx(ctx, func(tx *store.Tx) error { return tx.DeleteSession(ctx, s.Hash) })
}

func userOf(acc *store.Account) User {
	return User{ID: acc.ID, Name: acc.Name, LastName: acc.LastName, Email: acc.Email, Active: acc.Active, IsAdmin: acc.IsAdmin}
}

// NewUser is what an administrator gives for a new person.
type NewUser struct {
	Login, Name, LastName, Email string
	// Password may be empty: one is generated and returned.
	Password string
	IsAdmin  bool
}

// maxNameLength bounds the names and e-mails people type.
const maxNameLength = 255

// AddUser creates a person who can sign in. It returns the user and the password
// (the given one, or the generated one, shown once).
func (a *Accounts) AddUser(ctx context.Context, actor Actor, in NewUser) (User, string, error) {
	if !actor.IsAdmin {
		return User{}, "", ErrDenied
	}
	in.Login = strings.TrimSpace(in.Login)
	if err := checkLogin(in.Login); err != nil {
		return User{}, "", err
	}
	for _, f := range []struct{ name, v string }{{"name", in.Name}, {"lastName", in.LastName}, {"email", in.Email}} {
		if utf8.RuneCountInString(f.v) > maxNameLength || !utf8.ValidString(f.v) {
			return User{}, "", &InputError{Field: f.name, Msg: fmt.Sprintf("The %s is too long", f.name)}
		}
	}
	if strings.TrimSpace(in.Name) == "" {
		return User{}, "", &InputError{Field: "name", Msg: "The name is required"}
	}
	if in.Email != "" && !strings.Contains(in.Email, "@") {
		return User{}, "", &InputError{Field: "email", Msg: "The e-mail is not an address"}
	}
	password := in.Password
	if password == "" {
		var err error
		if password, err = GeneratePassword(); err != nil {
			return User{}, "", err
		}
	}
	hash, err := a.HashPassword(password)
	if err != nil {
		return User{}, "", err
	}
	rec := &store.UserRecord{Name: strings.TrimSpace(in.Name), LastName: strings.TrimSpace(in.LastName), Email: strings.TrimSpace(in.Email),
		Active: true, IsAdmin: in.IsAdmin}
	err = a.st.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.InsertUser(ctx, rec); err != nil {
			return err
		}
		return tx.SetLogin(ctx, rec.ID, in.Login, hash)
	})
	if errors.Is(err, store.ErrDuplicate) {
		return User{}, "", &InputError{Field: "login", Msg: ErrLoginTaken.Error()}
	}
	if err != nil {
		return User{}, "", err
	}
	return User{ID: rec.ID, Name: rec.Name, LastName: rec.LastName, Email: rec.Email, Active: true, IsAdmin: rec.IsAdmin}, password, nil
}

func checkLogin(login string) error {
	if login == "" || len(login) > 64 {
		return &InputError{Field: "login", Msg: "The login must have 1 to 64 characters"}
	}
	for _, r := range login {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._@-", r)) {
			return &InputError{Field: "login", Msg: "The login may hold letters, digits and . _ @ - only"}
		}
	}
	return nil
}

// SetPassword gives a user a new password (generated when empty) and ends the user's
// sessions. It returns the password.
func (a *Accounts) SetPassword(ctx context.Context, actor Actor, userID int64, password string) (string, error) {
	if !actor.IsAdmin && actor.UserID != userID {
		return "", ErrDenied
	}
	if password == "" {
		var err error
		if password, err = GeneratePassword(); err != nil {
			return "", err
		}
	}
	hash, err := a.HashPassword(password)
	if err != nil {
		return "", err
	}
	err = a.st.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.SetPasswordHash(ctx, userID, hash); err != nil {
			return err
		}
		return tx.DeleteUserSessions(ctx, userID)
	})
	return password, err
}

// SetActive switches a user on or off; switching off ends the user's sessions. The
// administrator (user 1) stays on, so that someone can always sign in.
func (a *Accounts) SetActive(ctx context.Context, actor Actor, userID int64, active bool) error {
	if !actor.IsAdmin {
		return ErrDenied
	}
	if userID == 1 && !active {
		return &InputError{Field: "active", Msg: "The administrator (user 1) cannot be deactivated"}
	}
	return a.st.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.SetUserActive(ctx, userID, active); err != nil {
			return err
		}
		if active {
			return nil
		}
		return tx.DeleteUserSessions(ctx, userID)
	})
}

// Logins maps user ids to their logins.
func (a *Accounts) Logins(ctx context.Context) (map[int64]string, error) { return a.st.Logins(ctx) }

// EnsureAdminLogin gives the administrator (user 1) the login "admin" when it has no
// login yet — on the first start, or the first start after upgrading — with password,
// or a generated one. It returns the generated password ("" when it was given or the
// administrator had a login already), to be shown once.
func (a *Accounts) EnsureAdminLogin(ctx context.Context, password string) (generated string, err error) {
	acc, err := a.st.AccountByID(ctx, 1)
	if errors.Is(err, store.ErrNotFound) {
		return "", nil
	}
	if err != nil || acc.Login != "" {
		return "", err
	}
	if password == "" {
		if password, err = GeneratePassword(); err != nil {
			return "", err
		}
		generated = password
	}
	hash, err := a.HashPassword(password)
	if err != nil {
		return "", fmt.Errorf("SMARTCRM_ADMIN_PASSWORD: %w", err)
	}
	err = a.st.InTx(ctx, func(tx *store.Tx) error { return tx.SetLogin(ctx, 1, "admin", hash) })
	return generated, err
}

// GeneratePassword makes a random password of 16 letters and digits.
func GeneratePassword() (string, error) {
	const alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b), nil
}

func randomToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

func tokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// Preference reads a person's preference (a JSON text; "" when unset): the columns of
// a list, saved filters.
func (a *Accounts) Preference(ctx context.Context, userID int64, key string) (string, error) {
	v, err := a.st.Preference(ctx, userID, key)
	if errors.Is(err, store.ErrNotFound) {
		return "", nil
	}
	return v, err
}

// SetPreference stores a person's preference (a JSON text).
func (a *Accounts) SetPreference(ctx context.Context, userID int64, key, value string) error {
	if len(value) > 64<<10 {
		return &InputError{Field: key, Msg: "The setting is too large"}
	}
	return a.st.InTx(ctx, func(tx *store.Tx) error { return tx.SetPreference(ctx, userID, key, value) })
}
