package dynamo

import (
	"strconv"
	"strings"
)

// Key is the primary key of one item.
type Key struct{ PK, SK string }

// Every item key of the table is built here, and docs/DATA-MODEL.md lists
// every pattern (TestDataModelDocumented checks both ways). Numbers that
// sort are zero-padded (Pad); <account>, <product>, <customer> ... are
// decimal ids.

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// Widths of zero-padded numbers in sort keys.
const (
	IDWidth   = 12 // ids, unix seconds
	SlotWidth = 10 // seat slots (int32)
)

// ---- counters and accounts (catalog) ----

// Counter is a global atomic id counter (attribute n).
func Counter(name string) Key { return Key{"COUNTER", name} }

// ProductKeyCounter holds a product's last key id (attribute n); the
// product's holes (ids with no key) share its partition (ProductKeyHole).
func ProductKeyCounter(productID int64) Key { return Key{ProductKeysPK(productID), "N"} }

// ProductKeyHole records a key id of the product that has no key (a key
// deleted, or an id reserved by a creation that failed).
func ProductKeyHole(productID, id int64) Key {
	return Key{ProductKeysPK(productID), "H#" + Pad(id, IDWidth)}
}

// ProductKeysPK is the partition of a product's key counter and holes.
func ProductKeysPK(productID int64) string { return "KC#" + itoa(productID) }

// Account is an account item.
func Account(id int64) Key { return Key{AccountsPK, "A#" + Pad(id, IDWidth)} }

// AccountsPK is the partition listing every account.
const AccountsPK = "ACCOUNTS"

// AccountPK is an account's own partition (products, signing keys,
// templates, customers, resellers, users).
func AccountPK(accountID int64) string { return "A#" + itoa(accountID) }

// Product is a product of an account.
func Product(accountID, productID int64) Key {
	return Key{AccountPK(accountID), ProductPrefix + Pad(productID, IDWidth)}
}

// ProductPrefix begins the sort keys of an account's products.
const ProductPrefix = "P#"

// SigningKey is one version of an account's signing key.
func SigningKey(accountID int64, version int) Key {
	return Key{AccountPK(accountID), SigningKeyPrefix + Pad(int64(version), 6)}
}

// SigningKeyPrefix begins the sort keys of an account's signing keys.
const SigningKeyPrefix = "SIGNKEY#"

// Template is a license template of an account.
func Template(accountID, id int64) Key {
	return Key{AccountPK(accountID), TemplatePrefix + Pad(id, IDWidth)}
}

// TemplatePrefix begins the sort keys of an account's templates.
const TemplatePrefix = "TPL#"

// Token is an access token (gsi1: TokensGSI1PK / id).
func Token(id string) Key { return Key{"T#" + id, "T"} }

// PeerSession is a peer-API login session (Revulytics /auth/login);
// idHash is the hex SHA-256 of the session id.
func PeerSession(idHash string) Key { return Key{"SES#" + idHash, "SES"} }

// TokensGSI1PK is the gsi1 partition listing an account's tokens.
func TokensGSI1PK(accountID int64) string { return AccountPK(accountID) + "#TOKENS" }

// ---- licenses ----

// License is a license key's item (gsi1 GlobalIDGSI1PK / KeySK, gsi2
// ProductKeysGSI2PK / id, gsi5 ProductExpiryGSI5PK / expiry#id, gsi3 and
// gsi4 when it has a customer or reseller). Its activations live in the
// same partition (NodeSlot, NodeMachine, SeatSlot, FloatingMachine).
func License(productID int64, key string) Key { return Key{LicensePK(productID, key), KeySK} }

// KeySK is the sort key of a license's own item.
const KeySK = "KEY"

// LicensePK is the partition of a license and its activations.
func LicensePK(productID int64, key string) string { return "K#" + itoa(productID) + "#" + key }

