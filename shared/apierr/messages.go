package apierr

// The documented messages of each API group (and Keyturn's own where the
// reference documents none), byte-identical: clients compare these strings.

// Access tokens.
var (
	// AmbiguousKeyLock is auth.Scope.Validate's answer to a positive key lock without
	// a product lock.
	AmbiguousKeyLock = New("A key lock must name one key: set productLock to the key's product when keyLock is positive (key ids are only unique within a product).")
)

// Keys (/api/key/*).
var (
	NotesTooLong              = New("The notes field cannot be more than 500 characters.")
	KeyCustomerNotFound       = New("Customer not found, so current key no longer references any customer.")
	KeyResellerNotFound       = New("The reseller was not found or the id was set to zero. The license will no longer have any reseller associated with it.")
	CreateKeyCustomerNotFound = New("Could not find the customer.")
	TemplateNotFound          = New("Could not find the license template.")
	TemplateFeatureLock       = New("The specified template id is not allowed because feature lock. Please use an access token with feature lock set to 0 or set it to the id of the license template.")
	// LinqAmbiguous refuses to sign a license with SignMethod=0 when a
	// reader could take its text apart in another way (see license.LinqSignable).
	LinqAmbiguous = New("This license cannot be signed with SignMethod=0 because its signed text would be ambiguous. Use SignMethod=1.")
	// MachineCodeRefused refuses an activation whose machine code contains
	// ',', '[' or ']' or has the form of a date (for every SignMethod:
	// such a code would make SignMethod=0 licenses of the key unsignable
	// for everyone).
	MachineCodeRefused = New("The machine code cannot contain ',', '[' or ']' or have the form of a date (yyyy-MM-ddTHH:mm:ss).")
	// AddCustomerDenied is CreateKey's message when a customer-creating option
	// is used without the AddCustomer permission.
	AddCustomerDenied = New("Access denied. Please add 'AddCustomer' permission.")
)

// Products (/api/product/*).
var (
	// SearchTooBroad is returned when a search or an unindexed order needs
	// more work than one call may do.
	SearchTooBroad = New("The search query or order matches too many keys to be answered in one call. Please narrow it (for example with a range of ID, Created or Expires) and try again.")
	BadSearchQuery = New("The search query causes problems. Please check that it follows the standard: https://help.cryptolens.io/web-interface/linq-search-product")
	BadOrderBy     = New("The 'order by' field causes problems. Please check the remarks section for this method.")
)

// Customers (/api/customer/*).
var (
	CustomerCouldNotBeFound    = New("Customer could not be found.")
	CustomerDoesNotExist       = New("Customer does not exist.")
	CustomerNameTooLong        = New("The name of the customer is limited to 100 characters.")
	CustomerEmailTooLong       = New("The email of the customer is limited to 100 characters.")
	CustomerCompanyTooLong     = New("The company name of the customer is limited to 100 characters.")
	CustomerSecretNotSpecified = New("The Secret was not specified.")
	CustomerSecretTaken        = New("A customer with the same secret exists.")
)

// Resellers (/api/reseller/*).
var (
	ResellerBadModel       = New("The model state is not valid. Please check the parameters.")
	ResellerNotFound       = New("Reseller could not be found.")
	ResellerAlreadyRemoved = New("Reseller could not be found. Maybe it was already removed?")
	ResellerNameTooLong    = New("The name cannot be longer than 100 characters.")
	ResellerURLTooLong     = New("The url cannot be longer than 500 characters.")
	ResellerEmailTooLong   = New("The email cannot be longer than 100 characters.")
	ResellerPhoneTooLong   = New("The phone cannot be longer than 100 characters.")
	ResellerDescTooLong    = New("The description cannot be longer than 500 characters.")
)

// Messages (/api/message/*). The reference documents only this message
// besides AccessDenied and BadInput for the message methods; a missing
// message (RemoveMessage) and a Content or Channel over its limit are
// BadInput.
var (
	MessageTimeFormat = New("The timestamp in the Time parameter does not have the correct format.")
)

