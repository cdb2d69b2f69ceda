package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/keyturn/keyturn/shared/auth"
	"github.com/keyturn/keyturn/shared/dynamo"
)

// marker is the run of bytes oversized test values are made of; any
// DynamoDB request containing it carried a client value that should have
// been refused before storage.
const marker = "ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ"

// sniffer passes DynamoDB calls through and records those whose input
// contains marker.
type sniffer struct {
	dynamo.API
	mu  sync.Mutex
	hit []string
}

func (s *sniffer) check(op string, in any) {
	b, _ := json.Marshal(in)
	if bytes.Contains(b, []byte(marker)) {
		s.mu.Lock()
		s.hit = append(s.hit, op)
		s.mu.Unlock()
	}
}

func (s *sniffer) take() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.hit
	s.hit = nil
	return h
}

func (s *sniffer) GetItem(ctx context.Context, in *dynamodb.GetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	s.check("GetItem", in)
	return s.API.GetItem(ctx, in, o...)
}

func (s *sniffer) PutItem(ctx context.Context, in *dynamodb.PutItemInput, o ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	s.check("PutItem", in)
	return s.API.PutItem(ctx, in, o...)
}

func (s *sniffer) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, o ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	s.check("UpdateItem", in)
	return s.API.UpdateItem(ctx, in, o...)
}

func (s *sniffer) DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, o ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	s.check("DeleteItem", in)
	return s.API.DeleteItem(ctx, in, o...)
}

func (s *sniffer) Query(ctx context.Context, in *dynamodb.QueryInput, o ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	s.check("Query", in)
	return s.API.Query(ctx, in, o...)
}

func (s *sniffer) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, o ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	s.check("TransactWriteItems", in)
	return s.API.TransactWriteItems(ctx, in, o...)
}

func (s *sniffer) BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	s.check("BatchGetItem", in)
	return s.API.BatchGetItem(ctx, in, o...)
}

// syncBuffer is a log sink safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *syncBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *syncBuffer) lines() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return strings.Split(strings.TrimSpace(w.b.String()), "\n")
}

// maxLogLine bounds a log line: a request's line carries at most short
// prefixes of client values.
const maxLogLine = 2048