// ParseLicensePK splits a LicensePK into product id and key string.
func ParseLicensePK(pk string) (productID int64, key string, ok bool) {
	rest, ok := strings.CutPrefix(pk, "K#")
	if !ok {
		return 0, "", false
	}
	pid, k, ok := strings.Cut(rest, "#")
	if !ok {
		return 0, "", false
	}
	id, err := strconv.ParseInt(pid, 10, 64)
	return id, k, err == nil
}

// Activation sort-key prefixes within a license partition. Upper-case
// prefixes sort before lower-case ones, so a partition reads as: the key
// item, node-locked seats, floating seats, then the machine-keyed items of
// keys without a limit.
const (
	NodeSlotPrefix        = "N#"
	SeatSlotPrefix        = "S#"
	FloatingMachinePrefix = "f#"
	NodeMachinePrefix     = "m#"
)

// NodeSlot is node-locked seat slot of a license with a machine limit.
func NodeSlot(productID int64, key string, slot int) Key {
	return Key{LicensePK(productID, key), NodeSlotPrefix + Pad(int64(slot), SlotWidth)}
}

// SeatSlot is floating seat slot of a license with a machine limit.
func SeatSlot(productID int64, key string, slot int) Key {
	return Key{LicensePK(productID, key), SeatSlotPrefix + Pad(int64(slot), SlotWidth)}
}

// NodeMachine is a node-locked machine of a license that holds no seat
// slot (keys without a limit, and AllowedMachines beyond the limit).
func NodeMachine(productID int64, key, mid string) Key {
	return Key{LicensePK(productID, key), NodeMachinePrefix + mid}
}

// FloatingMachine is a floating activation of a license without a limit.
func FloatingMachine(productID int64, key, mid string) Key {
	return Key{LicensePK(productID, key), FloatingMachinePrefix + mid}
}

// GlobalIDGSI1PK is the gsi1 partition of the license with a global id.
func GlobalIDGSI1PK(globalID int64) string { return "G#" + itoa(globalID) }

// ProductKeysGSI2PK is the gsi2 partition listing a product's licenses by
// id (sort key Pad(id, IDWidth)).
func ProductKeysGSI2PK(productID int64) string { return "P#" + itoa(productID) + "#KEYS" }

// ProductExpiryGSI5PK is the gsi5 partition listing a product's licenses
// by expiry (sort key ExpirySK).
func ProductExpiryGSI5PK(productID int64) string { return "E#" + itoa(productID) }

// ExpirySK is a license's gsi5 sort key: expiry (unix seconds) then id.
func ExpirySK(expires, id int64) string {
	return Pad(max(expires, 0), IDWidth) + "#" + Pad(id, IDWidth)
}

// CustomerLicensesGSI3PK is the gsi3 partition of a customer's licenses
// (sort key: the license's pk).
func CustomerLicensesGSI3PK(accountID, customerID int64) string {
	return "C#" + itoa(accountID) + "#" + itoa(customerID)
}

// ResellerLicensesGSI4PK is the gsi4 partition of a reseller's licenses
// (sort key: the license's pk).
func ResellerLicensesGSI4PK(accountID, resellerID int64) string {
	return "R#" + itoa(accountID) + "#" + itoa(resellerID)
}

// Trial records the trial key created for a machine of a product.
func Trial(productID int64, mid string) Key {
	return Key{"TRIAL#" + itoa(productID) + "#" + mid, "TRIAL"}
}

// ---- customers and resellers ----

// Customer is a customer of an account.
func Customer(accountID, id int64) Key {
	return Key{AccountPK(accountID), CustomerPrefix + Pad(id, IDWidth)}
}

// CustomerPrefix begins the sort keys of an account's customers.
const CustomerPrefix = "C#"

// CustomerSecret maps a customer secret to the customer (unique secrets).
func CustomerSecret(accountID int64, secret string) Key {
	return Key{"CS#" + itoa(accountID) + "#" + secret, "CS"}
}

