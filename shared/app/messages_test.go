package app_test

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
)

// createMessage calls message/CreateMessage and returns the new id.
func (e *env) createMessage(token string, kv ...string) int64 {
	e.t.Helper()
	body := e.post("message/CreateMessage", append([]string{"token", token}, kv...)...)
	var r struct {
		MessageID int64 `json:"messageId"`
		Result    int   `json:"result"`
	}
	if err := json.Unmarshal([]byte(body), &r); err != nil || r.Result != 0 || r.MessageID == 0 {
		e.t.Fatalf("CreateMessage %v = %s", kv, body)
	}
	if want := fmt.Sprintf(`{"messageId":%d,"result":0,"message":""}`, r.MessageID); body != want {
		e.t.Errorf("CreateMessage = %s, want %s", body, want)
	}
	return r.MessageID
}

// TestMessages: the message methods over HTTP as clients see them: the
// reference's model and key order, channels, the strict time filter,
// removal, and the documented errors.
func TestMessages(t *testing.T) {
	e := newEnv(t)
	f := e.setup("acme", "*")
	id13 := e.createMessage(f.token, "Content", "v401 is now available for download", "Time", "1537815312", "Channel", "stable")
	idBeta := e.createMessage(f.token, "Content", "beta 2", "Time", "1537815400", "Channel", "beta")
	idPlain := e.createMessage(f.token, "Content", "no channel", "Time", "1537815500")
	idEmpty := e.createMessage(f.token, "Time", "1537815600", "Channel", "stable", "Content", "")
	stable := fmt.Sprintf(`{"id":%d,"content":"v401 is now available for download","created":1537815312,"channel":"stable"}`, id13)
	beta := fmt.Sprintf(`{"id":%d,"content":"beta 2","created":1537815400,"channel":"beta"}`, idBeta)
	plain := fmt.Sprintf(`{"id":%d,"content":"no channel","created":1537815500,"channel":null}`, idPlain)
	empty := fmt.Sprintf(`{"id":%d,"content":null,"created":1537815600,"channel":"stable"}`, idEmpty)
	list := func(ms ...string) string {
		return `{"messages":[` + strings.Join(ms, ",") + `],"result":0,"message":""}`
	}

	const (
		timeFormat = `{"result":1,"message":"The timestamp in the Time parameter does not have the correct format."}`
		badInput   = `{"result":1,"message":"The input parameters were incorrect."}`
	)
	tests := []struct {
		name string
		kv   []string
		want string
	}{
		{"every channel, newest first", nil, list(empty, plain, beta, stable)},
		{"one channel", []string{"Channel", "stable"}, list(empty, stable)},
		{"created strictly after Time", []string{"Time", "1537815400"}, list(empty, plain)},
		{"channel and Time", []string{"Channel", "stable", "Time", "1537815312"}, list(empty)},
		{".NET defaults (empty channel, time 0)", []string{"Channel", "", "Time", "0"}, list(empty, plain, beta, stable)},
		{"Node's null", []string{"Channel", "null", "Time", "null"}, list(empty, plain, beta, stable)},
		{"unknown channel", []string{"Channel", "nightly"}, list()},
		{"Time not a unix timestamp", []string{"Time", "2018-09-24"}, timeFormat},
		{"Time negative", []string{"Time", "-1"}, timeFormat},
		{"channel over 200 characters", []string{"Channel", strings.Repeat("c", 201)}, badInput},
	}
	for _, tt := range tests {
		t.Run("GetMessages "+tt.name, func(t *testing.T) {
			if got := e.post("message/GetMessages", append([]string{"token", f.token}, tt.kv...)...); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}

	// CreateMessage refusals store nothing.
	for _, tt := range []struct {
		name string
		kv   []string
		want string
	}{
		{"Time not a unix timestamp", []string{"Content", "x", "Time", "yesterday"}, timeFormat},
		{"Time with a fraction", []string{"Content", "x", "Time", "1537815312.5"}, timeFormat},
		{"Time after year 9999", []string{"Content", "x", "Time", "253402300800"}, timeFormat},
		{"content over 500 characters", []string{"Content", strings.Repeat("é", 501)}, badInput},
		{"channel over 200 characters", []string{"Content", "x", "Channel", strings.Repeat("c", 201)}, badInput},
	} {
		if got := e.post("message/CreateMessage", append([]string{"token", f.token}, tt.kv...)...); got != tt.want {
			t.Errorf("CreateMessage %s = %s, want %s", tt.name, got, tt.want)
		}
	}
	// 500 characters (not bytes) and 200 characters are fine.
	e.createMessage(f.token, "Content", strings.Repeat("é", 500), "Channel", strings.Repeat("c", 200), "Time", "1")
	// Without Time, the message is dated now.
	e.createMessage(f.token, "Content", "now", "Channel", "now")
	var now struct {
		Messages []struct{ Created int64 } `json:"messages"`
	}
	_ = json.Unmarshal([]byte(e.post("message/GetMessages", "token", f.token, "Channel", "now")), &now)
	if len(now.Messages) != 1 || now.Messages[0].Created < 1700000000 {
		t.Errorf("a message created without Time: %+v, want dated now", now.Messages)
	}

	// RemoveMessage.
	rm := func(id string) string { return e.post("message/RemoveMessage", "token", f.token, "Id", id) }
	if got := rm(strconv.FormatInt(idBeta, 10)); got != ok {
		t.Errorf("RemoveMessage = %s", got)
	}
	for _, id := range []string{strconv.FormatInt(idBeta, 10), "999999", "0", "", "abc"} {
		if got := rm(id); got != badInput {
			t.Errorf("RemoveMessage %q = %s, want %s", id, got, badInput)
		}
	}
	if got := e.post("message/GetMessages", "token", f.token, "Time", "1537815300", "Channel", "beta"); got != list() {
		t.Errorf("after removal: %s", got)
	}
}

// TestMessagePermissions: creating and removing need "Edit Messages"
// (EditMessages) and a token without product or key lock; reading needs
// GetMessages and works with the product- or key-locked tokens apps carry.
func TestMessagePermissions(t *testing.T) {
	e := newEnv(t)
	f := e.setup("acme", "EditMessages")
	id := strconv.FormatInt(e.createMessage(f.token, "Content", "hello", "Channel", "stable"), 10)
	reader := e.token(f, map[string]any{"methods": []string{"GetMessages"}})
	appToken := e.token(f, map[string]any{"methods": []string{"Activate", "GetKey", "GetMessages"}, "productLock": f.product, "keyLock": 1})
	lockedEditor := e.token(f, map[string]any{"methods": []string{"EditMessages", "GetMessages"}, "productLock": f.product})
	tests := []struct {
		name  string
		token string
		call  []string
		want  string
	}{
		{"reader reads", reader, []string{"message/GetMessages"}, `"content":"hello"`},
		{"reader cannot create", reader, []string{"message/CreateMessage", "Content", "x"}, deniedBody},
		{"reader cannot remove", reader, []string{"message/RemoveMessage", "Id", id}, deniedBody},
		{"editor cannot read", f.token, []string{"message/GetMessages"}, deniedBody},
		{"locked app token reads", appToken, []string{"message/GetMessages", "Channel", "stable"}, `"content":"hello"`},
		{"product-locked editor cannot create", lockedEditor, []string{"message/CreateMessage", "Content", "x"}, deniedBody},
		{"product-locked editor cannot remove", lockedEditor, []string{"message/RemoveMessage", "Id", id}, deniedBody},
		{"product-locked editor reads", lockedEditor, []string{"message/GetMessages"}, `"content":"hello"`},
		{"editor removes", f.token, []string{"message/RemoveMessage", "Id", id}, ok},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := e.post(tt.call[0], append([]string{"token", tt.token}, tt.call[1:]...)...)
			if !strings.Contains(got, tt.want) {
				t.Errorf("%s = %s, want %s", tt.call[0], got, tt.want)
			}
		})
	}
}
