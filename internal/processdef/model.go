// Package processdef is processes as code: a YAML file describes whole smart
// processes — the type, its custom fields, funnels and stages, relations, fields
// required from a stage on, the automation of each funnel and the card layout — keyed
// by stable codes, never by database ids, so one file serves every server.
//
// Load reads a file into a File (every mistake listed at once, with its line and
// column). Export reads what a server has into the same model. Plan diffs the two and
// says what would change; Apply makes exactly those changes in one transaction of
// the domain's write path (crm.Unit). Presets are such files embedded in the binary.
package processdef

// File is a process file: one or more smart processes.
type File struct {
	// Version is the format's version; 1 is the only one.
	Version   int        `yaml:"version"`
	Processes []*Process `yaml:"processes"`
}

// Process is one smart process.
type Process struct {
	// Code is the type's stable name: what the file and other processes call it.
	Code  string `yaml:"code"`
	Title string `yaml:"title"`
	// Flags are the type's is* settings; one left out keeps its value (its default on
	// a new type). Export writes every settable one.
	Flags map[string]bool `yaml:"flags,omitempty"`
	// LinkedUserFields are the links to other modules switched on (with
	// isUseInUserfieldEnabled): CALENDAR_EVENT|UF_CRM_CAL_EVENT, TASKS_TASK|UF_CRM_TASK,
	// TASKS_TASK_TEMPLATE|UF_CRM_TASK. Left out: none.
	LinkedUserFields []string   `yaml:"linkedUserFields,omitempty"`
	Relations        *Relations `yaml:"relations,omitempty"`
	Fields           []*Field   `yaml:"fields,omitempty"`
	Funnels          []*Funnel  `yaml:"funnels,omitempty"`
	// Layout is the card layout common to everyone and every funnel; none shows the
	// default card.
	Layout []*Section `yaml:"layout,omitempty"`

	at pos // where the process starts in the file
}

// Relations are the types this one is a child of (parents) and a parent of
// (children), by code: another process's code, or lead, deal, contact, company.
type Relations struct {
	Parents  []*Relation `yaml:"parents,omitempty"`
	Children []*Relation `yaml:"children,omitempty"`
}

// Relation is one link between two types.
type Relation struct {
	Type string `yaml:"type"`
	// ShowInCard shows the children's list on the parent's card.
	ShowInCard bool `yaml:"showInCard,omitempty"`

	at pos
}

// Field is a custom field. Its name on a server is UF_CRM_{type}_{KEY}; elsewhere in
// the file (conditions, layouts, rules) it is named as the REST API names it with the
// type's number left out: key AMOUNT is ufCrmAmount.
type Field struct {
	Key  string `yaml:"key"`
	Type string `yaml:"type"`
	// Label is the English label of the edit form, list column and filter, when that is
	// all the field has; Labels gives every text in every language.
	Label      string  `yaml:"label,omitempty"`
	Labels     *Labels `yaml:"labels,omitempty"`
	Mandatory  bool    `yaml:"mandatory,omitempty"`
	Multiple   bool    `yaml:"multiple,omitempty"`
	Sort       int64   `yaml:"sort,omitempty"`
	ShowFilter string  `yaml:"showFilter,omitempty"` // N (default), I, E, S
	// HideInList and NoEditInList switch off what new fields have on.
	HideInList   bool `yaml:"hideInList,omitempty"`
	NoEditInList bool `yaml:"noEditInList,omitempty"`
	Searchable   bool `yaml:"searchable,omitempty"`
	// Settings are the kind's settings (see crm.userfield.settings.fields); those at
	// their default are left out. A crm link field allows types by code.
	Settings map[string]any `yaml:"settings,omitempty"`
	// Items are an enumeration's choices, in order.
	Items []*Item `yaml:"items,omitempty"`

	at pos
}

// Labels are a field's texts by language.
type Labels struct {
	EditForm     map[string]string `yaml:"editForm,omitempty"`
	ListColumn   map[string]string `yaml:"listColumn,omitempty"`
	ListFilter   map[string]string `yaml:"listFilter,omitempty"`
	ErrorMessage map[string]string `yaml:"errorMessage,omitempty"`
	HelpMessage  map[string]string `yaml:"helpMessage,omitempty"`
}

// Item is a choice of an enumeration, keyed by its stable key (its XML_ID).
type Item struct {
	Key     string `yaml:"key"`
	Value   string `yaml:"value"`
	Default bool   `yaml:"default,omitempty"`
	Sort    int64  `yaml:"sort,omitempty"`

	at pos
}

// Funnel is a pipeline of stages with its rules and automation.
type Funnel struct {
	Code string `yaml:"code"`
	Name string `yaml:"name"`
	// Default marks the funnel new items enter; a type has exactly one.
	Default bool     `yaml:"default,omitempty"`
	Sort    int64    `yaml:"sort,omitempty"`
	Stages  []*Stage `yaml:"stages"`
	// Required are fields required from a stage on.
	Required   []*Requirement `yaml:"required,omitempty"`
	Automation *Automation    `yaml:"automation,omitempty"`

	at pos
}

// Stage is a stage of a funnel, in the funnel's order.
type Stage struct {
	Code  string `yaml:"code"`
	Name  string `yaml:"name"`
	Color string `yaml:"color,omitempty"`
	// Semantics is success or failure; in progress when left out.
	Semantics string `yaml:"semantics,omitempty"`
	// ItemsFrom names stages this file deletes whose items move here (with --prune).
	ItemsFrom []string `yaml:"itemsFrom,omitempty"`

	at pos
}

// Requirement makes a field required from a stage on.
type Requirement struct {
	Field string `yaml:"field"`
	From  string `yaml:"from"`

	at pos
}

// Automation is a funnel's automation document as smartcrm.automation.get shows it,
// with stages by code.
type Automation struct {
	Stages map[string]*StageAutomation `yaml:"stages"`
}

// StageAutomation is what happens around one stage.
type StageAutomation struct {
	Robots   []*Robot   `yaml:"robots,omitempty"`
	Triggers []*Trigger `yaml:"triggers,omitempty"`
}

// Robot is as automation.Robot, with codes for types and stages in its params.
type Robot struct {
	ID        string         `yaml:"id"`
	Type      string         `yaml:"type"`
	Title     string         `yaml:"title,omitempty"`
	Condition string         `yaml:"condition,omitempty"`
	Delay     *Delay         `yaml:"delay,omitempty"`
	Parallel  bool           `yaml:"parallel,omitempty"`
	Params    map[string]any `yaml:"params,omitempty"`

	at pos
}

// Delay is as automation.Delay.
type Delay struct {
	After        string `yaml:"after,omitempty"`
	Field        string `yaml:"field,omitempty"`
	Offset       string `yaml:"offset,omitempty"`
	WorkingHours bool   `yaml:"workingHours,omitempty"`
}

// Trigger is as automation.Trigger.
type Trigger struct {
	ID             string         `yaml:"id"`
	Type           string         `yaml:"type"`
	Condition      string         `yaml:"condition,omitempty"`
	AllowBackwards bool           `yaml:"allowBackwards,omitempty"`
	Params         map[string]any `yaml:"params,omitempty"`

	at pos
}

// Section is a titled group of fields on the card.
type Section struct {
	Name   string   `yaml:"name"`
	Title  string   `yaml:"title"`
	Fields []string `yaml:"fields"`
	// AlwaysShow are fields of the section shown even when empty (Bitrix24's
	// optionFlags 1).
	AlwaysShow []string `yaml:"alwaysShow,omitempty"`

	at pos
}

// pos is where something is in the file, for errors.
type pos struct{ line, col int }
