package automation_test

import (
	"fmt"
	"io"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"smartcrm/internal/apitest"
	"smartcrm/internal/app"
	"smartcrm/internal/testdb"
)

// mailbox is an SMTP server the test starts: what robots send arrives here over a
// real SMTP conversation.
type mailbox struct {
	mu   sync.Mutex
	msgs []message
}

type message struct {
	from string
	to   []string
	data string
}

func (m *mailbox) NewSession(*smtp.Conn) (smtp.Session, error) { return &mailSession{box: m}, nil }

func (m *mailbox) Messages() []message {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]message(nil), m.msgs...)
}

type mailSession struct {
	box *mailbox
	cur message
}

func (s *mailSession) Reset()        { s.cur = message{} }
func (s *mailSession) Logout() error { return nil }
func (s *mailSession) Mail(from string, _ *smtp.MailOptions) error {
	s.cur.from = from
	return nil
}

func (s *mailSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if strings.HasSuffix(to, "@refused.example") {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such mailbox"}
	}
	s.cur.to = append(s.cur.to, to)
	return nil
}

func (s *mailSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.cur.data = string(b)
	s.box.mu.Lock()
	s.box.msgs = append(s.box.msgs, s.cur)
	s.box.mu.Unlock()
	return nil
}

func startMailbox(t *testing.T) (*mailbox, string) {
	box := &mailbox{}
	srv := smtp.NewServer(box)
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	return box, "smtp://" + ln.Addr().String() + "?tls=none"
}

// An e-mail robot sends over SMTP with its placeholders filled; a refused address
// fails the run with the server's answer; the task robot makes a task bound to the
// item; the item robot creates a child item of another smart process.
func TestEmailTaskAndItemRobots(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		box, url := startMailbox(t)
		s := start(t, dialect, func(c *app.Config) {
			c.SMTPURL, c.MailFrom = url, "crm@example.com"
		})
		hr := addUsers(t, s, "Maria")
		leave := newProcess(s, "Leave requests", nil)
		visits := newProcess(s, "HR interviews", map[string]any{"relations": map[string]any{"parent": []any{map[string]any{"entityTypeId": leave}}}})
		setAutomation(s, leave, map[string]any{stage(leave, "PREPARATION"): map[string]any{"robots": []any{
			map[string]any{"id": "notify", "type": "email", "params": map[string]any{
				"to": []any{"responsible", "boss@example.com"}, "subject": "Leave approved: {{title}}",
				"body": "Dear {{assignedBy.name}}, your request {{id}} is approved. {{url}}"}},
			map[string]any{"id": "refused", "type": "email", "params": map[string]any{
				"to": []any{"nobody@refused.example"}, "subject": "x", "body": "y"}},
			map[string]any{"id": "hr-task", "type": "task", "params": map[string]any{
				"title": "Prepare the leave of {{assignedBy.fullName}}", "responsible": fmt.Sprintf("user:%d", hr[0]), "deadline": "3d"}},
			map[string]any{"id": "interview", "type": "createItem", "params": map[string]any{
				"entityTypeId": visits, "link": "child", "fields": map[string]any{"title": "Return interview: {{title}}"}}},
		}}})
		// The responsible is Maria, who has an address.
		id := addItem(s, leave, map[string]any{"title": "Two weeks in May", "assignedById": hr[0]})
		move(s, leave, id, "PREPARATION")
		waitStatuses(t, s, leave, id, "notify:done refused:failed hr-task:done interview:done")

		msgs := box.Messages()
		if len(msgs) != 1 {
			t.Fatalf("%d messages: %+v", len(msgs), msgs)
		}
		m, err := mail.ReadMessage(strings.NewReader(msgs[0].data))
		if err != nil {
			t.Fatal(err)
		}
		subject, _ := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
		var bodyReader io.Reader = m.Body
		if strings.EqualFold(m.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
			bodyReader = quotedprintable.NewReader(m.Body)
		}
		body, _ := io.ReadAll(bodyReader)
		if subject != "Leave approved: Two weeks in May" || msgs[0].from != "crm@example.com" ||
			strings.Join(msgs[0].to, ",") != "maria@example.com,boss@example.com" ||
			!strings.Contains(string(body), fmt.Sprintf("Dear Maria, your request %d is approved.", id)) ||
			!strings.Contains(string(body), fmt.Sprintf("/crm/type/%d/details/%d/", leave, id)) {
			t.Errorf("message: subject %q from %q to %v body %q", subject, msgs[0].from, msgs[0].to, body)
		}
		failed := runs(s, leave, id)[2]
		if !strings.Contains(apitest.Str(failed, "error"), "550") || apitest.Int(failed, "attempts") != 1 {
			t.Errorf("a refused address fails at once: %v", failed)
		}
		tasks := s.MustOK("tasks.task.list", map[string]any{"filter": map[string]any{"RESPONSIBLE_ID": hr[0]}, "select": []any{"ID", "TITLE", "UF_CRM_TASK", "DEADLINE"}})
		list, _ := apitest.Path(tasks, "tasks").([]any)
		if len(list) != 1 || apitest.Str(list[0], "title") != "Prepare the leave of Maria Tester" || apitest.Str(list[0], "deadline") == "" {
			t.Errorf("tasks: %v", tasks)
		}
		children := s.MustOK("crm.item.list", map[string]any{"entityTypeId": visits, "filter": map[string]any{fmt.Sprintf("parentId%d", leave): id}})
		items, _ := apitest.Path(children, "items").([]any)
		if len(items) != 1 || apitest.Str(items[0], "title") != "Return interview: Two weeks in May" {
			t.Errorf("children: %v", children)
		}
	})
}

