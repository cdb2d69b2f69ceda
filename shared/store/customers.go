package store

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/keyturn/keyturn/shared/apierr"
	"github.com/keyturn/keyturn/shared/customers"
	"github.com/keyturn/keyturn/shared/keys"
	"github.com/keyturn/keyturn/shared/schema"
)

// Customers and resellers:
//
//	A#<account>          / C#<id:012>        customer
//	CS#<account>#<secret> / CS               secret -> customer id (unique secrets)
//	CE#<account>#<email>  / CE               lower-cased email -> first customer with it
//	A#<account>          / R#<id:012>        reseller
//	CD#<account>#<customer> / m<machine code> a machine counted against MaxNoOfDevices (see devices.go)
//
// Licenses point at them with customerId / resellerId and the sparse
// indexes gsi3 / gsi4 (see keys.go).

func customerSK(id int64) string { return "C#" + pad(id, 12) }
func resellerSK(id int64) string { return "R#" + pad(id, 12) }
func secretPK(accountID int64, secret string) string {
	return "CS#" + strconv.FormatInt(accountID, 10) + "#" + secret
}
func emailPK(accountID int64, email string) string {
	return "CE#" + strconv.FormatInt(accountID, 10) + "#" + strings.ToLower(strings.TrimSpace(email))
}
func customerKeysPK(accountID, customerID int64) string {
	return "C#" + strconv.FormatInt(accountID, 10) + "#" + strconv.FormatInt(customerID, 10)
}
func resellerKeysPK(accountID, resellerID int64) string {
	return "R#" + strconv.FormatInt(accountID, 10) + "#" + strconv.FormatInt(resellerID, 10)
}

type customerItem struct {
	PK                           string  `dynamodbav:"pk"`
	SK                           string  `dynamodbav:"sk"`
	AccountID                    int64   `dynamodbav:"accountId"`
	ID                           int64   `dynamodbav:"id"`
	Name                         string  `dynamodbav:"name"`
	Email                        *string `dynamodbav:"email"`
	CompanyName                  *string `dynamodbav:"companyName"`
	Notes                        *string `dynamodbav:"notes"`
	CreatedMs                    int64   `dynamodbav:"createdMs"`
	EnableCustomerAssociation    bool    `dynamodbav:"enableCustomerAssociation"`
	AllowActivationManagement    bool    `dynamodbav:"allowActivationManagement"`
	AllowMultipleUserAssociation bool    `dynamodbav:"allowMultipleUserAssociation"`
	MaxNoOfDevices               int64   `dynamodbav:"maxNoOfDevices"`
	Secret                       string  `dynamodbav:"secret"`
	DeviceCount                  int64   `dynamodbav:"deviceCount"`
	// Version increments on every replace (optimistic concurrency).
	Version int64 `dynamodbav:"version"`
}

func newCustomerItem(c customers.Customer, version int64) customerItem {
	return customerItem{
		PK: accountPK(c.AccountID), SK: customerSK(c.ID), AccountID: c.AccountID, ID: c.ID,
		Name: c.Name, Email: c.Email, CompanyName: c.CompanyName, Notes: c.Notes, CreatedMs: c.Created.UnixMilli(),
		EnableCustomerAssociation: c.EnableCustomerAssociation, AllowActivationManagement: c.AllowActivationManagement,
		AllowMultipleUserAssociation: c.AllowMultipleUserAssociation, MaxNoOfDevices: c.MaxNoOfDevices,
		Secret: c.Secret, DeviceCount: c.DeviceCount, Version: version,
	}
}

func (it customerItem) customer() customers.Customer {
	return customers.Customer{
		AccountID: it.AccountID, ID: it.ID, Name: it.Name, Email: it.Email, CompanyName: it.CompanyName, Notes: it.Notes,
		Created: time.UnixMilli(it.CreatedMs).UTC(), EnableCustomerAssociation: it.EnableCustomerAssociation,
		AllowActivationManagement: it.AllowActivationManagement, AllowMultipleUserAssociation: it.AllowMultipleUserAssociation,
		MaxNoOfDevices: it.MaxNoOfDevices, Secret: it.Secret, DeviceCount: it.DeviceCount, Version: it.Version,
	}
}

