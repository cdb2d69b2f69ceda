package webapi

import (
	"encoding/json"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/keyturn/keyturn/shared/webapi/msgpack"
)

// bodyKinds are the content types FuzzServer sends its body with.
var bodyKinds = []string{"application/x-www-form-urlencoded", "application/json", "application/x-msgpack", "", "text/plain", "application/problem+json"}

// FuzzServer sends arbitrary requests (path, query, body in every content
// type) through the Web API server. Whatever arrives, the answer is the
// envelope: HTTP 200 (404 for an unknown method, never a 5xx), a JSON
// object (MessagePack when asked) with an integer result of 0 or 1 and a
// string message that is empty exactly on success.
func FuzzServer(f *testing.F) {
	f.Add("/api/test/Echo", "token=good&value=hi", uint8(0), []byte("n=3"))
	f.Add("/api/test/Echo", "", uint8(1), []byte(`{"token":"good","value":"x","n":"12"}`))
	f.Add("/api/test/Echo", "", uint8(1), []byte(`{"token":"good","n":[1,{"a":null}]}`))
	f.Add("/api/test/Echo", "", uint8(2), []byte("\x82\xa5token\xa4good\xa1n\xcd\x01\x00"))
	f.Add("/api/test/Echo", "", uint8(2), []byte("\xdf\xff\xff\xff\xff"))
	f.Add("//API//test/echo/", "token=good&n=9223372036854775808", uint8(3), []byte("{bad json"))
	f.Add("/api/test/Echo", "token=%zz", uint8(0), []byte("value=%"))
	f.Add("/api/test/Boom", "token=good", uint8(4), []byte(""))
	f.Add("/api/nope/Nope", "", uint8(5), []byte("{}"))
	f.Add("/api/test/Echo", "token=good&v=2", uint8(0), []byte("format=plaintext"))
	s := testServer(1 << 12)
	f.Fuzz(func(t *testing.T, path, query string, kind uint8, body []byte) {
		if !strings.HasPrefix(path, "/") {
			path = "/" + path
		}
		// Boom and Panic exist to test the server's own 500s.
		if lp := strings.ToLower(path); strings.Contains(lp, "boom") || strings.Contains(lp, "panic") {
			return
		}
		u := &url.URL{Path: path, RawQuery: query}
		req := httptest.NewRequest("POST", "http://x/", strings.NewReader(string(body)))
		req.URL = u
		req.RequestURI = u.RequestURI()
		ct := bodyKinds[int(kind)%len(bodyKinds)]
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		w := httptest.NewRecorder()
		s.ServeHTTP(w, req)
		if w.Code != 200 && w.Code != 404 {
			t.Fatalf("status %d for %q ? %q (%s) %q: %s", w.Code, path, query, ct, body, w.Body)
		}
		got := w.Body.Bytes()
		switch rct := w.Header().Get("Content-Type"); {
		case rct == "application/x-msgpack":
			m, err := msgpack.DecodeFlatMap(got)
			if err != nil {
				t.Fatalf("MessagePack answer does not decode: %v", err)
			}
			checkEnvelope(t, m["result"], m["message"], got)
			return
		case strings.HasPrefix(rct, "text/plain"):
			return // Echo's plain text form: the value itself
		}
		var env map[string]json.RawMessage
		if err := json.Unmarshal(got, &env); err != nil {
			t.Fatalf("answer is not a JSON object: %q", got)
		}
		var msg string
		if err := json.Unmarshal(env["message"], &msg); err != nil {
			t.Fatalf("message is not a string: %s", got)
		}
		checkEnvelope(t, string(env["result"]), msg, got)
	})
}

func checkEnvelope(t *testing.T, result, message string, body []byte) {
	t.Helper()
	if !(result == "0" && message == "" || result == "1" && message != "") {
		t.Fatalf("envelope result %q message %q: %q", result, message, body)
	}
}

// FuzzParamEncodings: a parameter reads back byte for byte the same
// whether it arrives in the query string, a form body, a JSON body or a
// MessagePack body, under any spelling of its name.
func FuzzParamEncodings(f *testing.F) {
	f.Add("MachineCode", "3f2a9c")
	f.Add("Key", "AAAAA-BBBBB-CCCCC-DDDDD")
	f.Add("notes", "a&b=c%d+e f\n\"\\é\u2028")
	f.Add("Ω", "null")
	f.Add("x", "")
	f.Add("States", "[3010,2010]")
	f.Add("OSInfo", `{"OSName":"Windows"}`)
	f.Fuzz(func(t *testing.T, name, value string) {
		if name == "" || strings.EqualFold(name, "token") || !utf8.ValidString(name) || !utf8.ValidString(value) {
			return // JSON and MessagePack carry text; the token is the server's
		}
		js, _ := json.Marshal(map[string]string{"token": "good", name: value})
		mp, err := msgpack.FromJSON(js)
		if err != nil {
			t.Fatalf("FromJSON(%s): %v", js, err)
		}
		form := url.Values{"token": {"good"}, name: {value}}.Encode()
		bodies := []struct {
			ct, query string
			body      []byte
		}{
			{"", form, nil},
			{"application/x-www-form-urlencoded", "", []byte(form)},
			{"application/json", "", js},
			{"application/x-msgpack", "", mp},
		}
		s := testServer(1 << 20)
		for _, b := range bodies {
			req := httptest.NewRequest("POST", "http://x/api/test/Echo?"+b.query, strings.NewReader(string(b.body)))
			if b.ct != "" {
				req.Header.Set("Content-Type", b.ct)
			}
			p, err := s.readParams(req)
			if err != nil {
				t.Fatalf("%s: readParams: %v", b.ct, err)
			}
			// Names are folded with strings.ToLower (not Unicode case
			// folding: strings.EqualFold("ſ", "S") holds, yet "S" folds
			// to "s"), so only spellings that lower-case to the same name
			// must find it.
			folded := strings.ToLower(name)
			for _, spelling := range []string{name, strings.ToUpper(name), strings.ToLower(name)} {
				if strings.ToLower(spelling) != folded {
					continue // case mapping that does not round-trip
				}
				if got, ok := p.Raw(spelling); !ok || got != value {
					t.Fatalf("%s: Raw(%q) = %q, %v; want %q", b.ct, spelling, got, ok, value)
				}
			}
		}
	})
}
