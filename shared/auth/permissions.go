package auth

import (
	"sort"
	"strings"
)

// Permission names are the Web API 3 method names a token may be allowed to
// call. Variants of one method (the data object ...ToKey and
// ...ToMachineCode forms) share their base method's permission; the end-user
// methods use UserAuthNormal or UserAuthAdmin, and CreateMessage and
// RemoveMessage the "Edit Messages" permission (EditMessages), as the
// reference describes.
var permissions = []string{
	// key
	"Activate", "Deactivate", "GetKey", "CreateKey", "CreateTrialKey", "CreateKeyFromTemplate",
	"AddFeature", "RemoveFeature", "BlockKey", "UnblockKey", "ExtendLicense", "MachineLockLimit",
	"ChangeNotes", "ChangeReseller", "ChangeCustomer", "TrialActivation",
	// product and templates
	"GetKeys", "GetProducts", "GetLicenseTemplates",
	// customer
	"AddCustomer", "EditCustomer", "GetCustomers", "GetCustomerLicenses",
	"GetCustomerLicensesBySecret", "RemoveCustomer",
	// data objects
	"AddDataObject", "ListDataObjects", "IncrementIntValue", "DecrementIntValue", "SetIntValue",
	"SetStringValue", "RemoveDataObject", "UploadValuesToKey",
	// end users
	"UserAuthNormal", "UserAuthAdmin",
	// analytics, messages, payments, subscriptions
	"RegisterEvent", "GetEvents", "GetObjectLog", "GetWebAPILog",
	"EditMessages", "GetMessages",
	"CreateSession", "RecordUsage",
	// discount codes (Keyturn's own: the Bytex vendor API's Discounts/r1/Create)
	"CreateDiscount",
	// resellers (one permission for every reseller method, as the reference says)
	"Reseller",
	// NetLicensing licensee API (/core/v2/rest/licensee...): NetLicensing's
	// API key roles, see shared/handlers/netlicensing
	RoleAPIKeyAdmin, RoleAPIKeyMaintenance, RoleAPIKeyOperation, RoleAPIKeyAnalytics, RoleAPIKeyLicensee,
}

// NetLicensing's API key roles, held by a token like permissions. Which
// licensee calls each role may make is listed in shared/handlers/netlicensing.
const (
	RoleAPIKeyAdmin       = "ROLE_APIKEY_ADMIN"
	RoleAPIKeyMaintenance = "ROLE_APIKEY_MAINTENANCE"
	RoleAPIKeyOperation   = "ROLE_APIKEY_OPERATION"
	RoleAPIKeyAnalytics   = "ROLE_APIKEY_ANALYTICS"
	RoleAPIKeyLicensee    = "ROLE_APIKEY_LICENSEE"
)

var permissionIndex = func() map[string]string {
	m := make(map[string]string, len(permissions))
	for _, p := range permissions {
		m[strings.ToLower(p)] = p
	}
	return m
}()

// Permissions returns every permission name a token can hold, sorted.
func Permissions() []string {
	out := append([]string(nil), permissions...)
	sort.Strings(out)
	return out
}

// CanonicalPermission returns the canonical spelling of name (matched
// case-insensitively) and whether it is a known permission.
func CanonicalPermission(name string) (string, bool) {
	p, ok := permissionIndex[strings.ToLower(strings.TrimSpace(name))]
	return p, ok
}
