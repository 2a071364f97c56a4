package web

import (
	"net/http"
	"strconv"
	"strings"

	"smartcrm/internal/access"
)

// The users page, for administrators: add a person (a generated password is shown
// once), switch someone off or on, reset a password.

type usersPage struct {
	csrfHolder
	Users    []userRow
	Password string // a password just set, shown once
	For      string
	Error    string
}

type userRow struct {
	ID                 int64
	Name, Login, Email string
	Active, Admin      bool
}

func (s *Server) usersPage(q *request) {
	if !q.actor.IsAdmin {
		q.fail(access.ErrDenied)
		return
	}
	rest := strings.Trim(strings.TrimPrefix(q.r.URL.Path, "/users"), "/")
	var page usersPage
	status := http.StatusOK
	switch {
	case rest == "" && q.r.Method == http.MethodGet:
	case rest == "add" && q.r.Method == http.MethodPost:
		f := q.r.PostForm
		u, pw, err := s.accounts.AddUser(q.ctx, q.actor, access.NewUser{Login: f.Get("login"), Name: f.Get("name"),
			LastName: f.Get("lastName"), Email: f.Get("email"), Password: f.Get("password"), IsAdmin: f.Get("admin") == "Y"})
		if err != nil {
			status, page.Error = errorStatus(err)
			break
		}
		page.For = fullName(u)
		if f.Get("password") == "" {
			page.Password = pw
		}
	default:
		parts := strings.Split(rest, "/")
		id, err := strconv.ParseInt(parts[0], 10, 64)
		if err != nil || len(parts) != 2 || q.r.Method != http.MethodPost {
			q.notFound()
			return
		}
		switch parts[1] {
		case "active":
			err = s.accounts.SetActive(q.ctx, q.actor, id, q.r.PostForm.Get("active") == "Y")
		case "password":
			var pw string
			pw, err = s.accounts.SetPassword(q.ctx, q.actor, id, "")
			page.Password, page.For = pw, s.userName(q.ctx, id)
		default:
			q.notFound()
			return
		}
		if err != nil {
			status, page.Error = errorStatus(err)
		}
	}
	s.forgetUsers()
	list, err := s.people.Users(q.ctx)
	if err != nil {
		q.fail(err)
		return
	}
	logins, err := s.accounts.Logins(q.ctx)
	if err != nil {
		q.fail(err)
		return
	}
	for _, u := range list {
		page.Users = append(page.Users, userRow{ID: u.ID, Name: fullName(u), Login: logins[u.ID], Email: u.Email, Active: u.Active, Admin: u.IsAdmin})
	}
	q.render(status, "users", "Users", 0, &page)
}
