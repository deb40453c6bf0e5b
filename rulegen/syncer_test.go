package rulegen

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"

	"net/netip"
	"strconv"

	"k8s.io/apimachinery/pkg/types"

	"github.com/proxykit/proxykit/servicemodel"
)

// fakeBackend records requests and fails or asks for a full sync on demand.
type fakeBackend struct {
	mu       sync.Mutex
	reqs     []SyncRequest
	failNext int
	needFull bool
}

func (b *fakeBackend) Sync(_ context.Context, req SyncRequest) (SyncResult, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.reqs = append(b.reqs, req)
	if b.failNext > 0 {
		b.failNext--
		return SyncResult{}, errors.New("injected failure")
	}
	nf := b.needFull
	b.needFull = false
	return SyncResult{Writes: len(req.Changed), NeedFull: nf}, nil
}

func (b *fakeBackend) Cleanup(context.Context) error { return nil }

func (b *fakeBackend) set(fn func(*fakeBackend)) {
	b.mu.Lock()
	defer b.mu.Unlock()
	fn(b)
}

type syncerHarness struct {
	t       *testing.T
	clk     *clocktesting.FakeClock
	s       *Syncer
	be      *fakeBackend
	reports chan SyncReport
	tracker *servicemodel.Tracker
}

func svcName(i int) types.NamespacedName {
	return types.NamespacedName{Namespace: "ns", Name: "svc-" + strconv.Itoa(i)}
}

func setSlice(t *testing.T, tr *servicemodel.Tracker, i, k int) {
	t.Helper()
	err := tr.SetSlice(&servicemodel.EndpointSlice{Service: svcName(i), Name: "s", Family: servicemodel.IPv4,
		Ports:     []servicemodel.EndpointPort{{Protocol: servicemodel.TCP, Port: 8080}},
		Endpoints: []servicemodel.Endpoint{{Addr: netip.AddrFrom4([4]byte{10, 244, byte(i), byte(k)})}}})
	if err != nil {
		t.Fatal(err)
	}
}

func newSyncerHarness(t *testing.T) *syncerHarness {
	h := &syncerHarness{t: t, clk: clocktesting.NewFakeClock(time.Unix(1_800_000_000, 0)), be: &fakeBackend{},
		reports: make(chan SyncReport, 16)}
	h.tracker = servicemodel.NewTracker()
	for i := 0; i < 20; i++ {
		err := h.tracker.SetService(&servicemodel.Service{Name: svcName(i), Type: servicemodel.TypeClusterIP,
			ClusterIPs: []netip.Addr{netip.AddrFrom4([4]byte{10, 96, 0, byte(i + 1)})},
			Ports:      []servicemodel.ServicePort{{Protocol: servicemodel.TCP, Port: 80, TargetPort: servicemodel.TargetPort{Number: 8080}}}})
		if err != nil {
			t.Fatal(err)
		}
		setSlice(t, h.tracker, i, 1)
	}
	var err error
	h.s, err = NewSyncer(h.be, SyncerOptions{
		MinInterval: time.Second, FullSyncPeriod: time.Hour, RetryInitial: time.Second, RetryMax: 4 * time.Second,
		Clock: h.clk, Observer: func(r SyncReport) { h.reports <- r }})
	if err != nil {
		t.Fatal(err)
	}
	h.s.parked, h.s.resume = make(chan struct{}), make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Run returned %v", err)
		}
	})
	h.waitPark()
	return h
}

// waitPark waits until the loop parks; while it is parked, Updates and
// clock steps only queue events.
func (h *syncerHarness) waitPark() {
	h.t.Helper()
	select {
	case <-h.s.parked:
	case <-time.After(10 * time.Second):
		h.t.Fatal("sync loop did not park")
	}
}

// cycle lets the parked loop handle one queued event and park again. Call it
// only with an event queued.
func (h *syncerHarness) cycle() {
	h.t.Helper()
	h.s.resume <- struct{}{}
	h.waitPark()
}

