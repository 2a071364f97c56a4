package store

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"

	"smartcrm/internal/field"
)

// UserFieldRecord is a custom field of a type.
type UserFieldRecord struct {
	ID           int64
	EntityTypeID int64
	FieldName    string // UF_CRM_{typeId}_{NAME}
	Column       string // its column in the items table
	UserTypeID   string
	XMLID        *string
	Sort         int64
	Multiple     bool
	Mandatory    bool
	ShowFilter   string
	ShowInList   bool
	EditInList   bool
	IsSearchable bool
	Settings     string // JSON object
	Labels       string // JSON: {editFormLabel: {lang: text}, …}
	Enums        []EnumRecord
}

// EnumRecord is an item of an enumeration field.
type EnumRecord struct {
	ID    int64
	Value string
	Def   bool
	Sort  int64
	XMLID string
}

// columnPattern is the only shape a custom column name may take. Names come from the
// registry, validated at creation; checking again here keeps DDL safe even if a caller
// slipped.
var columnPattern = regexp.MustCompile(`^uf_crm_[a-z0-9_]{1,60}$`)

// AddUserFieldColumn adds a custom field's column to a type's items table.
func (tx *Tx) AddUserFieldColumn(ctx context.Context, entityTypeID int64, column string, storage field.Storage) error {
	if !columnPattern.MatchString(column) {
		return fmt.Errorf("invalid column name %q", column)
	}
	_, err := tx.exec(ctx, "ALTER TABLE "+ItemTable(entityTypeID)+" ADD COLUMN "+column+" "+tx.d.columnType(storage))
	return err
}

// DropUserFieldColumn drops a custom field's column, with its filter, list and
// substring indexes.
func (tx *Tx) DropUserFieldColumn(ctx context.Context, entityTypeID int64, column string) error {
	if err := tx.SetUserFieldIndex(ctx, entityTypeID, column, false); err != nil {
		return err
	}
	// Its list indexes and substring index go with it (SQLite would refuse the drop).
	if err := tx.dropListIndexesWith(ctx, entityTypeID, column); err != nil {
		return err
	}
	if err := tx.dropSearch(ctx, ItemTable(entityTypeID), column); err != nil {
		return err
	}
	_, err := tx.exec(ctx, "ALTER TABLE "+ItemTable(entityTypeID)+" DROP COLUMN "+column)
	return err
}

// SetUserFieldIndex creates or drops the index that serves filters on a custom field's
// column: (column, id), so a filtered page reads in id order and a count reads only the
// matching entries. SQLite cannot drop an indexed column, so the index goes first.
func (tx *Tx) SetUserFieldIndex(ctx context.Context, entityTypeID int64, column string, on bool) error {
	if !columnPattern.MatchString(column) {
		return fmt.Errorf("invalid column name %q", column)
	}
	table := ItemTable(entityTypeID)
	name := table + "_" + column
	stmt := "DROP INDEX IF EXISTS " + name
	if on {
		stmt = "CREATE INDEX IF NOT EXISTS " + name + " ON " + table + " (" + column + ", id)"
	}
	_, err := tx.exec(ctx, stmt)
	return err
}

func userFieldArgs(f *UserFieldRecord) []any {
	var xml any
	if f.XMLID != nil {
		xml = *f.XMLID
	}
	return []any{f.UserTypeID, xml, f.Sort, yn(f.Multiple), yn(f.Mandatory), f.ShowFilter, yn(f.ShowInList),
		yn(f.EditInList), yn(f.IsSearchable), f.Settings, f.Labels}
}

// InsertUserField adds a registry row (without its column) and sets f.ID.
func (tx *Tx) InsertUserField(ctx context.Context, f *UserFieldRecord) error {
	args := append([]any{f.EntityTypeID, f.FieldName, f.Column}, userFieldArgs(f)...)
	return tx.queryRow(ctx, `INSERT INTO crm_user_fields (entity_type_id, field_name, column_name, user_type_id, xml_id, sort, multiple,
mandatory, show_filter, show_in_list, edit_in_list, is_searchable, settings, labels)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, `+tx.d.placeholder(field.StorageJSON)+`, `+tx.d.placeholder(field.StorageJSON)+`) RETURNING id`, args...).Scan(&f.ID)
}

// UpdateUserField rewrites a registry row's changeable parts.
func (tx *Tx) UpdateUserField(ctx context.Context, f *UserFieldRecord) error {
	args := append(userFieldArgs(f), f.ID)
	_, err := tx.exec(ctx, `UPDATE crm_user_fields SET user_type_id = ?, xml_id = ?, sort = ?, multiple = ?, mandatory = ?, show_filter = ?,
show_in_list = ?, edit_in_list = ?, is_searchable = ?, settings = `+tx.d.placeholder(field.StorageJSON)+`, labels = `+tx.d.placeholder(field.StorageJSON)+` WHERE id = ?`, args...)
	return err
}