type pointerItem struct {
	PK string `dynamodbav:"pk"`
	SK string `dynamodbav:"sk"`
	ID int64  `dynamodbav:"id"`
}

func (s *Store) putOp(item any, cond string) (types.TransactWriteItem, error) {
	av, err := attributevalue.MarshalMap(item)
	if err != nil {
		return types.TransactWriteItem{}, fmt.Errorf("marshal %T: %w", item, err)
	}
	p := &types.Put{TableName: s.table, Item: av}
	if cond != "" {
		p.ConditionExpression = aws.String(cond)
	}
	return types.TransactWriteItem{Put: p}, nil
}

func (s *Store) deleteOp(pk, sk, cond string, values map[string]types.AttributeValue) types.TransactWriteItem {
	d := &types.Delete{TableName: s.table, Key: key(pk, sk)}
	if cond != "" {
		d.ConditionExpression = aws.String(cond)
		d.ExpressionAttributeValues = values
	}
	return types.TransactWriteItem{Delete: d}
}

// runTransaction runs a transaction; a failed condition is apierr.Conflict and
// the index of the first failing item is returned (-1 otherwise).
func (s *Store) runTransaction(ctx context.Context, ops []types.TransactWriteItem) (int, error) {
	_, err := s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: ops})
	var tc *types.TransactionCanceledException
	if errors.As(err, &tc) {
		for i, r := range tc.CancellationReasons {
			if aws.ToString(r.Code) == "ConditionalCheckFailed" {
				return i, apierr.Conflict
			}
		}
		return -1, fmt.Errorf("transaction: %w", err)
	}
	if err != nil {
		return -1, fmt.Errorf("transaction: %w", err)
	}
	return -1, nil
}

// writeOne runs one transaction item as a plain write (half the cost of a
// transaction); a failed condition is apierr.Conflict.
func (s *Store) writeOne(ctx context.Context, op types.TransactWriteItem) error {
	var err error
	switch {
	case op.Put != nil:
		p := op.Put
		_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: p.TableName, Item: p.Item,
			ConditionExpression: p.ConditionExpression, ExpressionAttributeNames: p.ExpressionAttributeNames,
			ExpressionAttributeValues: p.ExpressionAttributeValues})
	case op.Update != nil:
		u := op.Update
		_, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: u.TableName, Key: u.Key,
			UpdateExpression: u.UpdateExpression, ConditionExpression: u.ConditionExpression,
			ExpressionAttributeNames: u.ExpressionAttributeNames, ExpressionAttributeValues: u.ExpressionAttributeValues})
	case op.Delete != nil:
		d := op.Delete
		_, err = s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: d.TableName, Key: d.Key,
			ConditionExpression: d.ConditionExpression, ExpressionAttributeNames: d.ExpressionAttributeNames,
			ExpressionAttributeValues: d.ExpressionAttributeValues})
	default:
		return errors.New("writeOne: no write in the item")
	}
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return apierr.Conflict
	}
	if err != nil {
		return fmt.Errorf("write: %w", err)
	}
	return nil
}

// CreateCustomer implements customers.Store: one transaction writing the
// customer and claiming its secret; the email pointer is claimed after it
// if no customer has that email yet.
func (s *Store) CreateCustomer(ctx context.Context, c customers.Customer) error {
	cust, err := s.putOp(newCustomerItem(c, 1), "attribute_not_exists(pk)")
	if err != nil {
		return err
	}
	sec, err := s.putOp(pointerItem{PK: secretPK(c.AccountID, c.Secret), SK: "CS", ID: c.ID}, "attribute_not_exists(pk)")
	if err != nil {
		return err
	}
	if idx, err := s.runTransaction(ctx, []types.TransactWriteItem{cust, sec}); err != nil {
		if errors.Is(err, apierr.Conflict) && idx == 1 {
			return customers.ErrSecretInUse
		}
		return err
	}
	if c.Email != nil && *c.Email != "" {
		if err := s.put(ctx, pointerItem{PK: emailPK(c.AccountID, *c.Email), SK: "CE", ID: c.ID}, true); err != nil && !errors.Is(err, apierr.Conflict) {
			return err
		}
	}
	return nil
}