// CustomerEmail maps a lower-cased email to the first customer with it.
func CustomerEmail(accountID int64, email string) Key {
	return Key{"CE#" + itoa(accountID) + "#" + strings.ToLower(strings.TrimSpace(email)), "CE"}
}

// Reseller is a reseller of an account.
func Reseller(accountID, id int64) Key {
	return Key{AccountPK(accountID), ResellerPrefix + Pad(id, IDWidth)}
}

// ResellerPrefix begins the sort keys of an account's resellers.
const ResellerPrefix = "R#"

// Device is a machine counted against a customer's MaxNoOfDevices; it
// lists the licenses (global ids) that have the machine node-locked.
func Device(accountID, customerID int64, mid string) Key {
	return Key{DevicesPK(accountID, customerID), DevicePrefix + mid}
}

// DevicePrefix begins the sort keys of device records.
const DevicePrefix = "m"

// DevicesPK is the partition of a customer's device records.
func DevicesPK(accountID, customerID int64) string {
	return "CD#" + itoa(accountID) + "#" + itoa(customerID)
}

// ---- end users ----

// User is an end user (userauth) of an account; userKey is the folded
// username (users.Key).
func User(accountID int64, userKey string) Key {
	return Key{AccountPK(accountID), UserPrefix + userKey}
}

// UserPrefix begins the sort keys of an account's users.
const UserPrefix = "USER#"

// LoginWindow counts the login attempts of a username in one window.
func LoginWindow(accountID int64, userKey string, window int64) Key {
	return Key{"UL#" + itoa(accountID) + "#" + userKey, "W#" + itoa(window)}
}

// LoginToken is a one-time login token of an end user; hash is the hex
// SHA-256 of the token.
func LoginToken(accountID int64, hash string) Key {
	return Key{"LT#" + itoa(accountID) + "#" + hash, "LT"}
}

// CustomerUsersGSI3PK is the gsi3 partition of a customer's users (sort
// key: the folded username).
func CustomerUsersGSI3PK(accountID, customerID int64) string {
	return "CU#" + itoa(accountID) + "#" + itoa(customerID)
}

// ---- data objects ----

// DataObjectsPK is a referencer's partition of data objects; ref is U (the
// account), P<product>, K<global id> or M<global id>#<machine code>.
func DataObjectsPK(accountID int64, ref string) string { return "DO#" + itoa(accountID) + "#" + ref }

// DataObject is one data object of a referencer.
func DataObject(accountID int64, ref string, id int64) Key {
	return Key{DataObjectsPK(accountID, ref), Pad(id, IDWidth)}
}

// DataObjectCount counts a referencer's objects (attribute n; a key's
// objects are counted on the license item instead).
func DataObjectCount(accountID int64, ref string) Key {
	return Key{DataObjectsPK(accountID, ref), "C"}
}

// DataObjectName counts a referencer's objects with one name.
func DataObjectName(accountID int64, ref, name string) Key {
	return Key{DataObjectsPK(accountID, ref), "N#" + name}
}

// DataObjectPointer locates a data object by id.
func DataObjectPointer(accountID, id int64) Key {
	return Key{"DOI#" + itoa(accountID) + "#" + itoa(id), "DOI"}
}

// AccountDataObjectsGSI2PK is the gsi2 partition listing every data object
// of an account (sort key Pad(id, IDWidth)).
func AccountDataObjectsGSI2PK(accountID int64) string { return "DO#" + itoa(accountID) }

// ---- messages ----

// MessagesPK is the partition of an account's messages, in time order
// (sort key MessageSK).
func MessagesPK(accountID int64) string { return "MSG#" + itoa(accountID) }

// MessageSK is a message's sort key: creation time (unix seconds) then id,
// so that a partition or index reads in time order.
func MessageSK(created, id int64) string {
	return Pad(max(created, 0), IDWidth) + "#" + Pad(id, IDWidth)
}

