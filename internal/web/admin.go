package web

import (
	"context"
	"net/http"

	"smartcrm/internal/access"
	"smartcrm/internal/crm"
)

// The administrators' pages: one place per smart process where every part of it is
// visible and every change is validated before it is saved. /crm/type/ lists the types
// and creates them (from a preset or blank); under a type, settings/ holds its flags,
// relations, fields, funnels and stages, and card layout, and automation/ its robots,
// triggers and the queue of runs. One file per part: admin_type.go, admin_fields.go,
// admin_funnels.go, admin_automation.go (with admin_robots.go), admin_layout.go.

// PresetInfo names a preset process for the "create" page.
type PresetInfo struct {
	Name        string // what ApplyPreset takes
	Title       string
	Description string
}

// Processes are processes as code (issue 15's processdef package): presets that create
// a whole process at once, and a type's export as its process file. The pages offer
// presets and the export button only when it is set.
type Processes interface {
	// Presets lists the presets in the order the page offers them.
	Presets() []PresetInfo
	// ApplyPreset creates the preset's process (types, fields, funnels, stages,
	// relations, automation, card layouts) and returns the entityTypeId of its main
	// type, whose Kanban the page opens.
	ApplyPreset(ctx context.Context, actor access.Actor, name string) (entityTypeID int64, err error)
	// Export writes a type's process file (YAML).
	Export(ctx context.Context, actor access.Actor, entityTypeID int64) ([]byte, error)
}

// SetProcesses plugs in presets and export after the server is built (the composition
// root, or a test with its own).
func (s *Server) SetProcesses(p Processes) {
	s.procMu.Lock()
	s.procs = p
	s.procMu.Unlock()
}

func (s *Server) processes() Processes {
	s.procMu.Lock()
	defer s.procMu.Unlock()
	return s.procs
}

// TypesPath is the list of smart processes; SettingsPath a type's settings pages
// (part "" is the general one: flags, relations, rename, delete, export);
// AutomationPath a funnel's automation editor; RunsPath the queue of runs.
const TypesPath = "/crm/type/"

// SettingsPath is a settings page of a type: "", "fields/", "funnels/", "card/",
// "indexes/".
func SettingsPath(etid int64, part string) string { return basePath(etid) + "settings/" + part }

// AutomationPath is the automation editor of a funnel.
func AutomationPath(etid, cat int64) string {
	return basePath(etid) + "automation/category/" + itoa(cat) + "/"
}

// RunsPath is the queue of a type's automation runs.
func RunsPath(etid int64) string { return basePath(etid) + "automation/runs/" }

// admin refuses a person who may not configure the CRM, and reads a posted form (the
// script's posts carry their token in a header, so nothing has read their body yet; a
// JSON body is left to its handler).
func (q *request) admin() bool {
	if !q.actor.IsAdmin {
		q.fail(access.ErrDenied)
		return false
	}
	if q.r.Method == http.MethodPost {
		if err := q.parseForm(); err != nil {
			q.fail(err)
			return false
		}
	}
	return true
}

// tabView is a link of a type's settings navigation.
type tabView struct {
	Text, URL string
	Current   bool
}

// adminFrame is what every settings page of a type shows above its own part: the
// type's name, its views and the settings navigation.
type adminFrame struct {
	csrfHolder
	Type    *crm.Type
	Heading string // the part of the settings shown
	Kanban  string
	Tabs    []tabView
	// Errors are refusals shown beside the form they answer, by the form's key.
	Errors map[string]string
}

// frame builds the navigation of a type's settings, marking the current part.
func (s *Server) frame(t *crm.Type, current string) adminFrame {
	f := adminFrame{Type: t, Kanban: entryPath(t), Errors: map[string]string{}}
	add := func(text, url, key string) {
		f.Tabs = append(f.Tabs, tabView{Text: text, URL: url, Current: key == current})
		if key == current {
			f.Heading = text
		}
	}
	if !t.IsStandard() {
		add("General", SettingsPath(t.EntityTypeID, ""), "general")
	}
	add("Fields", SettingsPath(t.EntityTypeID, "fields/"), "fields")
	if t.HasStages() {
		add("Funnels and stages", SettingsPath(t.EntityTypeID, "funnels/"), "funnels")
	}
	add("Card layout", SettingsPath(t.EntityTypeID, "card/"), "card")
	if s.indexes != nil {
		add("List indexes", SettingsPath(t.EntityTypeID, "indexes/"), "indexes")
	}
	if s.auto != nil && t.HasStages() && (t.IsStandard() || t.Flag(crm.FlagAutomation)) {
		add("Automation", AutomationPath(t.EntityTypeID, defaultCategory(t)), "automation")
		add("Automation runs", RunsPath(t.EntityTypeID), "runs")
	}
	return f
}

// fail shows a refusal beside the form it answers: the page is rendered again with
// the message under key, with the status the error calls for.
func (f *adminFrame) fail(key string, err error) int {
	status, msg := errorStatus(err)
	f.Errors[key] = msg
	return status
}

// settingsRoute dispatches /crm/{type}/settings/….
func (s *Server) settingsRoute(q *request, tg target) {
	part := tg.seg(1)
	if part == "card" && len(tg.rest) == 2 && !q.actor.IsAdmin {
		// Everyone may lay out their own card; only the common layout is the
		// administrators'.
		if q.r.Method == http.MethodPost {
			if err := q.parseForm(); err != nil {
				q.fail(err)
				return
			}
		}
		s.cardLayoutRoute(q, tg.t)
		return
	}
	if !q.admin() {
		return
	}
	switch {
	case part == "fields":
		s.fieldsRoute(q, tg.t, tg.rest[2:])
	case part == "funnels" && tg.t.HasStages():
		s.funnelsRoute(q, tg.t, tg.rest[2:])
	case part == "card" && len(tg.rest) == 2:
		s.cardLayoutRoute(q, tg.t)
	case part == "indexes" && s.indexes != nil:
		s.indexesRoute(q, tg.t, tg.rest[2:])
	case (part == "" || part == "save" || part == "relations" || part == "delete" || part == "export") && len(tg.rest) <= 2 && !tg.t.IsStandard():
		s.typeSettings(q, tg.t, part)
	default:
		q.notFound()
	}
}

// checked reads a checkbox.
func (q *request) checked(name string) bool {
	v := q.r.PostForm.Get(name)
	return v == "Y" || v == "on" || v == "1"
}
