package automation

import (
	"fmt"

	"smartcrm/internal/crm"
)

// stageRobot moves the item to another stage of its funnel: {stageId}.
type stageRobot struct{}

func (stageRobot) check(c *checker, p map[string]any) {
	id, _ := p["stageId"].(string)
	if id == "" {
		c.add("stageId", "stageId is required")
		return
	}
	if c.t.Stage(c.category, id) == nil {
		c.add("stageId", "%q is not a stage of this pipeline", id)
	}
}

func (stageRobot) apply(rc *runCtx, u *crm.Unit) (map[string]any, error) {
	id, _ := rc.robot.Params["stageId"].(string)
	if rc.t.Stage(rc.it.CategoryID(), id) == nil {
		return nil, permanent(fmt.Errorf("stage %q is not in the item's pipeline", id))
	}
	it, err := u.UpdateItem(rc.t.EntityTypeID, rc.it.ID, crm.Patch{crm.FieldStageID: id}, crm.WriteOptions{})
	if err != nil {
		return nil, err
	}
	return map[string]any{"stageId": it.StageID()}, nil
}