// TestOversizedValues sends values far beyond any legitimate size (2 kB,
// DynamoDB's key limit, and 100 kB) in every parameter that selects an
// item (token id and secret, Key, MachineCode, customer Secret, data
// object Name, Username, Email) to every method kind. Each answer is the
// method's documented envelope with HTTP 200, no DynamoDB request carries
// the value, and no log line is longer than maxLogLine.
func TestOversizedValues(t *testing.T) {
	sn := &sniffer{}
	logs := &syncBuffer{}
	e := newEnvWith(t, envOptions{
		wrap:   func(api dynamo.API) dynamo.API { sn.API = api; return sn },
		logger: slog.New(slog.NewJSONHandler(logs, nil)),
		env:    map[string]string{"KEYTURN_MAX_BODY_BYTES": "262144"},
	})
	f := e.setup("acme", "*")
	pid := strconv.FormatInt(f.product, 10)
	k := e.createKey(f)
	for _, size := range []int{2100, 100_000} {
		big := strings.Repeat("Z", size)
		msg := func(m string) string { return `{"result":1,"message":"` + m + `"}` }
		var (
			unauth   = msg("Unable to authenticate.")
			noKey    = msg("Could not find the key.")
			badInput = msg("The input parameters were incorrect.")
			noDataK  = msg("Not enough permission and/or key not found.")
		)
		bigToken := auth.Encode(big, "secret")
		bigSecret := auth.Encode("abc", big)
		cases := []struct {
			name, method string
			params       []string
			want         string
		}{
			{"token id", "product/GetProducts", []string{"token", bigToken}, unauth},
			{"token secret", "product/GetProducts", []string{"token", bigSecret}, unauth},
			{"raw token", "key/Activate", []string{"token", big}, unauth},
			{"token id on a key method", "key/GetKey", []string{"token", bigToken, "ProductId", pid, "Key", k}, unauth},
			{"Key", "key/Activate", []string{"ProductId", pid, "Key", big, "MachineCode", "m"}, noKey},
			{"Key", "key/GetKey", []string{"ProductId", pid, "Key", big}, noKey},
			{"Key", "key/Deactivate", []string{"ProductId", pid, "Key", big, "MachineCode", "m"}, noKey},
			{"Key", "key/BlockKey", []string{"ProductId", pid, "Key", big}, noKey},
			{"Key", "key/UnblockKey", []string{"ProductId", pid, "Key", big}, noKey},
			{"Key", "key/ExtendLicense", []string{"ProductId", pid, "Key", big, "NoOfDays", "1"}, noKey},
			{"Key", "key/MachineLockLimit", []string{"ProductId", pid, "Key", big, "NumberOfMachines", "1"}, noKey},
			{"Key", "key/ChangeNotes", []string{"ProductId", pid, "Key", big, "Notes", "n"}, noKey},
			{"Key", "key/ChangeCustomer", []string{"ProductId", pid, "Key", big, "CustomerId", "0"}, noKey},
			{"Key", "key/ChangeReseller", []string{"ProductId", pid, "Key", big, "ResellerId", "0"}, noKey},
			{"Key", "key/TrialActivation", []string{"ProductId", pid, "Key", big}, noKey},
			{"Key", "key/AddFeature", []string{"ProductId", pid, "Key", big, "Feature", "1"}, noKey},
			{"Key", "key/RemoveFeature", []string{"ProductId", pid, "Key", big, "Feature", "1"}, noKey},
			{"Key", "data/AddDataObjectToKey", []string{"ProductId", pid, "Key", big, "Name", "n"}, noDataK},
			{"Key", "data/ListDataObjectsToKey", []string{"ProductId", pid, "Key", big}, noDataK},
			{"Key", "data/IncrementIntValueToKey", []string{"ProductId", pid, "Key", big, "Name", "n", "IntValue", "1"}, noDataK},
			{"Key", "data/SetStringValueToKey", []string{"ProductId", pid, "Key", big, "Name", "n", "StringValue", "s"}, noDataK},
			{"Key", "data/RemoveDataObjectToKey", []string{"ProductId", pid, "Key", big, "Name", "n"}, noDataK},
			{"Key", "data/UploadValuesToKey", []string{"ProductId", pid, "Key", big, "Name", "n", "Data", "W3siSW50VmFsdWUiOjF9XQ=="}, noDataK},
			{"Key", "data/AddDataObjectToMachineCode", []string{"ProductId", pid, "Key", big, "MachineCode", "m", "Name", "n"}, noDataK},
			{"MachineCode", "key/Activate", []string{"ProductId", pid, "Key", k, "MachineCode", big}, badInput},
			{"MachineCode", "key/CreateTrialKey", []string{"ProductId", pid, "MachineCode", big}, badInput},
			{"MachineCode", "key/Deactivate", []string{"ProductId", pid, "Key", k, "MachineCode", big},
				msg("Either the machine code was never activated or key activation feature was never set up.")},
			{"MachineCode", "data/AddDataObjectToMachineCode", []string{"ProductId", pid, "Key", k, "MachineCode", big, "Name", "n"},
				msg("Not enough permission and/or machine code not found.")},
			{"Name", "data/IncrementIntValueToKey", []string{"ProductId", pid, "Key", k, "Name", big, "IntValue", "1"},
				msg("Not enough permission.")},
			{"Name", "data/AddDataObjectToKey", []string{"ProductId", pid, "Key", k, "Name", big},
				msg("The 'Name' should have the size of max 100 chars.")},
			{"Secret", "customer/GetCustomerLicensesBySecret", []string{"Secret", big}, msg("Customer does not exist.")},
			{"Email", "customer/AddCustomer", []string{"Name", "n", "Email", big}, badInput},
			{"Username", "userauth/Login", []string{"Username", big, "Password", "p"}, badInput},
			{"Username", "userauth/Register", []string{"Username", big, "Password", "p"}, badInput},
			{"Username", "userauth/RemoveUser", []string{"Username", big}, badInput},
			{"Username", "userauth/ChangePassword", []string{"Username", big, "OldPassword", "a", "NewPassword", "b"}, badInput},
			{"Username", "userauth/ResetPasswordToken", []string{"Username", big}, badInput},
			{"Username", "userauth/Associate", []string{"Username", big, "CustomerId", "1"}, badInput},
			{"Username", "userauth/Dissociate", []string{"Username", big}, badInput},
			{"Email", "key/CreateKey", []string{"ProductId", pid, "AddOrUseExistingCustomer", "true", "Name", "n", "Email", big},
				msg("The email of the customer is limited to 100 characters.")},
			{"Name", "data/AddDataObjectToMachineCode", []string{"ProductId", pid, "Key", k, "MachineCode", "m", "Name", big},
				msg("The 'Name' should have the size of max 10 chars.")},
			{"Key", "auth/KeyLock", []string{"ProductId", pid, "Key", big}, msg("The Key Lock has to be set to '-1' for this method to work.")},
		}
		for _, tc := range cases {
			params := tc.params
			if params[0] != "token" {
				params = append([]string{"token", f.token}, params...)
			}
			status, got := e.call("POST", "/api/"+tc.method, values(params...))
			if status != 200 || got != tc.want {
				t.Errorf("%d bytes of %s to %s: got %d %.300s, want 200 %s", size, tc.name, tc.method, status, got, tc.want)
			}
			if hit := sn.take(); len(hit) > 0 {
				t.Errorf("%d bytes of %s to %s reached DynamoDB (%v)", size, tc.name, tc.method, hit)
			}
		}
	}
	for _, l := range logs.lines() {
		if len(l) > maxLogLine {
			t.Errorf("log line of %d bytes: %.300s", len(l), l)
		}
	}
}

// values builds form values from name/value pairs.
func values(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return v
}
