package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"smartcrm/internal/field"
)

// Sign-in data of people: logins, password hashes and sessions (migration 11). The
// rules — hashing, expiry, the throttle — are the access package's; this file only
// keeps the rows.

// Account is a user with what signing in needs.
type Account struct {
	UserRecord
	Login        string // "" when the user cannot sign in
	PasswordHash string
}

// ErrDuplicate is a unique value (a login) that is taken.
var ErrDuplicate = errors.New("duplicate value")

// AccountByLogin finds the user with a login.
func (c conn) AccountByLogin(ctx context.Context, login string) (*Account, error) {
	return c.scanAccount(c.queryRow(ctx, `SELECT id, name, last_name, email, active, is_admin, login, password_hash FROM users WHERE login = ?`, login))
}

// AccountByID finds a user by id.
func (c conn) AccountByID(ctx context.Context, id int64) (*Account, error) {
	return c.scanAccount(c.queryRow(ctx, `SELECT id, name, last_name, email, active, is_admin, login, password_hash FROM users WHERE id = ?`, id))
}

func (c conn) scanAccount(row *sql.Row) (*Account, error) {
	var a Account
	var active, admin string
	var login sql.NullString
	if err := row.Scan(&a.ID, &a.Name, &a.LastName, &a.Email, &active, &admin, &login, &a.PasswordHash); err != nil {
		return nil, errNoRows(err)
	}
	a.Active, a.IsAdmin, a.Login = active == "Y", admin == "Y", login.String
	return &a, nil
}

// Logins maps user ids to logins, for the users page.
func (c conn) Logins(ctx context.Context) (map[int64]string, error) {
	rows, err := c.query(ctx, `SELECT id, login FROM users WHERE login IS NOT NULL`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int64]string{}
	for rows.Next() {
		var id int64
		var login string
		if err := rows.Scan(&id, &login); err != nil {
			return nil, err
		}
		out[id] = login
	}
	return out, rows.Err()
}

// SetLogin gives a user a login and a password hash. A login taken by another user is
// ErrDuplicate.
func (tx *Tx) SetLogin(ctx context.Context, userID int64, login, passwordHash string) error {
	taken, err := tx.exists(ctx, `SELECT 1 FROM users WHERE login = ? AND id <> ? LIMIT 1`, login, userID)
	if err != nil {
		return err
	}
	if taken {
		return ErrDuplicate
	}
	_, err = tx.exec(ctx, `UPDATE users SET login = ?, password_hash = ? WHERE id = ?`, login, passwordHash, userID)
	return err
}

// SetPasswordHash replaces a user's password hash.
func (tx *Tx) SetPasswordHash(ctx context.Context, userID int64, hash string) error {
	return tx.updateOne(ctx, `UPDATE users SET password_hash = ? WHERE id = ?`, hash, userID)
}

// SetUserActive switches a user on or off.
func (tx *Tx) SetUserActive(ctx context.Context, userID int64, active bool) error {
	return tx.updateOne(ctx, `UPDATE users SET active = ? WHERE id = ?`, yn(active), userID)
}

func (tx *Tx) updateOne(ctx context.Context, q string, args ...any) error {
	res, err := tx.exec(ctx, q, args...)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return ErrNotFound
	}
	return nil
}

// SessionRecord is a browser session, found by the hash of its cookie's token.
type SessionRecord struct {
	TokenHash string
	UserID    int64
	CSRF      string
	Created   time.Time
	Expires   time.Time
}

// InsertSession stores a new session.
func (tx *Tx) InsertSession(ctx context.Context, s *SessionRecord) error {
	_, err := tx.exec(ctx, `INSERT INTO sessions (token_hash, user_id, csrf, created_time, expires_time) VALUES (?, ?, ?, ?, ?)`,
		s.TokenHash, s.UserID, s.CSRF, tx.d.timeArg(s.Created), tx.d.timeArg(s.Expires))
	return err
}

