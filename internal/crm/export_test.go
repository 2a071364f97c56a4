package crm

// WrittenItem is the item as this service last wrote it, if it keeps it (tests).
func (s *Service) WrittenItem(t *Type, id int64) (*Item, bool) {
	if s.recent == nil {
		return nil, false
	}
	return s.recent.Get(t.recentKey(id))
}
