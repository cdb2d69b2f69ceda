package app_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/keyturn/keyturn/shared/app"
	"github.com/keyturn/keyturn/shared/auth"
	"github.com/keyturn/keyturn/shared/config"
	"github.com/keyturn/keyturn/shared/dynamo"
)

// selfAuthorized are the methods whose handler authorizes the call itself
// (no single permission): auth/KeyLock (enabled by a negative key lock),
// userauth/Login, CreateLoginToken and ChangePassword (UserAuthNormal or
// UserAuthAdmin),
// data/UploadValuesToKey (UploadValuesToKey, or IncrementIntValue /
// DecrementIntValue for the entries of the log).
var selfAuthorized = map[string]bool{"auth/KeyLock": true, "userauth/Login": true, "userauth/CreateLoginToken": true, "userauth/ChangePassword": true,
	"data/UploadValuesToKey": true}

// TestEveryMethodPermissionAndEvents: every registered Web API method
// requires a permission a token can hold (or is a listed self-authorizing
// method), and has a success and an error sample event in events/.
func TestEveryMethodPermissionAndEvents(t *testing.T) {
	cfg, err := config.Load(func(k string) string {
		return map[string]string{config.EnvTable: "methods", config.EnvSigningMode: config.SigningLocal,
			config.EnvLocalKEKFile: filepath.Join(t.TempDir(), "kek")}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	a, err := app.New(context.Background(), cfg, nil, app.Clients{DynamoDB: noCalls{}})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, g := range app.Groups(a) {
		for _, m := range g.Methods {
			n++
			name := g.Name + "/" + m.Name
			switch canonical, ok := auth.CanonicalPermission(m.Permission); {
			case m.Permission == "" && !selfAuthorized[name]:
				t.Errorf("%s has no permission and is not listed as authorizing itself", name)
			case m.Permission != "" && (!ok || canonical != m.Permission):
				t.Errorf("%s requires permission %q, which no token can hold (see shared/auth/permissions.go)", name, m.Permission)
			}
			for _, f := range []string{m.Name + ".json", m.Name + ".error.json"} {
				if _, err := os.Stat(filepath.Join("..", "..", "events", g.Name, f)); err != nil {
					t.Errorf("%s has no sample event events/%s/%s", name, g.Name, f)
				}
			}
		}
	}
	if n < 60 {
		t.Errorf("only %d methods registered", n)
	}
}

// noCalls is a DynamoDB client for tests that make no calls.
type noCalls struct{ dynamo.API }