// NetLicensing licensee API (/core/v2/rest/licensee...). These travel in the
// value of an ERROR info of NetLicensing's response document, not in the Web
// API 3 envelope. LicenseeNotFound and LicenseeProductNotProvided are
// NetLicensing's own texts (as its clients' tests show them); NetLicensing
// documents no others, so the rest are Keyturn's own, in the same style.
var (
	LicenseeNotFound           = New("Requested licensee does not exist")
	LicenseeProductNotProvided = New("Product number is not provided")
	LicenseeProductNotFound    = New("Requested product does not exist")
	LicenseeCustomerNotFound   = New("Requested customer does not exist")
	LicenseeNumberTaken        = New("Licensee with this number already exists")
	LicenseeNumberInvalid      = New("Licensee number must be 1 to 1000 characters without whitespace, control characters or any of / ? # % \\")
	LicenseeNumberReadOnly     = New("Licensee number is read-only once the licensee has a license")
	LicenseeHasLicenses        = New("Licensee has licenses: delete it with forceCascade=true to delete them too")
	LicenseeCustomerTaken      = New("The customer already is a licensee of this product")
	LicenseePropertiesInvalid  = New("Custom properties: at most 50, names of 1 to 100 characters, values of at most 1000 characters, 10000 bytes in all")
	LicenseeSecretTooLong      = New("Licensee secret is limited to 1000 characters")
	LicenseeSourceNotProvided  = New("Source licensee number is not provided")
	LicenseeTransferToSelf     = New("Source and target licensee of a transfer must differ")
	LicenseeTransferProducts   = New("Licensees with sourceLicenseeNumber and licenseeNumber must be assigned to the same product")
	LicenseeNotMarkedTransfer  = New("Source licensee must be marked for transfer")
)

// Payment forms (/api/paymentform/*) and metered billing
// (/api/subscription/*). The messages the reference documents for
// paymentform/CreateSession and subscription/RecordUsage, byte-identical.
var (
	PaymentCurrency          = New("The currency string is incorrect.")
	PaymentFormNotFound      = New("The payment form does not exist.")
	NoPaymentProcessor       = New("No Stripe payment processor was set up.")
	SubscriptionItemNotFound = New("The subscription item id could not be found.")
	UsageNotIncremented      = New("Could not increment the usage counter.")
)

// Bytex vendor API (/API/Public/v1/...). The reference shows the
// {"errors":[...],"response":...} envelope but documents no error texts;
// these are Keyturn's own. Texts about one parameter are built by the
// handler with Newf and name it.
var (
	BytexNoAPIKey          = New("The API key is missing or not valid. Send a Keyturn access token as the apiKey parameter, the X-Api-Key header or Authorization: Bearer.")
	BytexAccessDenied      = New("The API key does not allow this request.")
	BytexUnknownEndpoint   = New("Unknown endpoint.")
	BytexMethod            = New("Use GET or POST.")
	BytexProductNotFound   = New("The product was not found.")
	BytexAccountNotFound   = New("The account was not found.")
	BytexLicenseNotFound   = New("No license was found for this license key.")
	BytexTokenInvalid      = New("The token is not valid: it is unknown, expired or was already used.")
	BytexDiscountsOff      = New("Discounts are not available on this service yet.")
	BytexDiscountCodeTaken = New("A discount with this code exists already.")
	BytexInternal          = New("An internal error occurred. Please try again later.")
	BytexDiscountPercent   = New("percentOff must be a whole percentage from 1 to 99 (100 to 9900).")
	BytexDiscountValidFrom = New("Discount codes work from their creation: a validFrom in the future is not supported.")
)

// Revulytics key registry (POST /auth/login, /auth/logout,
// /licenseKeys/listKeys). The reference documents the statuses (OK,
// SYNTAX ERROR, AUTH ERROR) but no reasons; these reasons are Keyturn's
// own. Reasons about one request member are built by the handler with
// Newf and name the member.
var (
	RevBadJSON        = New("The request body must be a JSON object.")
	RevLoginMissing   = New("Both user and password are required.")
	RevLoginFailed    = New("Wrong user name or password. The password is a Keyturn access token.")
	RevNotLoggedIn    = New("Not logged in: send user and sessionId from POST /auth/login, or its session cookie.")
	RevSessionInvalid = New("The session is not valid or has expired. Please log in again.")
	RevNoPermission   = New("The access token of this session does not allow listing license keys (it needs the GetKeys permission).")
	RevProductDenied  = New("The product does not exist or this user cannot access it.")
	RevProductID      = New("productId must be a positive integer.")
	RevSearchTooBroad = New("The filters or the sorting match too many keys to be answered in one request. Please narrow them (for example with an addedDate or expiryDate range) and try again.")
	RevUsePOST        = New("This request must be a POST.")
	RevUnknownRequest = New("Unknown request.")
	RevInternal       = New("An internal error occurred. Please try again later.")
	RevHiddenByLock   = New("The access token of this session may not see the field this filter or sorting uses (its feature lock hides it).")
)
