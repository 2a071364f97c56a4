package store

import (
	"database/sql/driver"
	"fmt"
	"io"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

// pipeRows hands database/sql the rows of a query that ended a pipeline (pgpipeline.go).
// Each column becomes the driver value the pgx driver itself would give for its type,
// so that scanning behaves the same whichever way the query travelled: integers as
// int64, floats as float64, JSON and bytea as bytes, times as time.Time, the rest as
// text.
type pipeRows struct {
	rows  pgx.Rows
	br    pgx.BatchResults
	types *pgtype.Map
	names []string
}

func (r *pipeRows) Columns() []string {
	if r.names == nil {
		fds := r.rows.FieldDescriptions()
		r.names = make([]string, len(fds))
		for i, fd := range fds {
			r.names[i] = fd.Name
		}
	}
	return r.names
}

func (r *pipeRows) Close() error {
	r.rows.Close()
	err := r.rows.Err()
	if e := r.br.Close(); err == nil {
		err = e
	}
	return err
}

func (r *pipeRows) Next(dest []driver.Value) error {
	if !r.rows.Next() {
		if err := r.rows.Err(); err != nil {
			return err
		}
		return io.EOF
	}
	fds := r.rows.FieldDescriptions()
	for i, raw := range r.rows.RawValues() {
		if raw == nil {
			dest[i] = nil
			continue
		}
		v, err := r.value(fds[i].DataTypeOID, fds[i].Format, raw)
		if err != nil {
			return fmt.Errorf("reading column %s: %w", fds[i].Name, err)
		}
		dest[i] = v
	}
	return nil
}

// value decodes one non-NULL column into a driver value.
func (r *pipeRows) value(oid uint32, format int16, raw []byte) (driver.Value, error) {
	switch oid {
	case pgtype.Int2OID, pgtype.Int4OID, pgtype.Int8OID:
		var v int64
		return v, r.types.Scan(oid, format, raw, &v)
	case pgtype.Float4OID, pgtype.Float8OID:
		var v float64
		return v, r.types.Scan(oid, format, raw, &v)
	case pgtype.BoolOID:
		var v bool
		return v, r.types.Scan(oid, format, raw, &v)
	case pgtype.ByteaOID, pgtype.JSONOID, pgtype.JSONBOID:
		var v []byte
		return v, r.types.Scan(oid, format, raw, &v)
	case pgtype.TimestamptzOID, pgtype.TimestampOID, pgtype.DateOID:
		var v time.Time
		return v, r.types.Scan(oid, format, raw, &v)
	}
	if format != pgtype.TextFormatCode {
		return nil, fmt.Errorf("type %d is not read in a pipeline (add it to pipeRows.value)", oid)
	}
	return string(raw), nil
}
