package rest

import (
	"smartcrm/internal/events"
)

// bizproc.robot.add/update/list/delete, bizproc.event.send and bizproc.activity.log
// (spec automation §4.4–4.6): robots applications register, which the automation
// document then places as robots of type "app", and the answers their handlers send
// back. Usable with an inbound webhook, which is an application here.

func (s *Server) registerBizproc() {
	if s.automation == nil {
		return
	}
	s.registerFamily(familyBizproc, map[string]handlerFunc{
		"bizproc.robot.add":    (*Server).robotAdd,
		"bizproc.robot.update": (*Server).robotUpdate,
		"bizproc.robot.list":   (*Server).robotList,
		"bizproc.robot.delete": (*Server).robotDelete,
		"bizproc.event.send":   (*Server).eventSend,
		"bizproc.activity.log": (*Server).activityLog,
	})
}

func (s *Server) robotAdd(c *Call) (*Result, error) {
	if err := s.automation.AddAppRobot(c.Ctx, c.Actor, plainObject(c.Params)); err != nil {
		return nil, err
	}
	return &Result{Result: true}, nil
}

func (s *Server) robotUpdate(c *Call) (*Result, error) {
	fields, _ := lookup(c, "FIELDS")
	m, _ := plain(fields).(map[string]any)
	if err := s.automation.UpdateAppRobot(c.Ctx, c.Actor, text(c, "CODE"), m); err != nil {
		return nil, err
	}
	return &Result{Result: true}, nil
}

func (s *Server) robotList(c *Call) (*Result, error) {
	codes, err := s.automation.AppRobotCodes(c.Ctx, c.Actor)
	if err != nil {
		return nil, err
	}
	if codes == nil {
		codes = []string{}
	}
	return &Result{Result: codes}, nil
}

func (s *Server) robotDelete(c *Call) (*Result, error) {
	if err := s.automation.DeleteAppRobot(c.Ctx, c.Actor, text(c, "CODE")); err != nil {
		return nil, err
	}
	return &Result{Result: true}, nil
}

func (s *Server) eventSend(c *Call) (*Result, error) {
	token := text(c, "EVENT_TOKEN")
	if token == "" {
		return nil, events.Missing("EVENT_TOKEN")
	}
	values, _ := lookup(c, "RETURN_VALUES")
	m, _ := plain(values).(map[string]any)
	if err := s.automation.EventSend(c.Ctx, token, m, text(c, "LOG_MESSAGE")); err != nil {
		return nil, err
	}
	return &Result{Result: true}, nil
}

func (s *Server) activityLog(c *Call) (*Result, error) {
	token := text(c, "EVENT_TOKEN")
	if token == "" {
		return nil, events.Missing("EVENT_TOKEN")
	}
	if err := s.automation.ActivityLog(c.Ctx, token, text(c, "LOG_MESSAGE")); err != nil {
		return nil, err
	}
	return &Result{Result: true}, nil
}
