package access

import (
	"context"
	"time"
)

// User is a person who works in the CRM, as the user.* methods and `profile` show them.
type User struct {
	ID         int64
	Name       string
	LastName   string
	Email      string
	Active     bool
	IsAdmin    bool
	Registered time.Time
}

// Users lists every user by id. Webhooks act as users, so the authenticator is also the
// protocol layer's reader of them: the REST server needs no store of its own for it.
// The whole list is read at once: a CRM has tens to thousands of users, and user.get
// filters them in memory.
func (w *Webhooks) Users(ctx context.Context) ([]User, error) {
	rows, err := w.st.UserProfiles(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]User, len(rows))
	for i, r := range rows {
		out[i] = User{ID: r.ID, Name: r.Name, LastName: r.LastName, Email: r.Email,
			Active: r.Active, IsAdmin: r.IsAdmin, Registered: r.Created}
	}
	return out, nil
}
