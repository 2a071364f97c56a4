package processdef

import (
	"smartcrm/internal/automation"
	"smartcrm/internal/cardlayout"
	"smartcrm/internal/crm"
	"smartcrm/internal/customfield"
)

// Service plans, applies and exports process files on one server, through the
// domain's services: every change it makes goes through the one write path.
type Service struct {
	crm     *crm.Service
	auto    *automation.Service
	layouts *cardlayout.Service
	fields  *customfield.Service
}

// New returns processes as code over a server's services.
func New(crmSvc *crm.Service, auto *automation.Service, layouts *cardlayout.Service) *Service {
	return &Service{crm: crmSvc, auto: auto, layouts: layouts, fields: customfield.New(crmSvc)}
}
