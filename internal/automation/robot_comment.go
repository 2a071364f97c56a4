package automation

import "smartcrm/internal/crm"

// commentRobot writes a comment on the item's timeline: {text}.
type commentRobot struct{}

func (commentRobot) check(c *checker, p map[string]any) { c.text(p, "text", true) }

func (commentRobot) apply(rc *runCtx, u *crm.Unit) (map[string]any, error) {
	text, _ := rc.robot.Params["text"].(string)
	id, err := rc.s.timeline.AddCommentIn(u, rc.owner(), rc.r.render(text))
	if err != nil {
		return nil, err
	}
	return map[string]any{"commentId": id}, nil
}
