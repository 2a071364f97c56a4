package automation

import (
	"strconv"
	"strings"

	"smartcrm/internal/crm"
	"smartcrm/internal/tasks"
)

// taskRobot creates a task bound to the item, which shows on its timeline:
// {title, description?, responsible: "responsible" | "user:N", deadline?: "3d"}.
type taskRobot struct{}

func (taskRobot) check(c *checker, p map[string]any) {
	c.text(p, "title", true)
	c.text(p, "description", false)
	ref, _ := p["responsible"].(string)
	if ref == "" {
		ref = "responsible"
	}
	c.checkUserRef("responsible", ref)
	if d, given := p["deadline"].(string); given && d != "" {
		if dur, err := parseDuration(d); err != nil || dur < 0 {
			c.add("deadline", "deadline is a duration from the run, such as 2h or 3d")
		}
	}
}

// userOf resolves "responsible" and "user:N".
func userOf(rc *runCtx, ref string) int64 {
	if n, ok := strings.CutPrefix(ref, "user:"); ok {
		id, _ := strconv.ParseInt(n, 10, 64)
		return id
	}
	return rc.it.AssignedByID()
}

func (taskRobot) apply(rc *runCtx, u *crm.Unit) (map[string]any, error) {
	p := rc.robot.Params
	title, _ := p["title"].(string)
	description, _ := p["description"].(string)
	ref, _ := p["responsible"].(string)
	title, description = rc.r.render(title), rc.r.render(description)
	responsible := userOf(rc, ref)
	bound := []crm.Owner{rc.owner()}
	patch := tasks.Patch{Title: &title, Description: &description, ResponsibleID: &responsible, Bindings: &bound}
	if d, _ := p["deadline"].(string); d != "" {
		dur, _ := parseDuration(d)
		deadline := u.Now().Add(dur)
		patch.Deadline = &deadline
	}
	t, err := rc.s.tasks.AddIn(u, patch)
	if err != nil {
		if crm.KindOf(err) != 0 {
			return nil, permanent(err)
		}
		return nil, err
	}
	return map[string]any{"taskId": t.ID}, nil
}