// Message is one message of an account (gsi2 MessageChannelGSI2PK /
// MessageSK when it has a channel).
func Message(accountID, created, id int64) Key {
	return Key{MessagesPK(accountID), MessageSK(created, id)}
}

// MessageChannelGSI2PK is the gsi2 partition listing the messages of one
// channel of an account (sort key MessageSK).
func MessageChannelGSI2PK(accountID int64, channel string) string {
	return "MSGC#" + itoa(accountID) + "#" + channel
}

// MessagePointer locates a message by id (it holds the message's sort
// key).
func MessagePointer(accountID, id int64) Key {
	return Key{"MSGI#" + itoa(accountID) + "#" + itoa(id), "MSGI"}
}

// ---- payments (payment forms, discount codes, metered billing) ----

// PaymentForm is a payment form of an account (ids from
// Counter("paymentform")).
func PaymentForm(accountID, id int64) Key {
	return Key{AccountPK(accountID), PaymentFormPrefix + Pad(id, IDWidth)}
}

// PaymentFormPrefix begins the sort keys of an account's payment forms.
const PaymentFormPrefix = "PF#"

// StripeSettings holds an account's sealed Stripe keys.
func StripeSettings(accountID int64) Key { return Key{AccountPK(accountID), "STRIPE"} }

// PaymentSession is a payment session (the order it becomes) by the hex
// SHA-256 of its secret.
func PaymentSession(hash string) Key { return Key{"PS#" + hash, "PS"} }

// PaymentEvent records a Stripe event id the account's webhook handled.
func PaymentEvent(accountID int64, eventID string) Key {
	return Key{"PE#" + itoa(accountID) + "#" + eventID, "PE"}
}

// Discount is a discount code of an account (the upper-case code); its
// own partition, as a popular code's redemptions are its only writes.
func Discount(accountID int64, code string) Key {
	return Key{"DC#" + itoa(accountID) + "#" + code, "DC"}
}

// SubscriptionLink ties a license key to the Stripe subscription item its
// usage is billed to.
func SubscriptionLink(productID int64, key string) Key {
	return Key{"SUB#" + itoa(productID) + "#" + key, "SUB"}
}

// ---- licensees (the NetLicensing licensee view) ----

// Licensee is a licensee of an account by number (gsi2
// AccountLicenseesGSI2PK / its position, gsi4 ProductLicenseesGSI4PK / its
// position in the product).
func Licensee(accountID int64, number string) Key {
	return Key{"LE#" + itoa(accountID) + "#" + number, "LE"}
}

// LicenseeClaim records the licensee of a customer in a product: a
// customer is at most one licensee per product.
func LicenseeClaim(accountID, customerID, productID int64) Key {
	return Key{LicenseeClaimsPK(accountID, customerID), ProductPrefix + Pad(productID, IDWidth)}
}

// LicenseeClaimsPK is the partition of a customer's licensee claims.
func LicenseeClaimsPK(accountID, customerID int64) string {
	return "LC#" + itoa(accountID) + "#" + itoa(customerID)
}

// LicenseeCounter holds the last listing position (attribute n) and the
// number of licensees (attribute c) of an account (productID 0) or of one
// of its products.
func LicenseeCounter(accountID, productID int64) Key {
	if productID == 0 {
		return Key{"LN#" + itoa(accountID), "A"}
	}
	return Key{"LN#" + itoa(accountID), ProductPrefix + Pad(productID, IDWidth)}
}

// AccountLicenseesGSI2PK is the gsi2 partition listing an account's
// licensees by position (sort key Pad(position, IDWidth)).
func AccountLicenseesGSI2PK(accountID int64) string { return "LE#" + itoa(accountID) }

// ProductLicenseesGSI4PK is the gsi4 partition listing a product's
// licensees by position (sort key Pad(position, IDWidth)).
func ProductLicenseesGSI4PK(accountID, productID int64) string {
	return "LEP#" + itoa(accountID) + "#" + itoa(productID)
}