// Session reads a session by its token hash.
func (c conn) Session(ctx context.Context, tokenHash string) (*SessionRecord, error) {
	created, expires := c.d.scanTarget(field.StorageTime), c.d.scanTarget(field.StorageTime)
	s := &SessionRecord{TokenHash: tokenHash}
	err := c.queryRow(ctx, `SELECT user_id, csrf, created_time, expires_time FROM sessions WHERE token_hash = ?`, tokenHash).
		Scan(&s.UserID, &s.CSRF, created, expires)
	if err != nil {
		return nil, errNoRows(err)
	}
	for dst, src := range map[*time.Time]any{&s.Created: created, &s.Expires: expires} {
		v, err := c.d.decode(field.StorageTime, src)
		if err != nil {
			return nil, err
		}
		*dst, _ = v.(time.Time)
	}
	return s, nil
}

// DeleteSession ends a session.
func (tx *Tx) DeleteSession(ctx context.Context, tokenHash string) error {
	_, err := tx.exec(ctx, `DELETE FROM sessions WHERE token_hash = ?`, tokenHash)
	return err
}

// DeleteUserSessions ends every session of a user (deactivated, password reset).
func (tx *Tx) DeleteUserSessions(ctx context.Context, userID int64) error {
	_, err := tx.exec(ctx, `DELETE FROM sessions WHERE user_id = ?`, userID)
	return err
}

// DeleteExpiredSessions removes sessions that expired before t.
func (tx *Tx) DeleteExpiredSessions(ctx context.Context, t time.Time) error {
	_, err := tx.exec(ctx, `DELETE FROM sessions WHERE expires_time < ?`, tx.d.timeArg(t))
	return err
}

// Preference reads a person's preference (a JSON text); ErrNotFound when unset.
func (c conn) Preference(ctx context.Context, userID int64, key string) (string, error) {
	var v string
	err := c.queryRow(ctx, `SELECT value FROM user_preferences WHERE user_id = ? AND pref_key = ?`, userID, key).Scan(&v)
	return v, errNoRows(err)
}

// SetPreference stores a person's preference (a JSON text), replacing the old one.
func (tx *Tx) SetPreference(ctx context.Context, userID int64, key, value string) error {
	_, err := tx.exec(ctx, `INSERT INTO user_preferences (user_id, pref_key, value) VALUES (?, ?, `+tx.d.placeholder(field.StorageJSON)+`)
ON CONFLICT (user_id, pref_key) DO UPDATE SET value = excluded.value`, userID, key, value)
	return err
}

// CardLayout reads the card layout of a type for a user (0: the common one); ErrNotFound
// when there is none.
func (c conn) CardLayout(ctx context.Context, entityTypeID, categoryID, userID int64) (string, error) {
	var v string
	err := c.queryRow(ctx, `SELECT value FROM card_layouts WHERE entity_type_id = ? AND category_id = ? AND user_id = ?`,
		entityTypeID, categoryID, userID).Scan(&v)
	return v, errNoRows(err)
}

// SetCardLayout stores a card layout (a JSON text).
func (tx *Tx) SetCardLayout(ctx context.Context, entityTypeID, categoryID, userID int64, value string) error {
	_, err := tx.exec(ctx, `INSERT INTO card_layouts (entity_type_id, category_id, user_id, value) VALUES (?, ?, ?, `+tx.d.placeholder(field.StorageJSON)+`)
ON CONFLICT (entity_type_id, category_id, user_id) DO UPDATE SET value = excluded.value`, entityTypeID, categoryID, userID, value)
	return err
}

// DeleteCardLayouts removes a type's layouts: one user's (userID > 0), the common one
// (0), or every personal one (-1).
func (tx *Tx) DeleteCardLayouts(ctx context.Context, entityTypeID, categoryID, userID int64) error {
	if userID < 0 {
		_, err := tx.exec(ctx, `DELETE FROM card_layouts WHERE entity_type_id = ? AND category_id = ? AND user_id > 0`, entityTypeID, categoryID)
		return err
	}
	_, err := tx.exec(ctx, `DELETE FROM card_layouts WHERE entity_type_id = ? AND category_id = ? AND user_id = ?`, entityTypeID, categoryID, userID)
	return err
}
