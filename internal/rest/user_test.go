package rest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"smartcrm/internal/access"
	"smartcrm/internal/apitest"
	"smartcrm/internal/store"
	"smartcrm/internal/testdb"
)

// webhookFor gives a user a webhook and returns its base URL.
func webhookFor(t *testing.T, s *apitest.Server, userID int64) string {
	t.Helper()
	ctx := context.Background()
	var secret string
	err := s.App.Store.InTx(ctx, func(tx *store.Tx) error {
		var err error
		secret, err = access.Create(ctx, tx, userID, "", "test")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%s/rest/%d/%s/", s.HTTP.URL, userID, secret)
}

// keysOf lists the keys of the object at path (object keys, list indexes) in their
// order on the wire.
func keysOf(t *testing.T, raw []byte, path ...string) []string {
	t.Helper()
	keys, found := walkJSON(json.NewDecoder(bytes.NewReader(raw)), path)
	if !found {
		t.Fatalf("nothing at %v in %s", path, raw)
	}
	return keys
}

// walkJSON reads one value; at the end of path it returns the value's keys.
func walkJSON(dec *json.Decoder, path []string) (keys []string, found bool) {
	tok, err := dec.Token()
	if err != nil {
		return nil, false
	}
	d, isDelim := tok.(json.Delim)
	if !isDelim {
		return nil, len(path) == 0
	}
	skip := []string{"\x00"} // a path nothing matches: read the value, keep nothing
	for i := 0; dec.More(); i++ {
		key := strconv.Itoa(i)
		if d == '{' {
			k, _ := dec.Token()
			key, _ = k.(string)
		}
		switch {
		case len(path) == 0:
			keys = append(keys, key)
			walkJSON(dec, skip)
		case key == path[0]:
			keys, found = walkJSON(dec, path[1:])
		default:
			walkJSON(dec, skip)
		}
	}
	_, _ = dec.Token()
	return keys, found || len(path) == 0
}

func TestProfileAndCurrentUser(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		s := apitest.Start(t, dialect)
		r := s.Call("profile", nil)
		if r.Status != 200 {
			t.Fatalf("profile: %d %s", r.Status, r.Raw)
		}
		want := []string{"ID", "ADMIN", "NAME", "LAST_NAME", "PERSONAL_GENDER", "PERSONAL_PHOTO", "TIME_ZONE", "TIME_ZONE_OFFSET"}
		if got := keysOf(t, r.Raw, "result"); !reflect.DeepEqual(got, want) {
			t.Errorf("profile keys %v, want %v", got, want)
		}
		p := r.Result()
		if apitest.Path(p, "ID") != "1" || apitest.Path(p, "ADMIN") != true || apitest.Str(p, "NAME") != "Administrator" {
			t.Errorf("profile of the administrator: %s", r.Raw)
		}

		// Another user, through their own webhook, sees themselves and is no admin.
		id := addUser(t, s, &store.UserRecord{Name: "Anna", LastName: "Ivanova", Email: "anna@example.com", Active: true})
		base := webhookFor(t, s, id)
		r = s.Do(http.MethodPost, base+"profile", "application/json", []byte(`{}`))
		if apitest.Path(r.Result(), "ID") != fmt.Sprint(id) || apitest.Path(r.Result(), "ADMIN") != false || apitest.Str(r.Result(), "LAST_NAME") != "Ivanova" {
			t.Errorf("profile of user %d: %s", id, r.Raw)
		}
		r = s.Do(http.MethodPost, base+"user.current", "application/json", []byte(`{}`))
		u := r.Result()
		if r.Status != 200 || apitest.Path(u, "ID") != fmt.Sprint(id) || apitest.Path(u, "ACTIVE") != true ||
			apitest.Str(u, "NAME") != "Anna" || apitest.Str(u, "EMAIL") != "anna@example.com" || apitest.Str(u, "USER_TYPE") != "employee" {
			t.Errorf("user.current: %d %s", r.Status, r.Raw)
		}
		if _, err := time.Parse("2006-01-02T15:04:05-07:00", apitest.Str(u, "DATE_REGISTER")); err != nil {
			t.Errorf("DATE_REGISTER: %v", err)
		}

		// The JS SDK's helper loads app.info and profile in one batch.
		res := s.MustOK("batch", map[string]any{"halt": 0, "cmd": map[string]any{"get_app": "app.info", "get_profile": "profile"}})
		if apitest.Path(res, "result.get_profile.ID") != "1" || !strings.Contains(apitest.Str(res, "result.get_app.LICENSE"), "selfhosted") {
			t.Errorf("batch of app.info and profile: %v", res)
		}
	})
}

