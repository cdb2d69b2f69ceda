package app_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keyturn/keyturn/shared/app"
	"github.com/keyturn/keyturn/shared/auth"
	"github.com/keyturn/keyturn/shared/config"
)

// TestDependencyDoesNotAnswer runs the service against a DynamoDB endpoint
// that accepts connections and never answers: requests end, within the
// configured deadline, with the documented 503 and JSON body instead of
// waiting for the database (or for the Lambda timeout).
func TestDependencyDoesNotAnswer(t *testing.T) {
	stop := make(chan struct{})
	hung := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		select { // never answers; returns once the caller gives up or the test ends
		case <-r.Context().Done():
		case <-stop:
		}
	}))
	t.Cleanup(func() { close(stop); hung.Close() })
	sum := sha256.Sum256([]byte(adminSecret))
	vars := map[string]string{
		config.EnvTable:           "hung",
		config.EnvDynamoEndpoint:  hung.URL,
		config.EnvSigningMode:     config.SigningLocal,
		config.EnvLocalKEKFile:    filepath.Join(t.TempDir(), "kek"),
		config.EnvAdminSecretHash: hex.EncodeToString(sum[:]),
		config.EnvRequestTimeout:  "300ms",
	}
	cfg, err := config.Load(func(k string) string { return vars[k] })
	if err != nil {
		t.Fatal(err)
	}
	a, err := app.New(context.Background(), cfg, nil, app.Clients{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(app.Router(a.WebAPI(app.Groups(a)...), a.Admin()))
	t.Cleanup(srv.Close)
	// A generous client timeout: only a service without deadlines reaches it.
	client := &http.Client{Timeout: time.Minute}
	do := func(req *http.Request) (int, string) {
		t.Helper()
		res, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}

	form := url.Values{"token": {auth.Encode("abcdefghijkl", "secret")}, "ProductId": {"1"}, "Key": {"AAAAA-AAAAA-AAAAA-AAAAA"}}
	want := `{"result":1,"message":"The service did not answer in time. Please try again."}`
	for _, method := range []string{"product/GetProducts", "key/Activate"} {
		req, _ := http.NewRequest("POST", srv.URL+"/api/"+method, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if status, body := do(req); status != http.StatusServiceUnavailable || body != want {
			t.Errorf("%s against a hung database = %d %s, want 503 %s", method, status, body, want)
		}
	}
	req, _ := http.NewRequest("GET", srv.URL+"/admin/accounts", nil)
	req.Header.Set("Authorization", "Bearer "+adminSecret)
	if status, body := do(req); status != http.StatusServiceUnavailable || !strings.Contains(body, "The service did not answer in time.") {
		t.Errorf("admin API against a hung database = %d %s, want 503", status, body)
	}
}
