package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
)

// FileRecord is an uploaded file of a file field.
type FileRecord struct {
	ID           int64
	EntityTypeID int64
	ItemID       int64
	FieldName    string
	Name         string
	Size         int64
	SHA256       string
}

// InsertFile records an uploaded file and sets f.ID.
func (tx *Tx) InsertFile(ctx context.Context, f *FileRecord) error {
	return tx.queryRow(ctx, `INSERT INTO crm_files (entity_type_id, item_id, field_name, name, size, sha256, created_time) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		f.EntityTypeID, f.ItemID, f.FieldName, f.Name, f.Size, f.SHA256, tx.now()).Scan(&f.ID)
}

// SetFileItem attaches files recorded before their item had an id.
func (tx *Tx) SetFileItem(ctx context.Context, ids []int64, itemID int64) error {
	for _, id := range ids {
		if _, err := tx.exec(ctx, `UPDATE crm_files SET item_id = ? WHERE id = ?`, itemID, id); err != nil {
			return err
		}
	}
	return nil
}

// DeleteFiles forgets files (their bytes stay while another record shares them).
func (tx *Tx) DeleteFiles(ctx context.Context, ids []int64) error {
	for _, id := range ids {
		if _, err := tx.exec(ctx, `DELETE FROM crm_files WHERE id = ?`, id); err != nil {
			return err
		}
	}
	return nil
}

// DeleteItemFiles forgets the files of a deleted item.
func (tx *Tx) DeleteItemFiles(ctx context.Context, entityTypeID, itemID int64) error {
	_, err := tx.exec(ctx, `DELETE FROM crm_files WHERE entity_type_id = ? AND item_id = ?`, entityTypeID, itemID)
	return err
}

// File reads a file record.
func (c conn) File(ctx context.Context, id int64) (*FileRecord, error) {
	var f FileRecord
	err := c.queryRow(ctx, `SELECT id, entity_type_id, item_id, field_name, name, size, sha256 FROM crm_files WHERE id = ?`, id).
		Scan(&f.ID, &f.EntityTypeID, &f.ItemID, &f.FieldName, &f.Name, &f.Size, &f.SHA256)
	return &f, errNoRows(err)
}

// FileHashes returns the hash of every recorded file: the blobs still in use.
func (c conn) FileHashes(ctx context.Context) (map[string]bool, error) {
	hashes, err := queryColumn[string](ctx, c, `SELECT DISTINCT sha256 FROM crm_files`)
	if err != nil {
		return nil, err
	}
	out := make(map[string]bool, len(hashes))
	for _, h := range hashes {
		out[h] = true
	}
	return out, nil
}

// SigningKey returns this installation's key for download links, made on first use.
func (s *Store) SigningKey(ctx context.Context) ([]byte, error) {
	var value string
	err := s.queryRow(ctx, `SELECT value FROM app_settings WHERE name = 'file_signing_key'`).Scan(&value)
	if err = errNoRows(err); err == nil {
		return hex.DecodeString(value)
	}
	if err != ErrNotFound {
		return nil, err
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	err = s.InTx(ctx, func(tx *Tx) error {
		_, err := tx.exec(ctx, `INSERT INTO app_settings (name, value) VALUES ('file_signing_key', ?) ON CONFLICT (name) DO NOTHING`, hex.EncodeToString(key))
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.SigningKey(ctx) // another process may have won the race: use its key
}

// CurrentSigningKey reads the key for download links without ever creating one (it is
// made at start by SigningKey): running servers read it again and again, possibly while
// a write transaction of theirs is open, and a read never waits for the writer.
func (c conn) CurrentSigningKey(ctx context.Context) ([]byte, error) {
	var value string
	err := c.queryRow(ctx, `SELECT value FROM app_settings WHERE name = 'file_signing_key'`).Scan(&value)
	if err = errNoRows(err); err != nil {
		return nil, err
	}
	return hex.DecodeString(value)
}

// ReplaceSigningKey replaces the key for download links with a new random one: every
// link signed before stops working (`smartcrm keys rotate`).
func (s *Store) ReplaceSigningKey(ctx context.Context) error {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return err
	}
	return s.InTx(ctx, func(tx *Tx) error {
		_, err := tx.exec(ctx, `INSERT INTO app_settings (name, value) VALUES ('file_signing_key', ?)
ON CONFLICT (name) DO UPDATE SET value = excluded.value`, hex.EncodeToString(key))
		return err
	})
}