// report returns the next sync report, cycling the loop through queued
// events until one arrives.
func (h *syncerHarness) report() SyncReport {
	h.t.Helper()
	for range 4 {
		select {
		case r := <-h.reports:
			return r
		default:
			h.cycle()
		}
	}
	h.t.Fatal("no sync report")
	return SyncReport{}
}

func (h *syncerHarness) noReport() {
	h.t.Helper()
	if len(h.reports) != 0 {
		h.t.Fatalf("unexpected sync: %+v", <-h.reports)
	}
}

func (h *syncerHarness) change(i int) {
	setSlice(h.t, h.tracker, i, 2)
	h.s.Update(h.tracker.Snapshot())
}

func TestSyncerCoalescesAndResyncs(t *testing.T) {
	h := newSyncerHarness(t)
	snap, _ := h.tracker.Snapshot()
	h.s.Update(snap, nil)
	if r := h.report(); !r.Full || r.Changed != -1 || r.Err != nil {
		t.Fatalf("first sync: %+v", r)
	}
	// A burst within MinInterval is coalesced into one sync.
	h.change(1)
	h.change(2)
	h.change(3)
	h.cycle()
	h.noReport()
	h.clk.Step(time.Second)
	r := h.report()
	if r.Full || r.Changed != 3 {
		t.Fatalf("coalesced sync: %+v", r)
	}
	if n := len(h.be.reqs[1].Changed); n != 3 || h.be.reqs[1].Plan.Len() != 20 {
		t.Fatalf("request: %d changed, plan of %d", n, h.be.reqs[1].Plan.Len())
	}
	// The next sync carries only what changed since the last success.
	h.change(7)
	h.clk.Step(time.Second)
	if r := h.report(); r.Changed != 1 {
		t.Fatalf("changes of a successful sync sent again: %+v", r)
	}
	// The periodic full resync.
	h.clk.Step(time.Hour)
	if r := h.report(); !r.Full {
		t.Fatalf("periodic sync not full: %+v", r)
	}
}

func TestSyncerRetriesWithBackoffAndKeepsChanges(t *testing.T) {
	h := newSyncerHarness(t)
	snap, _ := h.tracker.Snapshot()
	h.s.Update(snap, nil)
	h.report()
	h.be.set(func(b *fakeBackend) { b.failNext = 2 })
	h.change(4)
	h.cycle()
	h.clk.Step(time.Second)
	if r := h.report(); r.Err == nil || r.Failures != 1 {
		t.Fatalf("want a failure: %+v", r)
	}
	h.clk.Step(time.Second) // first retry after 1s
	if r := h.report(); r.Failures != 2 {
		t.Fatalf("want a second failure: %+v", r)
	}
	h.change(5) // a change during backoff does not shorten it
	h.clk.Step(time.Second)
	h.cycle()
	h.noReport()
	h.clk.Step(time.Second) // second retry after 2s
	r := h.report()
	if r.Err != nil || r.Changed != 2 {
		t.Fatalf("retry must carry every change since the last success: %+v", r)
	}
}

func TestSyncerHonoursNeedFull(t *testing.T) {
	h := newSyncerHarness(t)
	snap, _ := h.tracker.Snapshot()
	h.s.Update(snap, nil)
	h.report()
	h.be.set(func(b *fakeBackend) { b.needFull = true })
	h.change(6)
	h.cycle()
	h.clk.Step(time.Second)
	if r := h.report(); r.Full {
		t.Fatalf("sync before NeedFull was full: %+v", r)
	}
	h.clk.Step(time.Second)
	if r := h.report(); !r.Full {
		t.Fatalf("NeedFull not honoured: %+v", r)
	}
}

func TestNewSyncerRejectsBadInput(t *testing.T) {
	if _, err := NewSyncer(nil, SyncerOptions{}); err == nil {
		t.Fatal("nil backend accepted")
	}
	_, err := NewSyncer(&fakeBackend{}, SyncerOptions{Config: Config{Families: []servicemodel.IPFamily{"x"}}})
	if !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("got %v", err)
	}
}
