package crm

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"smartcrm/internal/field"
	"smartcrm/internal/store"
)

// File fields in the write path. A caller sends uploads ([name, base64]), {id} to keep
// a file the field holds, or "" to clear it (spec §4.6). Bytes are written to the file
// store when the change is prepared (never inside the single SQLite writer); the
// transaction checks the bytes are still there, records the uploads, keeps what was
// asked for, and forgets files the field no longer holds. A file id that the field does
// not hold is never taken: nobody can attach another item's file by guessing its id.

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

// saveUploads writes the bytes of every upload among the values.
func (s *Service) saveUploads(values map[*Field]any) error {
	for f, v := range values {
		if _, ok := isFileField(f); !ok {
			continue
		}
		if err := s.SaveUploads(elements(v)); err != nil {
			return err
		}
	}
	return nil
}

// SaveUploads writes the bytes of uploads (field.FileInput values with data) to the file
// store, so that a transaction later only records them.
func (s *Service) SaveUploads(values []any) error {
	for _, e := range values {
		in, ok := e.(*field.FileInput)
		if !ok || in.Data == nil {
			continue
		}
		if s.Files == nil {
			return errors.New("file storage is not configured")
		}
		hash, err := s.Files.Save(in.Data)
		if err != nil {
			return err
		}
		in.Hash, in.Size, in.Data = hash, int64(len(in.Data)), nil
	}
	return nil
}

// RecordUpload records a saved upload inside the unit, after checking that its bytes
// are still in the file store: the sweep of unused files may have run between saving
// and this transaction.
func (u *Unit) RecordUpload(in *field.FileInput, etid, itemID int64, fieldName string) (int64, error) {
	if u.s.Files == nil {
		return 0, errors.New("file storage is not configured")
	}
	if _, err := os.Stat(u.s.Files.Path(in.Hash)); err != nil {
		return 0, fmt.Errorf("the uploaded file %q is gone from the file store; send it again: %w", in.Name, err)
	}
	rec := &store.FileRecord{EntityTypeID: etid, ItemID: itemID, FieldName: fieldName, Name: in.Name, SHA256: in.Hash, Size: in.Size}
	if err := u.tx.InsertFile(u.ctx, rec); err != nil {
		return 0, err
	}
	return rec.ID, nil
}

// resolveFiles returns a copy of the values whose file values are file ids, recording
// uploads (for item itemID; 0 on add, set later) and forgetting replaced files. It also
// returns the ids of the new records.
func (op *operation) resolveFiles(values map[*Field]any, itemID int64) (map[*Field]any, []int64, error) {
	out := make(map[*Field]any, len(values))
	var added []int64
	for f, v := range values {
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
			name := string(f.Name)
			if f.user != nil {
				name = f.user.Name
			}
			id, err := op.u.RecordUpload(in, op.t.EntityTypeID, itemID, name)
			if err != nil {
				return nil, nil, err
			}
			added = append(added, id)
			ids = append(ids, id)
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
		if err := op.u.tx.DeleteFiles(op.u.ctx, gone); err != nil {
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

// FileLink signs the download link of a stored file.
func (s *Service) FileLink(id int64) string {
	if s.Files == nil {
		return ""
	}
	return s.Files.Link(id)
}