// GetCustomer implements customers.Store (one GetItem).
func (s *Store) GetCustomer(ctx context.Context, accountID, id int64) (customers.Customer, error) {
	var it customerItem
	if err := s.get(ctx, accountPK(accountID), customerSK(id), true, &it); err != nil {
		return customers.Customer{}, err
	}
	return it.customer(), nil
}

// CustomerExists reports apierr.NotFound when the customer is missing.
func (s *Store) CustomerExists(ctx context.Context, accountID, id int64) error {
	_, err := s.GetCustomer(ctx, accountID, id)
	return err
}

// CustomerBySecret implements customers.Store (two GetItems).
func (s *Store) CustomerBySecret(ctx context.Context, accountID int64, secret string) (customers.Customer, error) {
	var p pointerItem
	if err := s.get(ctx, secretPK(accountID, secret), "CS", true, &p); err != nil {
		return customers.Customer{}, err
	}
	return s.GetCustomer(ctx, accountID, p.ID)
}

// CustomerByEmail implements customers.Store (two GetItems). A pointer
// left behind by a concurrent email edit is ignored (the customer's
// current email must still match).
func (s *Store) CustomerByEmail(ctx context.Context, accountID int64, email string) (customers.Customer, error) {
	var p pointerItem
	if err := s.get(ctx, emailPK(accountID, email), "CE", true, &p); err != nil {
		return customers.Customer{}, err
	}
	c, err := s.GetCustomer(ctx, accountID, p.ID)
	if err == nil && (c.Email == nil || !strings.EqualFold(strings.TrimSpace(*c.Email), strings.TrimSpace(email))) {
		return customers.Customer{}, apierr.NotFound
	}
	return c, err
}

// ReplaceCustomer implements customers.Store: one UpdateItem conditioned
// on the version read (a transaction with the secret pointers when the
// secret changes). deviceCount is left alone: activations change it
// concurrently.
func (s *Store) ReplaceCustomer(ctx context.Context, prev, c customers.Customer) error {
	values := map[string]types.AttributeValue{":v": num(prev.Version), ":next": num(prev.Version + 1)}
	names := map[string]string{"#ver": "version"}
	var sets []string
	set := func(attr string, v any) error {
		av, err := attributevalue.Marshal(v)
		if err != nil {
			return err
		}
		n, p := fmt.Sprintf("#f%d", len(sets)), fmt.Sprintf(":f%d", len(sets))
		names[n], values[p] = attr, av
		sets = append(sets, n+" = "+p)
		return nil
	}
	for _, f := range []struct {
		attr string
		v    any
	}{
		{"name", c.Name}, {"email", c.Email}, {"companyName", c.CompanyName}, {"notes", c.Notes},
		{"enableCustomerAssociation", c.EnableCustomerAssociation}, {"allowActivationManagement", c.AllowActivationManagement},
		{"allowMultipleUserAssociation", c.AllowMultipleUserAssociation}, {"maxNoOfDevices", c.MaxNoOfDevices}, {"secret", c.Secret},
	} {
		if err := set(f.attr, f.v); err != nil {
			return err
		}
	}
	update := &types.Update{
		TableName: s.table, Key: key(accountPK(c.AccountID), customerSK(c.ID)),
		UpdateExpression:          aws.String("SET #ver = :next, " + strings.Join(sets, ", ")),
		ConditionExpression:       aws.String("attribute_exists(pk) AND #ver = :v"),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
	}
	if c.Secret == prev.Secret {
		_, err := s.updateExisting(ctx, &dynamodb.UpdateItemInput{
			TableName: update.TableName, Key: update.Key, UpdateExpression: update.UpdateExpression,
			ConditionExpression: update.ConditionExpression, ExpressionAttributeNames: names, ExpressionAttributeValues: values,
		}, "customer")
		if err != nil {
			return err
		}
	} else {
		sec, err := s.putOp(pointerItem{PK: secretPK(c.AccountID, c.Secret), SK: "CS", ID: c.ID}, "attribute_not_exists(pk)")
		if err != nil {
			return err
		}
		idx, err := s.runTransaction(ctx, []types.TransactWriteItem{{Update: update}, sec, s.deleteOp(secretPK(prev.AccountID, prev.Secret), "CS", "", nil)})
		switch {
		case errors.Is(err, apierr.Conflict) && idx == 1:
			return customers.ErrSecretInUse
		case errors.Is(err, apierr.Conflict):
			if _, gerr := s.GetCustomer(ctx, c.AccountID, c.ID); errors.Is(gerr, apierr.NotFound) {
				return apierr.NotFound
			}
			return apierr.Conflict
		case err != nil:
			return err
		}
	}
	if email := c.Email; email != nil && *email != "" && (prev.Email == nil || !strings.EqualFold(*prev.Email, *email)) {
		if err := s.put(ctx, pointerItem{PK: emailPK(c.AccountID, *email), SK: "CE", ID: c.ID}, true); err != nil && !errors.Is(err, apierr.Conflict) {
			return err
		}
	}
	if prev.Email != nil && *prev.Email != "" && (c.Email == nil || !strings.EqualFold(*prev.Email, *c.Email)) {
		s.dropEmailPointer(ctx, prev)
	}
	return nil
}

