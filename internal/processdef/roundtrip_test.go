package processdef_test

import (
	"bytes"
	"context"
	"os"
	"testing"

	"smartcrm/internal/access"
	"smartcrm/internal/apitest"
	"smartcrm/internal/processdef"
	"smartcrm/internal/testdb"
)

var admin = access.Actor{UserID: 1, IsAdmin: true}

func newService(s *apitest.Server) *processdef.Service {
	return processdef.New(s.App.CRM, s.App.Automation, s.App.CardLayout)
}

func TestScratch(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		srv := apitest.Start(t, dialect)
		svc := newService(srv)
		ctx := context.Background()
		data, err := os.ReadFile("presets/installation-visit.yaml")
		if err != nil {
			t.Fatal(err)
		}
		plan, err := svc.Plan(ctx, admin, "iv.yaml", data, processdef.Options{})
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		plan.Write(&b)
		t.Log(b.String())
		if _, err := svc.Apply(ctx, admin, "iv.yaml", data, processdef.Options{}); err != nil {
			t.Fatal(err)
		}
		plan, err = svc.Plan(ctx, admin, "iv.yaml", data, processdef.Options{})
		if err != nil {
			t.Fatal(err)
		}
		b.Reset()
		plan.Write(&b)
		t.Log(b.String())
		out, err := svc.Export(ctx, admin, "")
		if err != nil {
			t.Fatal(err)
		}
		t.Log(string(out))
	})
}
