package crm

// WrittenItem is the item as this service last wrote it, if it keeps it (tests).
func (s *Service) WrittenItem(t *Type, id int64) (*Item, bool) {
	if s.written == nil {
		return nil, false
	}
	return s.written.Get(t.writtenKey(id))
}
