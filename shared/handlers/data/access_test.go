package data

import (
	"errors"
	"testing"

	"github.com/keyturn/keyturn/shared/apierr"
	"github.com/keyturn/keyturn/shared/auth"
	"github.com/keyturn/keyturn/shared/dataobj"
)

func TestAccess(t *testing.T) {
	user := dataobj.Ref{Type: dataobj.User, ID: 1}
	product := dataobj.Ref{Type: dataobj.Product, ID: 7}
	key := dataobj.Ref{Type: dataobj.Key, ID: 900, ProductID: 7, KeyID: 3}
	machine := dataobj.Ref{Type: dataobj.MachineCode, ID: 900, ProductID: 7, KeyID: 3, MachineCode: "m"}
	tests := []struct {
		name  string
		scope auth.Scope
		ref   dataobj.Ref
		want  error
	}{
		{"user, no locks", auth.Scope{}, user, nil},
		{"user, product lock", auth.Scope{ProductLock: 7}, user, apierr.DataNotEnoughPermission},
		{"user, key lock", auth.Scope{KeyLock: 3}, user, apierr.DataNotEnoughPermission},
		{"user, negative key lock", auth.Scope{KeyLock: -1}, user, apierr.DataNotEnoughPermission},
		{"product, no locks", auth.Scope{}, product, nil},
		{"product, same product lock", auth.Scope{ProductLock: 7}, product, nil},
		{"product, other product lock", auth.Scope{ProductLock: 8}, product, apierr.DataProductNotFound},
		{"product, key lock", auth.Scope{KeyLock: 3}, product, apierr.DataNotEnoughPermission},
		{"product, negative key lock", auth.Scope{KeyLock: -1}, product, apierr.DataNotEnoughPermission},
		{"key, no locks", auth.Scope{}, key, nil},
		{"key, its product", auth.Scope{ProductLock: 7}, key, nil},
		{"key, other product", auth.Scope{ProductLock: 8}, key, apierr.DataKeyNotFound},
		{"key, its key lock", auth.Scope{ProductLock: 7, KeyLock: 3}, key, nil},
		{"key, other key lock", auth.Scope{ProductLock: 7, KeyLock: 4}, key, apierr.DataKeyNotFound},
		{"key, same key id in another product", auth.Scope{ProductLock: 8, KeyLock: 3}, key, apierr.DataKeyNotFound},
		// A key lock without a product lock names no key (key ids repeat
		// across products): it reaches no key, not key 3 of every product.
		{"key, key lock without product lock", auth.Scope{KeyLock: 3}, key, apierr.DataKeyNotFound},
		{"key, negative key lock", auth.Scope{KeyLock: -1}, key, nil},
		{"machine, key rules", auth.Scope{ProductLock: 7, KeyLock: 4}, machine, apierr.DataKeyNotFound},
		{"machine, its key", auth.Scope{ProductLock: 7, KeyLock: 3}, machine, nil},
		{"machine, key lock without product lock", auth.Scope{KeyLock: 3}, machine, apierr.DataKeyNotFound},
		{"unknown type", auth.Scope{}, dataobj.Ref{Type: 9}, apierr.DataReferencerType},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := access(tt.scope, tt.ref)
			if (got == nil) != (tt.want == nil) || tt.want != nil && !errors.Is(got, tt.want) {
				t.Errorf("access = %v, want %v", got, tt.want)
			}
		})
	}
}
