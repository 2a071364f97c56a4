package automation

import "smartcrm/internal/crm"

// waitRobot holds the robots after it until the item satisfies a condition:
// {condition, timeout?}. It is checked when it comes due and again at every change of
// the item; after the timeout it fails and the chain goes on.
type waitRobot struct{}

func (waitRobot) check(c *checker, p map[string]any) {
	cond, _ := p["condition"].(string)
	if cond == "" {
		c.add("condition", "a wait robot needs the condition it waits for")
	} else {
		c.checkCondition("condition", cond)
	}
	if t, _ := p["timeout"].(string); t != "" {
		if d, err := parseDuration(t); err != nil || d <= 0 {
			c.add("timeout", "timeout is a duration such as 2h or 3d")
		}
	}
}

// satisfied evaluates the condition on the item as it is.
func (waitRobot) satisfied(t *crm.Type, it *crm.Item, r *Robot) (bool, error) {
	cond, _ := r.Params["condition"].(string)
	return holds(t, it, cond)
}
