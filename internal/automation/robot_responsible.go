package automation

import (
	"fmt"

	"smartcrm/internal/crm"
)

// responsibleRobot gives the item to a user, or to the next of several in turn:
// {users: [2, 3, 5]}. The turn is kept per robot of the funnel and taken in the run's
// transaction, so concurrent runs each get the next one: fair under load.
type responsibleRobot struct{}

func (responsibleRobot) check(c *checker, p map[string]any) {
	list, ok := p["users"].([]any)
	if !ok || len(list) == 0 {
		c.add("users", "users is a list of user ids")
		return
	}
	for _, e := range list {
		id, ok := intParam(e)
		switch {
		case !ok || id <= 0:
			c.add("users", "%v is not a user id", e)
		case !c.userOK(id):
			c.add("users", "user %d does not exist or is inactive", id)
		}
	}
}

func (responsibleRobot) apply(rc *runCtx, u *crm.Unit) (map[string]any, error) {
	list, _ := rc.robot.Params["users"].([]any)
	if len(list) == 0 {
		return nil, permanent(fmt.Errorf("no users to choose from"))
	}
	user, _ := intParam(list[0])
	if len(list) > 1 {
		turn, err := u.Tx().NextInRotation(u.Ctx(), rc.t.EntityTypeID, rc.run.CategoryID, rc.robot.ID)
		if err != nil {
			return nil, err
		}
		user, _ = intParam(list[turn%int64(len(list))])
	}
	if _, err := u.UpdateItem(rc.t.EntityTypeID, rc.it.ID, crm.Patch{crm.FieldAssignedByID: user}, crm.WriteOptions{}); err != nil {
		if crm.KindOf(err) != 0 {
			return nil, permanent(err)
		}
		return nil, err
	}
	return map[string]any{"assignedById": user}, nil
}