// dropEmailPointer deletes the email pointer if it points at c.
func (s *Store) dropEmailPointer(ctx context.Context, c customers.Customer) {
	if c.Email == nil || *c.Email == "" {
		return
	}
	_, _ = s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: s.table, Key: key(emailPK(c.AccountID, *c.Email), "CE"),
		ConditionExpression:       aws.String("id = :id"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":id": num(c.ID)},
	})
}

// DeleteCustomer implements customers.Store: the customer and its secret
// go in one transaction; then every license of the customer is
// dissociated (customerId 0) and its device records are removed. A crash
// in between leaves licenses pointing at a missing customer, which render
// as "no customer" and are dissociated by the next ChangeCustomer.
func (s *Store) DeleteCustomer(ctx context.Context, c customers.Customer) error {
	ops := []types.TransactWriteItem{
		s.deleteOp(accountPK(c.AccountID), customerSK(c.ID), "attribute_exists(pk)", nil),
		s.deleteOp(secretPK(c.AccountID, c.Secret), "CS", "", nil),
	}
	if _, err := s.runTransaction(ctx, ops); err != nil {
		if errors.Is(err, apierr.Conflict) {
			return apierr.NotFound
		}
		return err
	}
	s.dropEmailPointer(ctx, c)
	refs, err := s.queryAll(ctx, indexQuery(schema.GSI3, "gsi3pk", customerKeysPK(c.AccountID, c.ID)))
	if err != nil {
		return err
	}
	zero := int64(0)
	for _, r := range refs {
		productID, k, ok := parseKeyPK(r)
		if !ok {
			continue
		}
		if _, err := s.Update(ctx, c.AccountID, productID, k, keys.Change{CustomerID: &zero}); err != nil && !errors.Is(err, apierr.NotFound) {
			return err
		}
	}
	devs, err := s.queryAll(ctx, &dynamodb.QueryInput{
		KeyConditionExpression:    aws.String("pk = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: devicePK(c.AccountID, c.ID)}},
	})
	if err != nil {
		return err
	}
	for _, d := range devs {
		if _, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: s.table, Key: map[string]types.AttributeValue{schema.PK: d[schema.PK], schema.SK: d[schema.SK]}}); err != nil {
			return fmt.Errorf("delete device record: %w", err)
		}
	}
	return nil
}

