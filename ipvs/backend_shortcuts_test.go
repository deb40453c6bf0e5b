package ipvs

import (
	"context"
	"testing"

	"github.com/proxykit/proxykit/rulegen"
	"github.com/proxykit/proxykit/servicemodel"
)

// TestBackendLocalServiceChanges: changing and deleting ETP=Local services
// (whose short-circuits the companion rules list) one at a time keeps the
// rules equal to Render's.
func TestBackendLocalServiceChanges(t *testing.T) {
	c, plan, fb := syncedFixture(t, 300, 3)
	ctx := context.Background()
	var local []int
	for i, svc := range c.Services {
		if svc.ExternalTrafficPolicy == servicemodel.PolicyLocal {
			local = append(local, i)
		}
	}
	if len(local) < 3 {
		t.Fatalf("the fixture has %d Local services", len(local))
	}
	sync := func(snap *servicemodel.Snapshot, changed []servicemodel.ServicePortName) {
		t.Helper()
		plan, _ = plan.Update(snap, changed)
		if _, err := fb.Sync(ctx, rulegen.SyncRequest{Plan: plan, Changed: changed}); err != nil {
			t.Fatal(err)
		}
		fb.checkRender(t, plan)
	}
	for k, i := range local[:3] {
		snap, changed, err := c.ChangeOneEndpoint(i, k+1)
		if err != nil {
			t.Fatal(err)
		}
		sync(snap, changed)
	}
	c.Tracker.DeleteService(c.Services[local[1]].Name)
	sync(c.Tracker.Snapshot())
	if err := c.Tracker.SetService(c.Services[local[1]]); err != nil {
		t.Fatal(err)
	}
	sync(c.Tracker.Snapshot())
}
