package crm

// Actor is who makes a call: the user behind a webhook, a robot acting for a user, or
// the system itself.
type Actor struct {
	UserID  int64
	IsAdmin bool
}
