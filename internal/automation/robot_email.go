package automation

import (
	"context"
	"fmt"
	"strings"

	"smartcrm/internal/crm"
	"smartcrm/internal/field"
)

// emailRobot sends an e-mail: {to: [...], subject, body}. Recipients are "responsible",
// "user:3", an address, or "field:ufCrm5Email" (the addresses a field holds).
type emailRobot struct{}

func (emailRobot) check(c *checker, p map[string]any) {
	to, ok := stringList(p["to"])
	if !ok || len(to) == 0 {
		c.add("to", "to is a list of recipients: \"responsible\", \"user:N\", an address or \"field:NAME\"")
	}
	for _, r := range to {
		switch {
		case r == "responsible" || strings.HasPrefix(r, "user:"):
			c.checkUserRef("to", r)
		case strings.HasPrefix(r, "field:"):
			if _, ok := c.t.FieldByName(strings.TrimPrefix(r, "field:")); !ok {
				c.add("to", "%s has no field %q", c.t.Title, strings.TrimPrefix(r, "field:"))
			}
		case !looksLikeAddress(r):
			c.add("to", "%q is not an address, \"responsible\", \"user:N\" or \"field:NAME\"", r)
		}
	}
	c.text(p, "subject", true)
	c.text(p, "body", true)
}

func looksLikeAddress(s string) bool {
	at := strings.LastIndexByte(s, '@')
	return at > 0 && at < len(s)-1 && strings.Contains(s[at+1:], ".") && !strings.ContainsAny(s, " \t\n,;<>")
}

// recipients resolves the robot's recipients for the item.
func (rc *runCtx) recipients(ctx context.Context, to []string) ([]string, error) {
	var out []string
	for _, r := range to {
		switch {
		case r == "responsible" || strings.HasPrefix(r, "user:"):
			id := userOf(rc, r)
			u, err := rc.s.user(ctx, id)
			if err != nil {
				return nil, err
			}
			if u == nil || u.Email == "" {
				return nil, permanent(fmt.Errorf("user %d has no e-mail address", id))
			}
			out = append(out, u.Email)
		case strings.HasPrefix(r, "field:"):
			f, ok := rc.t.FieldByName(strings.TrimPrefix(r, "field:"))
			if !ok {
				continue
			}
			out = append(out, addressesIn(f, rc.it.Get(f.Name))...)
		default:
			out = append(out, r)
		}
	}
	if len(out) == 0 {
		return nil, permanent(fmt.Errorf("no recipient has an address"))
	}
	return out, nil
}

// addressesIn lists the addresses a field's value holds.
func addressesIn(f *crm.Field, v any) []string {
	var out []string
	switch x := v.(type) {
	case string:
		if looksLikeAddress(x) {
			out = append(out, x)
		}
	case []any:
		for _, e := range x {
			out = append(out, addressesIn(f, e)...)
		}
	case []field.MultiValue:
		for _, e := range x {
			if e.TypeID == "EMAIL" {
				out = append(out, e.Value)
			}
		}
	}
	return out
}

func (emailRobot) call(ctx context.Context, rc *runCtx) (map[string]any, error) {
	p := rc.robot.Params
	to, _ := stringList(p["to"])
	addrs, err := rc.recipients(ctx, to)
	if err != nil {
		return nil, err
	}
	subject, _ := p["subject"].(string)
	body, _ := p["body"].(string)
	if err := rc.s.mailer.Send(ctx, addrs, rc.r.render(subject), rc.r.render(body), rc.s.idempotencyKey(rc.run)+"@smartcrm"); err != nil {
		return nil, err
	}
	return map[string]any{"to": addrs}, nil
}