// DeleteUserField removes a registry row with its enumeration items.
func (tx *Tx) DeleteUserField(ctx context.Context, id int64) error {
	if _, err := tx.exec(ctx, `DELETE FROM crm_user_field_enums WHERE field_id = ?`, id); err != nil {
		return err
	}
	return tx.deleteRow(ctx, "crm_user_fields", id)
}

// InsertEnum adds an enumeration item and sets e.ID.
func (tx *Tx) InsertEnum(ctx context.Context, fieldID int64, e *EnumRecord) error {
	return tx.queryRow(ctx, `INSERT INTO crm_user_field_enums (field_id, value, def, sort, xml_id) VALUES (?, ?, ?, ?, ?) RETURNING id`,
		fieldID, e.Value, yn(e.Def), e.Sort, e.XMLID).Scan(&e.ID)
}

// UpdateEnum rewrites an enumeration item; its id stays.
func (tx *Tx) UpdateEnum(ctx context.Context, e *EnumRecord) error {
	_, err := tx.exec(ctx, `UPDATE crm_user_field_enums SET value = ?, def = ?, sort = ?, xml_id = ? WHERE id = ?`, e.Value, yn(e.Def), e.Sort, e.XMLID, e.ID)
	return err
}

// DeleteEnum removes an enumeration item.
func (tx *Tx) DeleteEnum(ctx context.Context, id int64) error {
	return tx.deleteRow(ctx, "crm_user_field_enums", id)
}

// UserField reads one custom field with its enumeration items.
func (c conn) UserField(ctx context.Context, id int64) (*UserFieldRecord, error) {
	var etid int64
	if err := c.queryRow(ctx, `SELECT entity_type_id FROM crm_user_fields WHERE id = ?`, id).Scan(&etid); err != nil {
		return nil, errNoRows(err)
	}
	all, err := c.UserFields(ctx, etid)
	if err != nil {
		return nil, err
	}
	for _, f := range all {
		if f.ID == id {
			return f, nil
		}
	}
	return nil, ErrNotFound
}

// UserFields lists the custom fields of a type (all types when entityTypeID is 0), by
// sort then id, with their enumeration items.
func (c conn) UserFields(ctx context.Context, entityTypeID int64) ([]*UserFieldRecord, error) {
	q := `SELECT id, entity_type_id, field_name, column_name, user_type_id, xml_id, sort, multiple, mandatory, show_filter,
show_in_list, edit_in_list, is_searchable, settings, labels FROM crm_user_fields`
	var args []any
	if entityTypeID != 0 {
		q += ` WHERE entity_type_id = ?`
		args = append(args, entityTypeID)
	}
	rows, err := c.query(ctx, q+` ORDER BY sort, id`, args...)
	if err != nil {
		return nil, err
	}
	var out []*UserFieldRecord
	byID := map[int64]*UserFieldRecord{}
	for rows.Next() {
		var f UserFieldRecord
		var xml sql.NullString
		var multiple, mandatory, inList, editInList, searchable string
		var settings, labels sql.NullString
		if err := rows.Scan(&f.ID, &f.EntityTypeID, &f.FieldName, &f.Column, &f.UserTypeID, &xml, &f.Sort, &multiple, &mandatory,
			&f.ShowFilter, &inList, &editInList, &searchable, &settings, &labels); err != nil {
			rows.Close()
			return nil, err
		}
		if xml.Valid {
			f.XMLID = &xml.String
		}
		f.Multiple, f.Mandatory, f.ShowInList, f.EditInList, f.IsSearchable = multiple == "Y", mandatory == "Y", inList == "Y", editInList == "Y", searchable == "Y"
		f.Settings, f.Labels = settings.String, labels.String
		out = append(out, &f)
		byID[f.ID] = &f
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, nil
	}
	erows, err := c.query(ctx, `SELECT e.id, e.field_id, e.value, e.def, e.sort, e.xml_id FROM crm_user_field_enums e
JOIN crm_user_fields f ON f.id = e.field_id `+map[bool]string{true: "WHERE f.entity_type_id = ? ", false: ""}[entityTypeID != 0]+`ORDER BY e.sort, e.id`, args...)
	if err != nil {
		return nil, err
	}
	defer erows.Close()
	for erows.Next() {
		var e EnumRecord
		var fieldID int64
		var def string
		if err := erows.Scan(&e.ID, &fieldID, &e.Value, &def, &e.Sort, &e.XMLID); err != nil {
			return nil, err
		}
		e.Def = def == "Y"
		if f := byID[fieldID]; f != nil {
			f.Enums = append(f.Enums, e)
		}
	}
	return out, erows.Err()
}