// indexQuery queries index name for partition value pk.
func indexQuery(index, pkAttr, pk string) *dynamodb.QueryInput {
	return &dynamodb.QueryInput{
		IndexName:                 aws.String(index),
		KeyConditionExpression:    aws.String("#p = :p"),
		ExpressionAttributeNames:  map[string]string{"#p": pkAttr},
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": &types.AttributeValueMemberS{Value: pk}},
	}
}

// parseKeyPK splits a key item's pk K#<product>#<key>.
func parseKeyPK(m map[string]types.AttributeValue) (int64, string, bool) {
	pk, _ := m[schema.PK].(*types.AttributeValueMemberS)
	if pk == nil || !strings.HasPrefix(pk.Value, "K#") {
		return 0, "", false
	}
	pid, k, ok := strings.Cut(strings.TrimPrefix(pk.Value, "K#"), "#")
	if !ok {
		return 0, "", false
	}
	id, err := strconv.ParseInt(pid, 10, 64)
	return id, k, err == nil
}

// ListCustomers implements customers.Store: one Query, id order.
func (s *Store) ListCustomers(ctx context.Context, accountID int64) ([]customers.Customer, error) {
	items, err := s.queryAll(ctx, prefixQuery(accountPK(accountID), "C#"))
	if err != nil {
		return nil, err
	}
	return decodeAll(items, "customer", customerItem.customer)
}

// CustomersByID reads customers by id with BatchGetItem, in the given
// order; missing ones are skipped.
func (s *Store) CustomersByID(ctx context.Context, accountID int64, ids []int64) ([]customers.Customer, error) {
	ks := make([]map[string]types.AttributeValue, len(ids))
	for i, id := range ids {
		ks[i] = key(accountPK(accountID), customerSK(id))
	}
	items, err := s.batchGet(ctx, ks)
	if err != nil {
		return nil, err
	}
	return decodeAll(items, "customer", customerItem.customer)
}

// CustomerKeys returns the customer's licenses in key order: one index
// Query plus BatchGetItem.
func (s *Store) CustomerKeys(ctx context.Context, accountID, customerID int64) ([]keys.Record, error) {
	items, err := s.indexItems(ctx, indexQuery(schema.GSI3, "gsi3pk", customerKeysPK(accountID, customerID)))
	if err != nil {
		return nil, err
	}
	out := make([]keys.Record, 0, len(items))
	for _, m := range items {
		r, err := decodeKey(m)
		if err != nil {
			return nil, err
		}
		// The index is eventually consistent: skip a key that was moved
		// to another customer a moment ago.
		if r.CustomerID == customerID && r.AccountID == accountID {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].GlobalID < out[j].GlobalID })
	return out, nil
}

type resellerItem struct {
	PK             string            `dynamodbav:"pk"`
	SK             string            `dynamodbav:"sk"`
	AccountID      int64             `dynamodbav:"accountId"`
	ID             int64             `dynamodbav:"id"`
	InviteID       int64             `dynamodbav:"inviteId"`
	ResellerUserID int64             `dynamodbav:"resellerUserId"`
	CreatedMs      int64             `dynamodbav:"createdMs"`
	Name           *string           `dynamodbav:"name"`
	URL            *string           `dynamodbav:"url"`
	Email          *string           `dynamodbav:"email"`
	Phone          *string           `dynamodbav:"phone"`
	Description    *string           `dynamodbav:"description"`
	Metadata       map[string]string `dynamodbav:"metadata"`
}

func newResellerItem(r customers.Reseller) resellerItem {
	return resellerItem{
		PK: accountPK(r.AccountID), SK: resellerSK(r.ID), AccountID: r.AccountID, ID: r.ID, InviteID: r.InviteID,
		ResellerUserID: r.ResellerUserID, CreatedMs: r.Created.UnixMilli(), Name: r.Name, URL: r.URL, Email: r.Email,
		Phone: r.Phone, Description: r.Description, Metadata: r.Metadata,
	}
}

