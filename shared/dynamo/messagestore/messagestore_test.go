package messagestore_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/keyturn/keyturn/shared/apierr"
	"github.com/keyturn/keyturn/shared/ddbtest"
	"github.com/keyturn/keyturn/shared/dynamo"
	"github.com/keyturn/keyturn/shared/dynamo/messagestore"
	"github.com/keyturn/keyturn/shared/messages"
)

type rig struct {
	meter *ddbtest.Meter
	st    *messagestore.Store
	svc   *messages.Service
	now   time.Time
}

func newRig(t *testing.T) *rig {
	db, table := ddbtest.NewTable(t)
	r := &rig{meter: ddbtest.NewMeter(db), now: time.Unix(1537815312, 0).UTC()}
	r.st = messagestore.New(dynamo.New(r.meter, table))
	r.svc = messages.NewService(r.st, func() time.Time { return r.now })
	return r
}

// create stores a message of account at unix time created and returns its
// id.
func (r *rig) create(t *testing.T, account int64, created int64, channel, content string) int64 {
	t.Helper()
	n := messages.New{Time: &created, Content: &content}
	if channel != "" {
		n.Channel = &channel
	}
	m, err := r.svc.Create(context.Background(), account, n)
	if err != nil {
		t.Fatal(err)
	}
	return m.ID
}

func contents(ms []messages.Message) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = *m.Content
	}
	return out
}

func ptr[T any](v T) *T { return &v }

// TestListByChannelAndTime: listings are newest first, by channel (the
// channel's index partition) or over every channel (the account's
// partition), strictly after a time, one account only; several messages in
// one second all appear.
func TestListByChannelAndTime(t *testing.T) {
	ctx := context.Background()
	r := newRig(t)
	r.create(t, 1, 100, "stable", "s100")
	r.create(t, 1, 200, "beta", "b200")
	r.create(t, 1, 200, "stable", "s200")
	r.create(t, 1, 300, "", "n300")
	r.create(t, 1, 300, "stable", "s300")
	r.create(t, 1, 50, "Stable", "S50") // channels are matched exactly
	r.create(t, 2, 400, "stable", "other account")
	tests := []struct {
		name   string
		filter messages.Filter
		want   []string
	}{
		{"every channel", messages.Filter{}, []string{"s300", "n300", "s200", "b200", "s100", "S50"}},
		{"one channel", messages.Filter{Channel: ptr("stable")}, []string{"s300", "s200", "s100"}},
		{"after a time, strictly", messages.Filter{After: ptr(int64(200))}, []string{"s300", "n300"}},
		{"channel and time", messages.Filter{Channel: ptr("stable"), After: ptr(int64(100))}, []string{"s300", "s200"}},
		{"time 0 is everything", messages.Filter{After: ptr(int64(0))}, []string{"s300", "n300", "s200", "b200", "s100", "S50"}},
		{"after the last", messages.Filter{After: ptr(int64(300))}, []string{}},
		{"after the latest time", messages.Filter{After: ptr(int64(messages.MaxTime))}, []string{}},
		{"unknown channel", messages.Filter{Channel: ptr("nightly")}, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := r.svc.List(ctx, 1, tt.filter)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(contents(got), tt.want) {
				t.Errorf("got %v, want %v", contents(got), tt.want)
			}
			for _, m := range got {
				if m.AccountID != 1 || m.ID == 0 || m.Created.IsZero() {
					t.Errorf("message %+v: want account 1, an id and a creation time", m)
				}
			}
		})
	}
	// The message without a channel has none; the others keep theirs.
	all, _ := r.svc.List(ctx, 1, messages.Filter{After: ptr(int64(250))})
	if all[1].Channel != nil || all[0].Channel == nil || *all[0].Channel != "stable" || all[0].Created.Unix() != 300 {
		t.Errorf("messages after 250 = %+v", all)
	}
}

