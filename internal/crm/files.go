package crm

import (
	"context"
	"errors"
	"time"

	"smartcrm/internal/crm/field"
	"smartcrm/internal/store"
)

// File fields in the write path. A client sends uploads ([name, base64]), {id} to keep
// a file the field holds, or "" to clear it (spec §4.6). Bytes are written to the file
// store before the transaction (never inside the single SQLite writer); the transaction
// records uploads, keeps what was asked for, and forgets files the field no longer
// holds. A file id that the field does not hold is never taken: nobody can attach
// another item's file by guessing its id.

func isFileField(f *Field) (multiple, ok bool) {
	switch t := f.Type.(type) {
	case field.File:
		return false, true
	case field.Multiple:
		_, ok := t.Elem.(field.File)
		return true, ok
	}
	return false, false
}

// saveUploads writes the bytes of every upload in the patch.
func (op *operation) saveUploads(patch map[*Field]any) error {
	for f, v := range patch {
		if _, ok := isFileField(f); !ok {
			continue
		}
		for _, e := range elements(v) {
			in, ok := e.(*field.FileInput)
			if !ok || in.Data == nil {
				continue
			}
			if op.s.Files == nil {
				return errors.New("file storage is not configured")
			}
			hash, err := op.s.Files.Save(in.Data)
			if err != nil {
				return err
			}
			in.Hash, in.Size, in.Data = hash, int64(len(in.Data)), nil
		}
	}
	return nil
}

// resolveFiles returns a copy of the patch whose file values are file ids, recording
// uploads (for item itemID; 0 on add, set later) and forgetting replaced files. It also
// returns the ids of the new records.
func (op *operation) resolveFiles(ctx context.Context, tx *store.Tx, patch map[*Field]any, itemID int64) (map[*Field]any, []int64, error) {
	out := make(map[*Field]any, len(patch))
	var added []int64
	for f, v := range patch {
		multiple, ok := isFileField(f)
		if !ok {
			out[f] = v
			continue
		}
		held := map[int64]bool{}
		if op.before != nil {
			for _, e := range elements(op.before.values[f.Name]) {
				if id, ok := e.(int64); ok {
					held[id] = true
				}
			}
		}
		var ids []any
		for _, e := range elements(v) {
			in, ok := e.(*field.FileInput)
			if !ok {
				continue
			}
			if in.Keep != 0 {
				if held[in.Keep] {
					ids = append(ids, in.Keep)
				}
				continue
			}
			rec := &store.FileRecord{EntityTypeID: op.t.EntityTypeID, ItemID: itemID, FieldName: f.Upper, Name: in.Name, SHA256: in.Hash, Size: in.Size}
			if err := tx.InsertFile(ctx, rec); err != nil {
				return nil, nil, err
			}
			added = append(added, rec.ID)
			ids = append(ids, rec.ID)
		}
		kept := map[int64]bool{}
		for _, id := range ids {
			kept[id.(int64)] = true
		}
		var gone []int64
		for id := range held {
			if !kept[id] {
				gone = append(gone, id)
			}
		}
		if err := tx.DeleteFiles(ctx, gone); err != nil {
			return nil, nil, err
		}
		switch {
		case multiple:
			if ids == nil {
				ids = []any{}
			}
			out[f] = ids
		case len(ids) > 0:
			out[f] = ids[len(ids)-1]
		default:
			out[f] = nil
		}
	}
	return out, added, nil
}

// blobMinAge protects blobs written for changes that have not committed yet.
const blobMinAge = time.Hour

// SweepFiles deletes stored file contents that no file record uses any more (replaced or
// cleared files, uploads of changes that rolled back). It returns how many it removed.
func (s *Service) SweepFiles(ctx context.Context) (int, error) {
	if s.Files == nil {
		return 0, nil
	}
	used, err := s.st.FileHashes(ctx)
	if err != nil {
		return 0, err
	}
	return s.Files.Sweep(used, blobMinAge)
}
