// Package messagestore is the DynamoDB adapter of messages
// (messages.Store). Item layout: package dynamo's data model, "MSG#".
//
// A message is an item in its account's partition MSG#<account> whose sort
// key is its creation time then its id (dynamo.MessageSK), so the
// account's messages read in time order and "created after T" is a key
// condition; a message with a channel is also in the gsi2 partition of
// its channel (same sort key), which projects whole items, so a channel's
// page is read from the index alone. A pointer item per id
// (dynamo.MessagePointer) holds the message's sort key for RemoveMessage.
// Creating is one transaction (message and pointer), removing is a read of
// the pointer and one transaction (both deletes, conditioned on the
// message still being there). GetMessages is one Query of one page.
package messagestore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/keyturn/keyturn/shared/apierr"
	"github.com/keyturn/keyturn/shared/dynamo"
	"github.com/keyturn/keyturn/shared/messages"
	"github.com/keyturn/keyturn/shared/schema"
)

// Store implements messages.Store.
type Store struct {
	t *dynamo.Table
}

// New returns the message store on table t.
func New(t *dynamo.Table) *Store { return &Store{t: t} }

// messageCounter is the global counter of message ids.
const messageCounter = "message"

type messageItem struct {
	PK        string  `dynamodbav:"pk"`
	SK        string  `dynamodbav:"sk"`
	GSI2PK    string  `dynamodbav:"gsi2pk,omitempty"`
	GSI2SK    string  `dynamodbav:"gsi2sk,omitempty"`
	AccountID int64   `dynamodbav:"accountId"`
	ID        int64   `dynamodbav:"id"`
	Content   *string `dynamodbav:"content,omitempty"`
	Channel   *string `dynamodbav:"channel,omitempty"`
	Created   int64   `dynamodbav:"created"`
}

type pointerItem struct {
	PK        string `dynamodbav:"pk"`
	SK        string `dynamodbav:"sk"`
	AccountID int64  `dynamodbav:"accountId"`
	ID        int64  `dynamodbav:"id"`
	// Target is the message's sort key.
	Target string `dynamodbav:"target"`
}

func (it messageItem) message() messages.Message {
	return messages.Message{AccountID: it.AccountID, ID: it.ID, Content: it.Content, Channel: it.Channel, Created: time.Unix(it.Created, 0).UTC()}
}

// NextMessageID implements messages.Store (one UpdateItem).
func (s *Store) NextMessageID(ctx context.Context) (int64, error) {
	return s.t.NextIDs(ctx, dynamo.Counter(messageCounter), 1)
}

// CreateMessage implements messages.Store: the message and its pointer in
// one transaction (both must be new).
func (s *Store) CreateMessage(ctx context.Context, m messages.Message) error {
	k := dynamo.Message(m.AccountID, m.Created.Unix(), m.ID)
	it := messageItem{PK: k.PK, SK: k.SK, AccountID: m.AccountID, ID: m.ID, Content: m.Content, Channel: m.Channel, Created: m.Created.Unix()}
	if m.Channel != nil {
		it.GSI2PK, it.GSI2SK = dynamo.MessageChannelGSI2PK(m.AccountID, *m.Channel), k.SK
	}
	pk := dynamo.MessagePointer(m.AccountID, m.ID)
	msgOp, err := s.t.PutOp(it, dynamo.NotExists)
	if err != nil {
		return err
	}
	ptrOp, err := s.t.PutOp(pointerItem{PK: pk.PK, SK: pk.SK, AccountID: m.AccountID, ID: m.ID, Target: k.SK}, dynamo.NotExists)
	if err != nil {
		return err
	}
	if err := s.t.Transact(ctx, []types.TransactWriteItem{msgOp, ptrOp}); err != nil {
		return fmt.Errorf("create message %d: %w", m.ID, err)
	}
	return nil
}

// ListMessages implements messages.Store: one Query, newest first, of the
// account's partition or of the channel's gsi2 partition, from the newest
// sort key down to the first second after after.
func (s *Store) ListMessages(ctx context.Context, accountID int64, channel *string, after int64, limit int) ([]messages.Message, error) {
	q := dynamo.Query{PK: dynamo.MessagesPK(accountID), Desc: true}
	if channel != nil {
		q.Index, q.PK = schema.GSI2, dynamo.MessageChannelGSI2PK(accountID, *channel)
	}
	if after >= 0 {
		// Sort keys are <created:012>#<id:012>: every message created in
		// a later second sorts at or above <after+1>.
		q.From = dynamo.Pad(after+1, dynamo.IDWidth)
	}
	page, err := s.t.QueryPage(ctx, q, int32(limit), nil)
	if err != nil {
		return nil, fmt.Errorf("list messages of account %d: %w", accountID, err)
	}
	return dynamo.DecodeAll(page.Items, "message", messageItem.message)
}

// RemoveMessage implements messages.Store: a strongly consistent read of
// the pointer, then one transaction deleting message and pointer while
// both still exist (a concurrent removal makes it apierr.NotFound).
func (s *Store) RemoveMessage(ctx context.Context, accountID, id int64) error {
	pk := dynamo.MessagePointer(accountID, id)
	var ptr pointerItem
	if err := s.t.Get(ctx, pk, true, &ptr); err != nil {
		if errors.Is(err, apierr.NotFound) {
			return apierr.NotFound
		}
		return fmt.Errorf("remove message %d: %w", id, err)
	}
	msg := dynamo.Key{PK: dynamo.MessagesPK(accountID), SK: ptr.Target}
	err := s.t.Transact(ctx, []types.TransactWriteItem{
		s.t.DeleteOp(msg, dynamo.Exists, nil, nil),
		s.t.DeleteOp(pk, dynamo.Exists, nil, nil),
	})
	if errors.Is(err, apierr.Conflict) {
		return apierr.NotFound
	}
	if err != nil {
		return fmt.Errorf("remove message %d: %w", id, err)
	}
	return nil
}