// TestListReadsOnePage: however many messages the account holds, a listing
// is one Query that reads at most PageSize items, and returns the newest.
func TestListReadsOnePage(t *testing.T) {
	ctx := context.Background()
	r := newRig(t)
	const n = messages.PageSize + 30
	for i := 1; i <= n; i++ {
		r.create(t, 1, int64(1000+i), "stable", fmt.Sprint(i))
	}
	for _, f := range []messages.Filter{{}, {Channel: ptr("stable")}} {
		where := "every channel"
		if f.Channel != nil {
			where = "channel " + *f.Channel
		}
		r.meter.Take()
		got, err := r.svc.List(ctx, 1, f)
		if err != nil {
			t.Fatal(err)
		}
		u := r.meter.Take()
		if len(got) != messages.PageSize || *got[0].Content != fmt.Sprint(n) || *got[len(got)-1].Content != fmt.Sprint(n-messages.PageSize+1) {
			t.Errorf("%s: %d messages from %s to %s, want the newest %d", where, len(got), *got[0].Content, *got[len(got)-1].Content, messages.PageSize)
		}
		if u.TotalCalls() != 1 || u.Calls["Query"] != 1 || u.ItemsRead > messages.PageSize {
			t.Errorf("%s: %v calls, %d items read; want one Query of at most %d items", where, u.Calls, u.ItemsRead, messages.PageSize)
		}
		t.Logf("%s: %d items read, %.1f RCU", where, u.ItemsRead, u.RCU)
	}
}

// TestRemove: a message is removed with its index entry and pointer; a
// second removal, an unknown id and another account's id are NotFound and
// change nothing.
func TestRemove(t *testing.T) {
	ctx := context.Background()
	r := newRig(t)
	r.create(t, 1, 100, "stable", "keep")
	gone := r.create(t, 1, 200, "stable", "gone")
	other := r.create(t, 2, 200, "stable", "other")
	if err := r.st.RemoveMessage(ctx, 1, gone); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name    string
		account int64
		id      int64
	}{{"removed twice", 1, gone}, {"unknown id", 1, 999}, {"another account's message", 1, other}} {
		if err := r.st.RemoveMessage(ctx, tt.account, tt.id); !errors.Is(err, apierr.NotFound) {
			t.Errorf("%s: %v, want NotFound", tt.name, err)
		}
	}
	for _, f := range []messages.Filter{{}, {Channel: ptr("stable")}} {
		if got, _ := r.svc.List(ctx, 1, f); !slices.Equal(contents(got), []string{"keep"}) {
			t.Errorf("after removal, channel filter %v: %v, want [keep]", f.Channel != nil, contents(got))
		}
	}
	if got, _ := r.svc.List(ctx, 2, messages.Filter{}); !slices.Equal(contents(got), []string{"other"}) {
		t.Errorf("the other account's messages: %v", contents(got))
	}
}

// TestConcurrentRemove: of parallel removals of one message exactly one
// succeeds; the others are NotFound.
func TestConcurrentRemove(t *testing.T) {
	ctx := context.Background()
	r := newRig(t)
	id := r.create(t, 1, 100, "", "once")
	var wg sync.WaitGroup
	var mu sync.Mutex
	okCount, notFound := 0, 0
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := r.st.RemoveMessage(ctx, 1, id)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				okCount++
			case errors.Is(err, apierr.NotFound):
				notFound++
			default:
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if okCount != 1 || notFound != 7 {
		t.Errorf("8 parallel removals: %d succeeded, %d not found; want 1 and 7", okCount, notFound)
	}
}

// TestCreateCost: a message is one id allocation and one transaction of
// two small items; ids are unique across accounts.
func TestCreateCost(t *testing.T) {
	r := newRig(t)
	r.meter.Take()
	a := r.create(t, 1, 100, "stable", "x")
	u := r.meter.Take()
	b := r.create(t, 2, 100, "stable", "y")
	if u.Calls["UpdateItem"] != 1 || u.Calls["TransactWriteItems"] != 1 || u.TotalCalls() != 2 {
		t.Errorf("create: %v; want one UpdateItem (the id) and one transaction (message and pointer)", u.Calls)
	}
	t.Logf("create: %v, %.1f WCU reported, %.1f billed", u.Calls, u.WCU, u.BilledWCU)
	if a == b || a == 0 || b == 0 {
		t.Errorf("ids %d and %d, want distinct", a, b)
	}
}
