package automation

import (
	"context"
	"time"

	"smartcrm/internal/crm"
	"smartcrm/internal/store"
)

// library is every funnel's automation, read whole: there is one small document per
// funnel, so the service keeps them all and answers "does anything care about this
// change?" from memory — most changes of a busy server touch no trigger and no wait
// robot, and must not pay a query to learn it.
type library struct {
	at time.Time
	// gen is the service's generation when the documents were read: a document saved
	// since makes the library stale at once.
	gen  int64
	docs map[docKey]*Document
	// triggers holds, per entityTypeId, the trigger types its funnels use.
	triggers map[int64]map[string]bool
	// waits is set for the types whose funnels have wait robots.
	waits map[int64]bool
	// childOf holds, per child entityTypeId, that some parent type has a childReached
	// trigger on it.
	childOf map[int64]bool
}

// uses tells whether any funnel has a trigger of this type.
func (l *library) uses(trigger string) bool {
	for _, types := range l.triggers {
		if types[trigger] {
			return true
		}
	}
	return false
}

type docKey struct{ etid, cat int64 }

// libraryTTL bounds how long another process's change of a document can go unseen.
// Documents this process saves are seen at once.
const libraryTTL = time.Second

type docLister interface {
	AutomationDocuments(ctx context.Context) ([]*store.AutomationDocument, error)
}

// library returns the documents, reading them again through q when they are older
// than libraryTTL.
func (s *Service) library(ctx context.Context, q docLister) (*library, error) {
	gen := s.libGen.Load()
	if l := s.lib.Load(); l != nil && l.gen == gen && time.Since(l.at) < libraryTTL {
		return l, nil
	}
	recs, err := q.AutomationDocuments(ctx)
	if err != nil {
		return nil, err
	}
	l := &library{at: time.Now(), gen: gen, docs: map[docKey]*Document{}, triggers: map[int64]map[string]bool{},
		waits: map[int64]bool{}, childOf: map[int64]bool{}}
	for _, rec := range recs {
		doc, err := decodeDocument(rec)
		if err != nil {
			s.log.Error("an automation document does not decode; its funnel runs no automation",
				"entityTypeId", rec.EntityTypeID, "categoryId", rec.CategoryID, "err", err)
			continue
		}
		l.docs[docKey{rec.EntityTypeID, rec.CategoryID}] = doc
		l.index(doc)
	}
	// A read that began before a save finished must not be kept: it may miss the
	// saved document. The caller still uses it — its own read began before the save.
	if s.libGen.Load() == gen {
		s.lib.Store(l)
	}
	return l, nil
}

func (l *library) index(doc *Document) {
	for _, sa := range doc.Stages {
		if sa == nil {
			continue
		}
		for _, r := range sa.Robots {
			if r.Type == RobotWait {
				l.waits[doc.EntityTypeID] = true
			}
		}
		for _, tr := range sa.Triggers {
			if l.triggers[doc.EntityTypeID] == nil {
				l.triggers[doc.EntityTypeID] = map[string]bool{}
			}
			l.triggers[doc.EntityTypeID][tr.Type] = true
			if tr.Type == TriggerChildReached {
				if child, ok := intParam(tr.Params["entityTypeId"]); ok {
					l.childOf[child] = true
				}
			}
		}
	}
}

// document is a funnel's automation; an empty one when none was saved.
func (l *library) document(etid, cat int64) *Document {
	if d := l.docs[docKey{etid, cat}]; d != nil {
		return d
	}
	return &Document{EntityTypeID: etid, CategoryID: cat, Stages: map[string]*StageAutomation{}}
}

// documentIn is a funnel's automation, read inside a unit.
func (s *Service) documentIn(u *crm.Unit, etid, cat int64) (*Document, error) {
	l, err := s.library(u.Ctx(), u.Tx())
	if err != nil {
		return nil, err
	}
	return l.document(etid, cat), nil
}

// forget makes the next read of the documents go to the database: this process saved
// one, and committed it.
func (s *Service) forget() { s.libGen.Add(1) }

// mayWait tells, from memory, whether a type has wait robots; true while unknown.
func (s *Service) mayWait(etid int64) bool {
	l := s.lib.Load()
	return l == nil || l.gen != s.libGen.Load() || l.waits[etid]
}