func (it resellerItem) reseller() customers.Reseller {
	md := it.Metadata
	if md == nil {
		md = map[string]string{}
	}
	return customers.Reseller{
		AccountID: it.AccountID, ID: it.ID, InviteID: it.InviteID, ResellerUserID: it.ResellerUserID,
		Created: time.UnixMilli(it.CreatedMs).UTC(), Name: it.Name, URL: it.URL, Email: it.Email, Phone: it.Phone,
		Description: it.Description, Metadata: md,
	}
}

// CreateReseller implements customers.Store (conditional PutItem).
func (s *Store) CreateReseller(ctx context.Context, r customers.Reseller) error {
	return s.put(ctx, newResellerItem(r), true)
}

// GetReseller implements customers.Store (one GetItem).
func (s *Store) GetReseller(ctx context.Context, accountID, id int64) (customers.Reseller, error) {
	var it resellerItem
	if err := s.get(ctx, accountPK(accountID), resellerSK(id), true, &it); err != nil {
		return customers.Reseller{}, err
	}
	return it.reseller(), nil
}

// PutReseller implements customers.Store: overwrites an existing reseller
// (NotFound if it was removed meanwhile).
func (s *Store) PutReseller(ctx context.Context, r customers.Reseller) error {
	av, err := attributevalue.MarshalMap(newResellerItem(r))
	if err != nil {
		return err
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: s.table, Item: av, ConditionExpression: aws.String("attribute_exists(pk)")})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return apierr.NotFound
	}
	if err != nil {
		return fmt.Errorf("put reseller: %w", err)
	}
	return nil
}

// DeleteReseller implements customers.Store: deletes the reseller, then
// dissociates its licenses (see DeleteCustomer for the crash window).
func (s *Store) DeleteReseller(ctx context.Context, r customers.Reseller) error {
	_, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: s.table, Key: key(accountPK(r.AccountID), resellerSK(r.ID)),
		ConditionExpression: aws.String("attribute_exists(pk)"),
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return apierr.NotFound
	}
	if err != nil {
		return fmt.Errorf("delete reseller: %w", err)
	}
	refs, err := s.queryAll(ctx, indexQuery(schema.GSI4, "gsi4pk", resellerKeysPK(r.AccountID, r.ID)))
	if err != nil {
		return err
	}
	zero := int64(0)
	for _, ref := range refs {
		productID, k, ok := parseKeyPK(ref)
		if !ok {
			continue
		}
		if _, err := s.Update(ctx, r.AccountID, productID, k, keys.Change{ResellerID: &zero}); err != nil && !errors.Is(err, apierr.NotFound) {
			return err
		}
	}
	return nil
}

// ListResellers implements customers.Store: one Query, id order.
func (s *Store) ListResellers(ctx context.Context, accountID int64) ([]customers.Reseller, error) {
	items, err := s.queryAll(ctx, prefixQuery(accountPK(accountID), "R#"))
	if err != nil {
		return nil, err
	}
	return decodeAll(items, "reseller", resellerItem.reseller)
}

// ResellerCustomerIDs implements customers.Store: the distinct customers
// of the reseller's licenses (index Query + BatchGetItem of the keys).
func (s *Store) ResellerCustomerIDs(ctx context.Context, accountID, resellerID int64) ([]int64, error) {
	items, err := s.indexItems(ctx, indexQuery(schema.GSI4, "gsi4pk", resellerKeysPK(accountID, resellerID)))
	if err != nil {
		return nil, err
	}
	seen := map[int64]bool{}
	var ids []int64
	for _, m := range items {
		r, err := decodeKey(m)
		if err != nil {
			return nil, err
		}
		if r.ResellerID == resellerID && r.AccountID == accountID && r.CustomerID != 0 && !seen[r.CustomerID] {
			seen[r.CustomerID] = true
			ids = append(ids, r.CustomerID)
		}
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids, nil
}
