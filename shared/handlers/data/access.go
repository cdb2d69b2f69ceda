package data

import (
	"github.com/keyturn/keyturn/shared/apierr"
	"github.com/keyturn/keyturn/shared/auth"
	"github.com/keyturn/keyturn/shared/dataobj"
)

// Caller is the data object domain's view of the authenticated caller:
// the access rules of "Permissions using Access Tokens" in the reference,
// applied to the token's scope.
//
//   - User objects: the token has no product lock and no key lock.
//   - Product objects: no key lock, and no product lock or one equal to the
//     product.
//   - Key objects (and machine code objects, which belong to a key): no
//     product lock on another product, no positive key lock on another key
//     (a negative key lock only enables auth/KeyLock and locks no key). A
//     key lock names a key with the product lock (auth.Scope.CheckKey):
//     key ids repeat across products.
//   - The ...ToKey and ...ToMachineCode methods need key lock 0 or negative
//     and a product lock, if any, on the key's product.
//   - The feature lock bounds each change of an int value.
//
// Refusals use the documented messages: apierr.DataNotEnoughPermission,
// apierr.DataProductNotFound, apierr.DataKeyNotFound (so a caller cannot
// tell a forbidden referencer from a missing one).
func Caller(p auth.Principal) dataobj.Caller {
	scope := p.Scope
	return dataobj.Caller{
		AccountID:  p.AccountID,
		Access:     func(ref dataobj.Ref) error { return access(scope, ref) },
		KeyVariant: func(productID int64) error { return keyVariant(scope, productID) },
		StepLimit:  scope.FeatureLock,
		Allowed:    scope.Allows,
	}
}

// access returns nil when a token with scope may use objects of ref, and
// the documented refusal otherwise.
func access(scope auth.Scope, ref dataobj.Ref) error {
	switch ref.Type {
	case dataobj.User:
		if scope.ProductLock != 0 || scope.KeyLock != 0 {
			return apierr.DataNotEnoughPermission
		}
	case dataobj.Product:
		if scope.KeyLock != 0 {
			return apierr.DataNotEnoughPermission
		}
		if scope.ProductLock != 0 && scope.ProductLock != ref.ID {
			return apierr.DataProductNotFound
		}
	case dataobj.Key, dataobj.MachineCode:
		if scope.CheckKey(ref.ProductID, ref.KeyID) != nil {
			return apierr.DataKeyNotFound
		}
	default:
		return apierr.DataReferencerType
	}
	return nil
}

// keyVariant returns nil when a token with scope may use the ...ToKey and
// ...ToMachineCode variants on a key of productID.
func keyVariant(scope auth.Scope, productID int64) error {
	if scope.KeyLock > 0 {
		return apierr.DataNotEnoughPermission
	}
	if scope.CheckProduct(productID) != nil {
		return apierr.DataProductNotFound
	}
	return nil
}
