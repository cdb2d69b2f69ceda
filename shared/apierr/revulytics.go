package apierr

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
