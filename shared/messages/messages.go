// Package messages is the message domain (Web API 3 /api/message/*): short
// texts a vendor broadcasts to the users of its apps, optionally in a
// channel ("stable", "beta" ...), which apps fetch with GetMessages,
// filtered by channel and by creation time (for example, everything
// created since they last asked). It checks input against the reference's
// limits and imports nothing from AWS; package dynamo/messagestore
// implements Store.
//
// Authorization is the handler's job: creating and removing need the
// "Edit Messages" permission (EditMessages), reading needs GetMessages.
package messages

import (
	"context"
	"errors"
	"time"
	"unicode/utf8"

	"github.com/keyturn/keyturn/shared/apierr"
)

// Limits. MaxContent and MaxChannel are the reference's (Message model);
// MaxTime and PageSize are Keyturn's.
const (
	// MaxContent is the longest Content in characters.
	MaxContent = 500
	// MaxChannel is the longest Channel in characters.
	MaxChannel = 200
	// MaxTime is the latest creation time a message may have (and the
	// largest Time filter): 9999-12-31T23:59:59Z, the last second .NET
	// clients can represent.
	MaxTime = 253402300799
	// PageSize is the most messages GetMessages returns: the newest that
	// match. Apps that ask with the time they last asked get everything
	// new as long as fewer than PageSize messages arrived in between.
	PageSize = 100
)

// Message is a stored message.
type Message struct {
	AccountID int64
	ID        int64
	// Content and Channel are nil when the message was created without
	// them.
	Content *string
	Channel *string
	// Created is the creation time (whole seconds): the Time given to
	// CreateMessage, or the moment it was called.
	Created time.Time
}

// New is the input of Create. Nil fields were not given.
type New struct {
	Content *string
	Channel *string
	// Time is the creation time in unix seconds; nil or 0 means now.
	Time *int64
}

// Filter selects messages for List. Nil fields were not given.
type Filter struct {
	// Channel restricts the listing to one channel; nil lists every
	// channel (and the messages without one).
	Channel *string
	// After keeps only messages created strictly after this unix time.
	After *int64
}

// Store persists messages. Errors: apierr.NotFound for a missing message;
// anything else is a store fault.
type Store interface {
	// NextMessageID reserves a new message id (unique across accounts).
	NextMessageID(ctx context.Context) (int64, error)
	// CreateMessage stores a new message.
	CreateMessage(ctx context.Context, m Message) error
	// ListMessages returns up to limit messages of the account created
	// strictly after the unix time after, of one channel when channel is
	// not nil, newest first. Its cost is one page, whatever the number of
	// messages the account holds.
	ListMessages(ctx context.Context, accountID int64, channel *string, after int64, limit int) ([]Message, error)
	// RemoveMessage deletes a message of the account, or returns
	// apierr.NotFound when the account has no message with that id.
	RemoveMessage(ctx context.Context, accountID, id int64) error
}

// Service implements the message methods.
type Service struct {
	store Store
	now   func() time.Time
}

// NewService returns a Service on store with the clock now.
func NewService(store Store, now func() time.Time) *Service {
	return &Service{store: store, now: now}
}

// Create stores a new message and returns it with its id. Errors:
// apierr.BadInput for a Content or Channel over its limit or not UTF-8,
// apierr.MessageTimeFormat for a Time before 1970 or after MaxTime.
func (s *Service) Create(ctx context.Context, accountID int64, n New) (Message, error) {
	if err := checkText(n.Content, MaxContent); err != nil {
		return Message{}, err
	}
	if err := checkText(n.Channel, MaxChannel); err != nil {
		return Message{}, err
	}
	created := s.now().UTC().Truncate(time.Second)
	if n.Time != nil {
		if err := checkTime(*n.Time); err != nil {
			return Message{}, err
		}
		// A client that sends 0 for "not set" (a .NET default) means now,
		// not 1970: a message dated 1970 would never reach an app that
		// asks for what is new.
		if *n.Time != 0 {
			created = time.Unix(*n.Time, 0).UTC()
		}
	}
	id, err := s.store.NextMessageID(ctx)
	if err != nil {
		return Message{}, err
	}
	m := Message{AccountID: accountID, ID: id, Content: n.Content, Channel: n.Channel, Created: created}
	if err := s.store.CreateMessage(ctx, m); err != nil {
		return Message{}, err
	}
	return m, nil
}

// List returns the newest PageSize messages of the account that match f,
// newest first. Errors: apierr.BadInput for a Channel over its limit or
// not UTF-8 (no message can be in it), apierr.MessageTimeFormat for an
// After before 1970 or after MaxTime.
func (s *Service) List(ctx context.Context, accountID int64, f Filter) ([]Message, error) {
	if err := checkText(f.Channel, MaxChannel); err != nil {
		return nil, err
	}
	after := int64(-1)
	if f.After != nil {
		if err := checkTime(*f.After); err != nil {
			return nil, err
		}
		after = *f.After
	}
	return s.store.ListMessages(ctx, accountID, f.Channel, after, PageSize)
}

// Remove deletes a message of the account. Errors: apierr.BadInput for an
// id that is not positive or that names no message of the account (the
// reference documents no other message).
func (s *Service) Remove(ctx context.Context, accountID, id int64) error {
	if id <= 0 {
		return apierr.BadInput
	}
	err := s.store.RemoveMessage(ctx, accountID, id)
	if errors.Is(err, apierr.NotFound) {
		return apierr.BadInput
	}
	return err
}

// checkText checks an optional text against its limit in characters.
func checkText(s *string, max int) error {
	if s != nil && (!utf8.ValidString(*s) || utf8.RuneCountInString(*s) > max) {
		return apierr.BadInput
	}
	return nil
}

// checkTime checks a unix time given by the client.
func checkTime(t int64) error {
	if t < 0 || t > MaxTime {
		return apierr.MessageTimeFormat
	}
	return nil
}
