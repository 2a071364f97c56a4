package processdef_test

import (
	"smartcrm/internal/access"
	"smartcrm/internal/apitest"
	"smartcrm/internal/processdef"
)

var admin = access.Actor{UserID: 1, IsAdmin: true}

// newService is processes as code over a test server's services.
func newService(s *apitest.Server) *processdef.Service {
	return processdef.New(s.App.CRM, s.App.Automation, s.App.CardLayout)
}
