package userauth_test

import (
	"context"
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/keyturn/keyturn/shared/auth"
	"github.com/keyturn/keyturn/shared/ddbtest"
	"github.com/keyturn/keyturn/shared/dynamo/stores"
	"github.com/keyturn/keyturn/shared/handlers/userauth"
	"github.com/keyturn/keyturn/shared/users"
	"github.com/keyturn/keyturn/shared/webapi"
)

// BenchmarkLogin is a whole Login over HTTP with the production argon2id
// parameters on DynamoDB Local (no customer): the argon2id verification
// plus two sequential DynamoDB round trips (the first two in parallel).
// Run with -tags purego to use the pure Go argon2 code that arm64 Lambdas
// run.
func BenchmarkLogin(b *testing.B) {
	ctx := context.Background()
	db, table := ddbtest.NewTable(b)
	st := stores.New(db, table)
	tokens := auth.NewService(st.Catalog, time.Now, rand.Reader, time.Hour)
	svc := users.NewService(st.Users, st.UserCustomers(), time.Now, rand.Reader)
	srv := httptest.NewServer(webapi.NewServer(webapi.Options{Auth: tokens}, userauth.Group(userauth.Deps{Users: svc})))
	b.Cleanup(srv.Close)
	tok, _, err := tokens.Issue(ctx, 1, "bench", auth.Scope{Methods: []string{userauth.PermNormal}}, "")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := svc.Register(ctx, 1, users.Registration{Username: "bench", Password: "benchmark password"}); err != nil {
		b.Fatal(err)
	}
	body := url.Values{"token": {tok}, "Username": {"bench"}, "Password": {"benchmark password"}}.Encode()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res, err := http.Post(srv.URL+"/api/userauth/Login", "application/x-www-form-urlencoded", strings.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		var buf [64]byte
		n, _ := res.Body.Read(buf[:])
		res.Body.Close()
		if !strings.HasPrefix(string(buf[:n]), `{"licenseKeys":[]`) {
			b.Fatalf("Login: %s", buf[:n])
		}
	}
}
