package automation

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	mail "github.com/wneessen/go-mail"
)

// Mailer sends the e-mail of e-mail robots over SMTP.
type Mailer struct {
	host     string
	opts     []mail.Option
	From     string
	disabled error
}

// NewMailer reads an SMTP URL: smtp://[user:password@]host[:port] sends in plain text
// (or STARTTLS when the server offers it), smtps://… over TLS; ?tls=none turns
// STARTTLS off. An empty URL makes a mailer that refuses to send, saying why.
func NewMailer(rawURL, from string) (*Mailer, error) {
	if rawURL == "" {
		return &Mailer{disabled: errors.New("e-mail is not configured: start the server with --smtp-url")}, nil
	}
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" || (u.Scheme != "smtp" && u.Scheme != "smtps") {
		return nil, fmt.Errorf("the SMTP URL %q is not smtp://host[:port] or smtps://host[:port]", rawURL)
	}
	if from == "" {
		return nil, errors.New("e-mail needs a sender address: set --mail-from")
	}
	m := &Mailer{host: u.Hostname(), From: from, opts: []mail.Option{mail.WithTimeout(30 * time.Second)}}
	if p := u.Port(); p != "" {
		port, err := strconv.Atoi(p)
		if err != nil {
			return nil, fmt.Errorf("the SMTP port %q is not a number", p)
		}
		m.opts = append(m.opts, mail.WithPort(port))
	}
	switch {
	case u.Scheme == "smtps":
		m.opts = append(m.opts, mail.WithSSL())
	case u.Query().Get("tls") == "none":
		m.opts = append(m.opts, mail.WithTLSPolicy(mail.NoTLS))
	default:
		m.opts = append(m.opts, mail.WithTLSPolicy(mail.TLSOpportunistic))
	}
	if user := u.User.Username(); user != "" {
		pass, _ := u.User.Password()
		m.opts = append(m.opts, mail.WithSMTPAuth(mail.SMTPAuthPlain), mail.WithUsername(user), mail.WithPassword(pass))
	}
	return m, nil
}

// Send sends one message; a failure the server calls permanent (5xx: a refused
// address) is not retried.
func (m *Mailer) Send(ctx context.Context, to []string, subject, body, messageID string) error {
	if m.disabled != nil {
		return permanent(m.disabled)
	}
	msg := mail.NewMsg()
	if err := msg.From(m.From); err != nil {
		return permanent(fmt.Errorf("sender %q: %w", m.From, err))
	}
	if err := msg.To(to...); err != nil {
		return permanent(fmt.Errorf("recipients %s: %w", strings.Join(to, ", "), err))
	}
	msg.Subject(subject)
	msg.SetBodyString(mail.TypeTextPlain, body)
	// The run's key as the message id: a receiving system can tell a re-sent message.
	msg.SetMessageIDWithValue(messageID)
	c, err := mail.NewClient(m.host, m.opts...)
	if err != nil {
		return permanent(err)
	}
	err = c.DialAndSendWithContext(ctx, msg)
	var se *mail.SendError
	if errors.As(err, &se) && !se.IsTemp() && se.ErrorCode() >= 500 {
		return permanent(err)
	}
	return err
}
