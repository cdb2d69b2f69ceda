package messages_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/keyturn/keyturn/shared/apierr"
	"github.com/keyturn/keyturn/shared/messages"
)

// fakeStore is a hand-written Store whose methods record their input.
type fakeStore struct {
	created *messages.Message
	list    func(accountID int64, channel *string, after int64, limit int) ([]messages.Message, error)
	remove  func(accountID, id int64) error
}

func (f *fakeStore) NextMessageID(context.Context) (int64, error) { return 7, nil }

func (f *fakeStore) CreateMessage(_ context.Context, m messages.Message) error {
	f.created = &m
	return nil
}

func (f *fakeStore) ListMessages(_ context.Context, accountID int64, channel *string, after int64, limit int) ([]messages.Message, error) {
	return f.list(accountID, channel, after, limit)
}

func (f *fakeStore) RemoveMessage(_ context.Context, accountID, id int64) error {
	return f.remove(accountID, id)
}

var now = time.Date(2026, 5, 1, 12, 0, 0, 500, time.UTC)

func ptr[T any](v T) *T { return &v }

func TestCreate(t *testing.T) {
	tests := []struct {
		name        string
		in          messages.New
		wantErr     error
		wantCreated int64
	}{
		{"nothing given: now", messages.New{}, nil, now.Unix()},
		{"time given", messages.New{Time: ptr(int64(1537815312))}, nil, 1537815312},
		{"time 0 (a client's unset value): now", messages.New{Time: ptr(int64(0))}, nil, now.Unix()},
		{"latest time", messages.New{Time: ptr(int64(messages.MaxTime))}, nil, messages.MaxTime},
		{"negative time", messages.New{Time: ptr(int64(-1))}, apierr.MessageTimeFormat, 0},
		{"time beyond year 9999", messages.New{Time: ptr(int64(messages.MaxTime + 1))}, apierr.MessageTimeFormat, 0},
		{"content at the limit (characters)", messages.New{Content: ptr(strings.Repeat("é", messages.MaxContent))}, nil, now.Unix()},
		{"content over the limit", messages.New{Content: ptr(strings.Repeat("x", messages.MaxContent+1))}, apierr.BadInput, 0},
		{"content not UTF-8", messages.New{Content: ptr("\xff")}, apierr.BadInput, 0},
		{"channel at the limit", messages.New{Channel: ptr(strings.Repeat("c", messages.MaxChannel))}, nil, now.Unix()},
		{"channel over the limit", messages.New{Channel: ptr(strings.Repeat("c", messages.MaxChannel+1))}, apierr.BadInput, 0},
		{"channel not UTF-8", messages.New{Channel: ptr("a\xc3")}, apierr.BadInput, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := &fakeStore{}
			m, err := messages.NewService(st, func() time.Time { return now }).Create(context.Background(), 3, tt.in)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr != nil {
				if st.created != nil {
					t.Errorf("stored %+v after an error", *st.created)
				}
				return
			}
			if st.created == nil || *st.created != m {
				t.Fatalf("stored %v, returned %+v", st.created, m)
			}
			if m.ID != 7 || m.AccountID != 3 || m.Created.Unix() != tt.wantCreated || m.Content != tt.in.Content || m.Channel != tt.in.Channel {
				t.Errorf("created %+v, want id 7, account 3, created %d and the given content and channel", m, tt.wantCreated)
			}
		})
	}
}

func TestList(t *testing.T) {
	tests := []struct {
		name      string
		filter    messages.Filter
		wantErr   error
		wantAfter int64
	}{
		{"no filter", messages.Filter{}, nil, -1},
		{"after 0", messages.Filter{After: ptr(int64(0))}, nil, 0},
		{"after a time", messages.Filter{After: ptr(int64(1537815312)), Channel: ptr("stable")}, nil, 1537815312},
		{"negative time", messages.Filter{After: ptr(int64(-5))}, apierr.MessageTimeFormat, 0},
		{"time beyond year 9999", messages.Filter{After: ptr(int64(messages.MaxTime + 1))}, apierr.MessageTimeFormat, 0},
		{"channel over the limit", messages.Filter{Channel: ptr(strings.Repeat("c", messages.MaxChannel+1))}, apierr.BadInput, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			called := false
			st := &fakeStore{list: func(accountID int64, channel *string, after int64, limit int) ([]messages.Message, error) {
				called = true
				if accountID != 3 || channel != tt.filter.Channel || after != tt.wantAfter || limit != messages.PageSize {
					t.Errorf("store asked for account %d, channel %v, after %d, limit %d; want 3, %v, %d, %d",
						accountID, channel, after, limit, tt.filter.Channel, tt.wantAfter, messages.PageSize)
				}
				return nil, nil
			}}
			_, err := messages.NewService(st, func() time.Time { return now }).List(context.Background(), 3, tt.filter)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if called != (tt.wantErr == nil) {
				t.Errorf("store called: %v, want %v", called, tt.wantErr == nil)
			}
		})
	}
}

func TestRemove(t *testing.T) {
	fault := errors.New("store fault")
	tests := []struct {
		name     string
		id       int64
		storeErr error
		wantErr  error
	}{
		{"removed", 5, nil, nil},
		{"no such message", 5, apierr.NotFound, apierr.BadInput},
		{"zero id", 0, nil, apierr.BadInput},
		{"negative id", -1, nil, apierr.BadInput},
		{"store fault stays a fault", 5, fault, fault},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := &fakeStore{remove: func(accountID, id int64) error {
				if accountID != 3 || id != tt.id {
					t.Errorf("store asked to remove %d of account %d", id, accountID)
				}
				return tt.storeErr
			}}
			err := messages.NewService(st, time.Now).Remove(context.Background(), 3, tt.id)
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
		})
	}
}