func TestUserGet(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		s := apitest.Start(t, dialect)
		// 60 more users: "User 02" … "User 61"; every fifth one inactive; three Ivan*.
		for i := 2; i <= 61; i++ {
			u := &store.UserRecord{Name: fmt.Sprintf("User %02d", i), LastName: fmt.Sprintf("Last%02d", i),
				Email: fmt.Sprintf("u%d@example.com", i), Active: i%5 != 0}
			switch i {
			case 2, 3:
				u.Name, u.LastName = "Ivan", "Petrov"
			case 4:
				u.Name, u.LastName = "Ivana", "Johnson"
			}
			if got := addUser(t, s, u); got != int64(i) {
				t.Fatalf("user %d got id %d", i, got)
			}
		}
		ids := func(r *apitest.Response) []string {
			t.Helper()
			if r.Status != 200 {
				t.Fatalf("user.get: %d %s", r.Status, r.Raw)
			}
			list, ok := r.Result().([]any)
			if !ok {
				t.Fatalf("result is not a list: %s", r.Raw)
			}
			out := []string{}
			for _, u := range list {
				id, isText := apitest.Path(u, "ID").(string)
				if !isText {
					t.Fatalf("ID is not a string: %v", apitest.Path(u, "ID"))
				}
				out = append(out, id)
			}
			return out
		}
		call := func(p map[string]any) []string { t.Helper(); return ids(s.Call("user.get", p)) }
		expect := func(name string, got []string, want ...string) {
			t.Helper()
			if want == nil {
				want = []string{}
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s: %v, want %v", name, got, want)
			}
		}

		// Pages of 50 by ID with total and next.
		r := s.Call("user.get", nil)
		page := ids(r)
		if len(page) != 50 || page[0] != "1" || page[49] != "50" || apitest.Int(r.Body, "total") != 61 || apitest.Int(r.Body, "next") != 50 {
			t.Errorf("first page: %d rows from %v, total %v, next %v", len(page), page[:1], r.Body["total"], r.Body["next"])
		}
		r = s.Call("user.get", map[string]any{"start": 50})
		if page := ids(r); len(page) != 11 || page[0] != "51" || r.Body["next"] != nil || apitest.Int(r.Body, "total") != 61 {
			t.Errorf("second page: %v, next %v", page, r.Body["next"])
		}
		r = s.Call("user.get", map[string]any{"start": -1})
		if page := ids(r); len(page) != 50 || apitest.Int(r.Body, "total") != 0 || r.Body["next"] != nil {
			t.Errorf("start=-1: %d rows, total %v, next %v", len(page), r.Body["total"], r.Body["next"])
		}

		// One user by id, in every spelling clients use.
		expect("GET id=1", ids(s.Get("user.get", "id=1")), "1")
		expect("GET ID=2", ids(s.Get("user.get", "ID=2&bx24_request_id=abc&bx24_sdk_ver=2.2.0")), "2")
		expect("GET FILTER[ID]=3", ids(s.Get("user.get", "FILTER%5BID%5D=3")), "3")
		expect("JSON ID", call(map[string]any{"ID": 4}), "4")
		expect("JSON filter", call(map[string]any{"filter": map[string]any{"ID": "5"}}), "5")
		expect("ID list", call(map[string]any{"FILTER": map[string]any{"ID": []int{6, 7}}}), "6", "7")
		expect("@ID", call(map[string]any{"FILTER": map[string]any{"@ID": []int{8, 9}}}), "8", "9")
		expect("no such id", call(map[string]any{"ID": 999}))

		// user.search: FIND looks for every word in the name, last name and e-mail; the
		// answer is user.get's.
		expect("user.search FIND", ids(s.Call("user.search", map[string]any{"FILTER": map[string]any{"FIND": "ivan petrov"}})), "2", "3")
		expect("user.search by e-mail", ids(s.Call("user.search", map[string]any{"FIND": "u60@example"})), "60")
		expect("user.search with ACTIVE", ids(s.Call("user.search", map[string]any{"FILTER": map[string]any{"FIND": "user 1", "ACTIVE": "N"}})), "10", "15")

		// Operators, text patterns and the ACTIVE flag.
		expect(">=ID", call(map[string]any{"filter": map[string]any{">=ID": 59}}), "59", "60", "61")
		expect("ID range", call(map[string]any{"filter": map[string]any{">ID": 10, "<=ID": 12}}), "11", "12")
		expect("NAME pattern", call(map[string]any{"filter": map[string]any{"NAME": "iva%"}}), "2", "3", "4")
		expect("NAME exact", call(map[string]any{"filter": map[string]any{"NAME": "Ivan"}}), "2", "3")
		expect("%LAST_NAME", call(map[string]any{"filter": map[string]any{"%LAST_NAME": "tro"}}), "2", "3")
		if n := len(call(map[string]any{"start": -1, "filter": map[string]any{"!%LAST_NAME": "Last"}})); n != 4 {
			t.Errorf("!%%LAST_NAME: %d users, want 4 (admin, two Petrovs, Johnson)", n)
		}
		expect("=%EMAIL", call(map[string]any{"filter": map[string]any{"=%EMAIL": "u1%@example.com"}}), "10", "11", "12", "13", "14", "15", "16", "17", "18", "19")
		expect("NAME_SEARCH", call(map[string]any{"FILTER": map[string]any{"NAME_SEARCH": "ivan john"}}), "4")
		inactive := call(map[string]any{"FILTER": map[string]any{"ACTIVE": "N"}})
		expect("inactive", inactive, "5", "10", "15", "20", "25", "30", "35", "40", "45", "50", "55", "60")
		r = s.Call("user.get", map[string]any{"ACTIVE": true})
		if apitest.Int(r.Body, "total") != 61-12 {
			t.Errorf("ACTIVE=true: total %v, want 49", r.Body["total"])
		}
		// Filter keys a user has no field for are ignored (departments do not exist here).
		if got := call(map[string]any{"UF_DEPARTMENT": 1, "FILTER": map[string]any{"ID": 1}}); len(got) != 1 {
			t.Errorf("an unknown filter key: %v", got)
		}

		// Order.
		expect("sort by NAME desc", call(map[string]any{"sort": "NAME", "order": "DESC", "filter": map[string]any{"@ID": []int{1, 2, 4, 61}}}),
			"61", "4", "2", "1")
		expect("SORT/ORDER legacy", call(map[string]any{"SORT": "ID", "ORDER": "desc", "filter": map[string]any{"<ID": 3}}), "2", "1")

		// The fields of a user on the wire.
		u := s.Call("user.get", map[string]any{"ID": 5}).Result().([]any)[0]
		if apitest.Path(u, "ACTIVE") != false || apitest.Str(u, "NAME") != "User 05" || apitest.Str(u, "EMAIL") != "u5@example.com" {
			t.Errorf("user 5: %v", u)
		}
		s.MustFail("user.get", map[string]any{"FILTER": "ID=1"}, 400, "100")
	})
}