// A wait robot holds the chain until the item satisfies its condition — checked at
// every change of the item — or fails at its timeout and lets the chain go on.
func TestWaitRobot(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		clk := newClock()
		s := start(t, dialect, func(c *app.Config) { c.Clock = clk.Now })
		etid := newProcess(s, "Approvals", nil)
		setAutomation(s, etid, map[string]any{stage(etid, "PREPARATION"): map[string]any{"robots": []any{
			map[string]any{"id": "until-renamed", "type": "wait", "params": map[string]any{"condition": "title endsWith '(ok)'", "timeout": "1d"}},
			map[string]any{"id": "after", "type": "comment", "params": map[string]any{"text": "went on"}},
		}}})
		renamed := addItem(s, etid, map[string]any{"title": "Laptop"})
		forgotten := addItem(s, etid, map[string]any{"title": "Chair"})
		move(s, etid, renamed, "PREPARATION")
		move(s, etid, forgotten, "PREPARATION")
		waitStatuses(t, s, etid, renamed, "until-renamed:waiting after:waiting")
		s.MustOK("crm.item.update", map[string]any{"entityTypeId": etid, "id": renamed, "fields": map[string]any{"title": "Laptop (ok)"}})
		waitStatuses(t, s, etid, renamed, "until-renamed:done after:done")

		waitStatuses(t, s, etid, forgotten, "until-renamed:waiting after:waiting")
		clk.Advance(25 * time.Hour)
		waitStatuses(t, s, etid, forgotten, "until-renamed:failed after:done")
	})
}

// A failed run can be retried, a queued one cancelled; runs page by cursor.
func TestRetryCancelAndPaging(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		s := start(t, dialect, nil)
		rcv := newReceiver(t)
		rcv.notFound = true
		etid := newProcess(s, "Orders", nil)
		setAutomation(s, etid, map[string]any{stage(etid, "PREPARATION"): map[string]any{"robots": []any{
			map[string]any{"id": "call", "type": "webhook", "params": map[string]any{"url": rcv.URL + "/orders"}},
			map[string]any{"id": "later", "type": "comment", "parallel": true, "delay": map[string]any{"after": "1h"}, "params": map[string]any{"text": "x"}},
		}}})
		id := addItem(s, etid, map[string]any{"title": "Order"})
		move(s, etid, id, "PREPARATION")
		waitStatuses(t, s, etid, id, "call:failed later:queued")
		list := runs(s, etid, id)
		later, call := apitest.Int(list[0], "id"), apitest.Int(list[1], "id")
		if apitest.Int(list[1], "result.status") != 404 || !strings.Contains(apitest.Str(list[1], "error"), "404") {
			t.Errorf("a 4xx fails the run with the answer kept: %v", list[1])
		}
		s.MustOK("smartcrm.automation.run.cancel", map[string]any{"id": later})
		s.MustFail("smartcrm.automation.run.cancel", map[string]any{"id": later}, 400, "INVALID_ARG_VALUE")
		s.MustFail("smartcrm.automation.run.retry", map[string]any{"id": 999999}, 400, "NOT_FOUND")
		s.MustFail("smartcrm.automation.run.retry", map[string]any{"id": later + 1000}, 400, "NOT_FOUND")

		rcv.mu.Lock()
		rcv.notFound = false
		rcv.mu.Unlock()
		s.MustOK("smartcrm.automation.run.retry", map[string]any{"id": call})
		waitStatuses(t, s, etid, id, "call:done later:cancelled")

		// Paging: newest first, by cursor, no run twice.
		for range 2 {
			move(s, etid, id, "CLIENT")
			move(s, etid, id, "PREPARATION")
		}
		var seen []int64
		cursor := any(nil)
		for {
			res := s.MustOK("smartcrm.automation.runs", map[string]any{"entityTypeId": etid, "id": id, "cursor": cursor, "limit": 2})
			page, _ := apitest.Path(res, "runs").([]any)
			for _, r := range page {
				seen = append(seen, apitest.Int(r, "id"))
			}
			if cursor = apitest.Path(res, "cursor"); cursor == nil {
				break
			}
		}
		if len(seen) != 6 {
			t.Fatalf("pages held %v", seen)
		}
		for i := 1; i < len(seen); i++ {
			if seen[i] >= seen[i-1] {
				t.Fatalf("not newest first: %v", seen)
			}
		}
		s.MustFail("smartcrm.automation.runs", map[string]any{"status": "lost"}, 400, "INVALID_ARG_VALUE")
	})
}
