package automation_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"smartcrm/internal/apitest"
	"smartcrm/internal/testdb"
)

// stageOf reads an item's stage.
func stageOf(s *apitest.Server, etid, id int64) string {
	return apitest.Str(s.MustOK("crm.item.get", map[string]any{"entityTypeId": etid, "id": id}), "item.stageId")
}

func waitStage(t *testing.T, s *apitest.Server, etid, id int64, want string) {
	t.Helper()
	eventually(t, fmt.Sprintf("item %d in %s", id, want), 20*time.Second, func() (bool, string) {
		got := stageOf(s, etid, id)
		return got == want, got
	})
}

// Every trigger type moves items of its funnel to its stage, forward only unless it
// allows going back.
func TestTriggers(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		s := start(t, dialect, nil)
		lawyer := addUsers(t, s, "Lawyer")
		contracts := newProcess(s, "Contracts", nil)
		signatures := newProcess(s, "Signatures", map[string]any{"relations": map[string]any{"parent": []any{map[string]any{"entityTypeId": contracts}}}})
		s.MustOK("crm.automation.trigger.add", map[string]any{"CODE": "esign.signed", "NAME": "Signed in the e-signature app"})
		setAutomation(s, contracts, map[string]any{
			stage(contracts, "PREPARATION"): map[string]any{"triggers": []any{
				map[string]any{"id": "created", "type": "created", "condition": "title startsWith 'Urgent'"},
				map[string]any{"id": "commented", "type": "commentAdded"},
			}},
			stage(contracts, "CLIENT"): map[string]any{"triggers": []any{
				map[string]any{"id": "signed", "type": "webhook"},
				map[string]any{"id": "app", "type": "app", "params": map[string]any{"code": "esign.signed"}},
				map[string]any{"id": "amount", "type": "fieldChanged", "params": map[string]any{"fields": []any{"assignedById"}}},
				map[string]any{"id": "task", "type": "taskCompleted"},
			}},
			stage(contracts, "SUCCESS"): map[string]any{"triggers": []any{
				map[string]any{"id": "child-ok", "type": "childReached", "params": map[string]any{"entityTypeId": signatures, "semantics": "S"}},
			}},
			stage(contracts, "NEW"): map[string]any{"triggers": []any{
				map[string]any{"id": "reopen", "type": "webhook", "allowBackwards": true},
				map[string]any{"id": "back", "type": "fieldChanged", "params": map[string]any{"fields": []any{"title"}}},
			}},
		})
		// created: only when the condition holds.
		urgent := addItem(s, contracts, map[string]any{"title": "Urgent supply"})
		calm := addItem(s, contracts, map[string]any{"title": "Supply"})
		waitStage(t, s, contracts, urgent, stage(contracts, "PREPARATION"))

		// commentAdded.
		s.MustOK("crm.timeline.comment.add", map[string]any{"fields": map[string]any{
			"ENTITY_ID": calm, "ENTITY_TYPE": fmt.Sprintf("DYNAMIC_%d", contracts), "COMMENT": "Customer called"}})
		waitStage(t, s, contracts, calm, stage(contracts, "PREPARATION"))

		// webhook: crm.automation.trigger with the target and the trigger's code; the
		// earliest matching stage wins, and "reopen" (NEW) is behind: only "signed".
		target := fmt.Sprintf("DYNAMIC_%d_%d", contracts, urgent)
		s.MustOK("crm.automation.trigger", map[string]any{"target": target, "code": "signed"})
		waitStage(t, s, contracts, urgent, stage(contracts, "CLIENT"))
		// allowBackwards moves back.
		s.MustOK("crm.automation.trigger", map[string]any{"target": target, "code": "reopen"})
		waitStage(t, s, contracts, urgent, stage(contracts, "NEW"))

		// fieldChanged: a watched field; an unwatched one moves nothing. "back" watches
		// the title but only goes forward: from CLIENT it does nothing.
		s.MustOK("crm.item.update", map[string]any{"entityTypeId": contracts, "id": urgent, "fields": map[string]any{"assignedById": lawyer[0]}})
		waitStage(t, s, contracts, urgent, stage(contracts, "CLIENT"))
		s.MustOK("crm.item.update", map[string]any{"entityTypeId": contracts, "id": urgent, "fields": map[string]any{"title": "Urgent supply, v2"}})

		// app: crm.automation.trigger.execute.
		s.MustOK("crm.automation.trigger.execute", map[string]any{"CODE": "esign.signed", "OWNER_TYPE_ID": contracts, "OWNER_ID": calm})
		waitStage(t, s, contracts, calm, stage(contracts, "CLIENT"))

		// taskCompleted: a task bound to the item.
		third := addItem(s, contracts, map[string]any{"title": "Maintenance"})
		task := apitest.Str(s.MustOK("tasks.task.add", map[string]any{"fields": map[string]any{
			"TITLE": "Collect the signature", "RESPONSIBLE_ID": 1, "UF_CRM_TASK": []any{fmt.Sprintf("T%x_%d", contracts, third)}}}), "task.id")
		s.MustOK("tasks.task.complete", map[string]any{"taskId": task})
		waitStage(t, s, contracts, third, stage(contracts, "CLIENT"))

		// childReached: a signature reaching success moves its contract.
		sig := addItem(s, signatures, map[string]any{"title": "Director", fmt.Sprintf("parentId%d", contracts): third})
		s.MustOK("crm.item.update", map[string]any{"entityTypeId": signatures, "id": sig, "fields": map[string]any{"stageId": strings.Replace(stageOf(s, signatures, sig), ":NEW", ":SUCCESS", 1)}})
		waitStage(t, s, contracts, third, stage(contracts, "SUCCESS"))

		// The title change earlier did not move "urgent" back to NEW.
		if got := stageOf(s, contracts, urgent); got != stage(contracts, "CLIENT") {
			t.Errorf("a forward-only trigger moved an item back: %s", got)
		}
		// Bitrix24's errors for a bad target.
		for _, c := range []struct{ target, desc string }{
			{"", "Target is not set."}, {"DEAL", "Incorrect target format."}, {"WHAT_1", "Incorrect target format."},
			{fmt.Sprintf("DYNAMIC_%d_999999", contracts), "Target is not found."},
		} {
			r := s.Call("crm.automation.trigger", map[string]any{"target": c.target, "code": "signed"})
			if code, desc := r.Error(); r.Status != 400 || code != "" || desc != c.desc {
				t.Errorf("target %q: %d %v %q", c.target, r.Status, code, desc)
			}
		}
		// Application triggers: list, unknown code, delete.
		list := s.MustOK("crm.automation.trigger.list", nil).([]any)
		if len(list) != 1 || apitest.Str(list[0], "CODE") != "esign.signed" || apitest.Str(list[0], "NAME") == "" {
			t.Errorf("trigger list: %v", list)
		}
		r := s.Call("crm.automation.trigger.execute", map[string]any{"CODE": "nope", "OWNER_TYPE_ID": contracts, "OWNER_ID": calm})
		if _, desc := r.Error(); desc != "Trigger with code nope is not registered." {
			t.Errorf("unknown code: %s", r.Raw)
		}
		r = s.Call("crm.automation.trigger.add", map[string]any{"CODE": "Bad Code", "NAME": "x"})
		if _, desc := r.Error(); desc != "Wrong trigger code!" {
			t.Errorf("bad code: %s", r.Raw)
		}
		s.MustOK("crm.automation.trigger.delete", map[string]any{"CODE": "esign.signed"})
		if list := s.MustOK("crm.automation.trigger.list", nil).([]any); len(list) != 0 {
			t.Errorf("after delete: %v", list)
		}
	})
}
