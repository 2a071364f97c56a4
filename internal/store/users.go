package store

import (
	"context"
	"time"

	"smartcrm/internal/field"
)

// UserRecord is a person who works in the CRM.
type UserRecord struct {
	ID       int64
	Name     string
	LastName string
	Email    string
	Active   bool
	IsAdmin  bool
}

// InsertUser adds a user and sets u.ID.
func (tx *Tx) InsertUser(ctx context.Context, u *UserRecord) error {
	return tx.queryRow(ctx, `INSERT INTO users (name, last_name, email, active, is_admin, created_time) VALUES (?, ?, ?, ?, ?, ?) RETURNING id`,
		u.Name, u.LastName, u.Email, yn(u.Active), yn(u.IsAdmin), tx.now()).Scan(&u.ID)
}

// Users lists every user by id.
func (c conn) Users(ctx context.Context) ([]*UserRecord, error) {
	rows, err := c.query(ctx, `SELECT id, name, last_name, email, active, is_admin FROM users ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*UserRecord
	for rows.Next() {
		var u UserRecord
		var active, admin string
		if err := rows.Scan(&u.ID, &u.Name, &u.LastName, &u.Email, &active, &admin); err != nil {
			return nil, err
		}
		u.Active, u.IsAdmin = active == "Y", admin == "Y"
		out = append(out, &u)
	}
	return out, rows.Err()
}

// InsertWebhook stores an inbound webhook by the hash of its secret, with the token
// that identifies it, as an application, to the handlers it subscribes.
func (tx *Tx) InsertWebhook(ctx context.Context, userID int64, secretHash, title, appToken string) (int64, error) {
	var id int64
	err := tx.queryRow(ctx, `INSERT INTO webhooks (user_id, secret_hash, title, created_time, application_token) VALUES (?, ?, ?, ?, ?) RETURNING id`,
		userID, secretHash, title, tx.now(), appToken).Scan(&id)
	return id, err
}

// WebhookUser returns the user a webhook secret hash belongs to.
func (c conn) WebhookUser(ctx context.Context, secretHash string) (int64, error) {
	var userID int64
	err := c.queryRow(ctx, `SELECT user_id FROM webhooks WHERE secret_hash = ?`, secretHash).Scan(&userID)
	return userID, errNoRows(err)
}

// WebhookKey is a webhook's id and the hash of its secret.
type WebhookKey struct {
	ID   int64
	Hash string
}

// WebhookKeys returns the ids and secret hashes of a user's webhooks.
func (c conn) WebhookKeys(ctx context.Context, userID int64) ([]WebhookKey, error) {
	rows, err := c.query(ctx, `SELECT id, secret_hash FROM webhooks WHERE user_id = ? ORDER BY id`, userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []WebhookKey
	for rows.Next() {
		var k WebhookKey
		if err := rows.Scan(&k.ID, &k.Hash); err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// UserProfile is a user with the time it was created, for the user.* REST methods.
type UserProfile struct {
	UserRecord
	Created time.Time
}

// UserProfiles lists every user by id with its creation time.
func (c conn) UserProfiles(ctx context.Context) ([]*UserProfile, error) {
	rows, err := c.query(ctx, `SELECT id, name, last_name, email, active, is_admin, created_time FROM users ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*UserProfile
	for rows.Next() {
		var u UserProfile
		var active, admin string
		created := c.d.scanTarget(field.StorageTime)
		if err := rows.Scan(&u.ID, &u.Name, &u.LastName, &u.Email, &active, &admin, created); err != nil {
			return nil, err
		}
		u.Active, u.IsAdmin = active == "Y", admin == "Y"
		t, err := c.d.decode(field.StorageTime, created)
		if err != nil {
			return nil, err
		}
		u.Created, _ = t.(time.Time)
		out = append(out, &u)
	}
	return out, rows.Err()
}

// WebhookRecord is an inbound webhook as `smartcrm webhook list` shows it; its secret
// is stored only as a hash, so it is not here.
type WebhookRecord struct {
	ID      int64
	UserID  int64
	Title   string
	Created time.Time
}

// Webhooks lists every inbound webhook by id.
func (c conn) Webhooks(ctx context.Context) ([]*WebhookRecord, error) {
	rows, err := c.query(ctx, `SELECT id, user_id, title, created_time FROM webhooks ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*WebhookRecord
	for rows.Next() {
		var w WebhookRecord
		created := c.d.scanTarget(field.StorageTime)
		if err := rows.Scan(&w.ID, &w.UserID, &w.Title, created); err != nil {
			return nil, err
		}
		t, err := c.d.decode(field.StorageTime, created)
		if err != nil {
			return nil, err
		}
		w.Created, _ = t.(time.Time)
		out = append(out, &w)
	}
	return out, rows.Err()
}