func TestUserFieldsMethodsScope(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		s := apitest.Start(t, dialect)
		fields := s.MustOK("user.fields", nil)
		for _, f := range []string{"ID", "ACTIVE", "NAME", "LAST_NAME", "EMAIL", "DATE_REGISTER", "USER_TYPE"} {
			if apitest.Str(fields, f) == "" {
				t.Errorf("user.fields lacks %s: %v", f, fields)
			}
		}
		// user.get answers exactly the fields user.fields describes.
		r := s.Call("user.get", map[string]any{"ID": 1})
		got := keysOf(t, r.Raw, "result", "0")
		r = s.Call("user.fields", nil)
		if want := keysOf(t, r.Raw, "result"); !reflect.DeepEqual(got, want) {
			t.Errorf("user.get fields %v, user.fields %v", got, want)
		}

		list := func(p any) []string {
			t.Helper()
			var out []string
			for _, v := range s.MustOK("methods", p).([]any) {
				out = append(out, v.(string))
			}
			return out
		}
		all := list(nil)
		if !sort.StringsAreSorted(all) {
			t.Errorf("methods are not sorted")
		}
		have := map[string]bool{}
		for _, m := range all {
			have[m] = true
		}
		for _, m := range []string{"batch", "profile", "user.get", "user.current", "methods", "scope", "app.info",
			"crm.item.list", "crm.type.add", "tasks.task.add", "crm.activity.todo.add", "userfieldconfig.list", "smartcrm.timeline.list"} {
			if !have[m] {
				t.Errorf("methods lacks %s", m)
			}
		}
		// Every method listed is one the server answers (the list is its registry).
		for _, m := range all {
			if m == "batch" {
				continue
			}
			if r := s.Call(m, map[string]any{}); r.Status == http.StatusNotFound {
				if code, _ := r.Error(); code == "ERROR_METHOD_NOT_FOUND" {
					t.Errorf("methods lists %s, which is not found", m)
				}
			}
		}
		if got := list(map[string]any{"full": true}); !reflect.DeepEqual(got, all) {
			t.Errorf("full=true: %d methods, without %d", len(got), len(all))
		}
		users := list(map[string]any{"scope": "user"})
		if !reflect.DeepEqual(users, []string{"user.current", "user.fields", "user.get", "user.search"}) {
			t.Errorf("scope=user: %v", users)
		}
		if basic := list(map[string]any{"scope": ""}); !reflect.DeepEqual(basic, []string{"app.info", "batch", "event.bind", "event.get",
			"event.offline.clear", "event.offline.error", "event.offline.get", "event.offline.list", "event.unbind", "events", "methods", "profile", "scope"}) {
			t.Errorf("scope='': %v", basic)
		}
		if none := list(map[string]any{"scope": "nothing"}); len(none) != 0 {
			t.Errorf("an unknown scope: %v", none)
		}

		scopes := s.MustOK("scope", nil)
		want := []any{"bizproc", "crm", "task", "user", "userfieldconfig"}
		if !reflect.DeepEqual(scopes, want) {
			t.Errorf("scope: %v, want %v", scopes, want)
		}
		info := s.MustOK("app.info", nil)
		if !reflect.DeepEqual(apitest.Path(info, "SCOPE"), want) || apitest.Str(info, "LICENSE") == "" {
			t.Errorf("app.info: %v", info)
		}
	})
}
