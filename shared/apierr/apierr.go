// Package apierr is the single error vocabulary of Keyturn. Domain code
// returns these errors; the protocol edge translates them, once, into the
// documented Web API 3 message. Any other error is an internal fault: it is
// logged with the request id and shown to the client only as a generic message.
package apierr

import (
	"context"
	"errors"
	"fmt"
	"net"
)

// Error is an error whose Message is shown to the API client verbatim.
type Error struct {
	// Message is the exact client-facing text (byte-identical to the
	// reference where the reference documents it).
	Message string
	// cause is an optional underlying error kept for logs, never shown.
	cause error
}

func (e *Error) Error() string { return e.Message }

// Unwrap returns the underlying cause, if any.
func (e *Error) Unwrap() error { return e.cause }

// Is reports whether target is an *Error with the same message, so that
// errors.Is(err, apierr.AccessDenied) works for wrapped copies too.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Message == e.Message
}

// New returns a client-facing error with the given message.
func New(message string) *Error { return &Error{Message: message} }

// Wrap returns a copy of e that carries cause for logging.
func (e *Error) Wrap(cause error) *Error { return &Error{Message: e.Message, cause: cause} }

// Newf returns a client-facing error with a formatted message.
func Newf(format string, args ...any) *Error { return &Error{Message: fmt.Sprintf(format, args...)} }

// The documented messages. Clients (C and C++ SDKs in particular) map these
// exact strings to error codes: never change a byte.
var (
	Unauthenticated    = New("Unable to authenticate.")
	AccessDenied       = New("Access denied.")
	BadInput           = New("The input parameters were incorrect.")
	ProductNotFound    = New("Could not find the product.")
	KeyNotFound        = New("Could not find the key.")
	KeyBlocked         = New("The key is blocked and cannot be accessed.")
	LimitReached       = New("Cannot activate the new device as the limit has been reached.")
	NeverActivated     = New("Either the machine code was never activated or key activation feature was never set up.")
	MethodNotFound     = New("The method could not be found.")
	Internal           = New("An internal error occurred. Please try again later.")
	KeyLockNotNegative = New("The Key Lock has to be set to '-1' for this method to work.")
	// Unavailable is Keyturn's own answer (HTTP 503) when a dependency
	// (DynamoDB, KMS) did not answer within the request's deadline; see
	// TimedOut.
	Unavailable = New("The service did not answer in time. Please try again.")
)

// ListTooLong answers a listing that would return more entries than one
// call may (MaxListed), instead of letting the call run out of time.
var ListTooLong = New("The list is too long to be returned in one call (more than 10000 entries). Please narrow it (for example with Limit, Search or a customer) and try again.")

// MaxListed is the most entries an unpaged listing returns.
const MaxListed = 10000

// TimedOut reports whether err comes from a deadline: the request's
// context ran out, or a network call (one attempt of an AWS SDK call) hit
// its timeout.
func TimedOut(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// NotFound is returned by stores when an item does not exist. Domain code
// translates it to the method's documented not-found message.
var NotFound = errors.New("not found")

// Conflict is returned by stores when a conditional write fails because the
// item already exists or changed concurrently.
var Conflict = errors.New("conflict")

// Message returns the client-facing message of err and whether err is a
// client-facing error at all.
func Message(err error) (string, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e.Message, true
	}
	return "", false
}

// Data objects (/api/data/*). The messages the reference documents for the
// data object methods, byte-identical. A missing data object is reported as
// DataNotEnoughPermission: the reference documents no not-found message for
// data objects, and a caller must not learn whether an id exists in another
// account. Exceeding EnableBound/Bound is reported as DataInt32Limit, the only
// documented "limit was reached" message of Increment/DecrementIntValue.
// DataMachineNameTooLong is not in the reference (it documents only the
// 100-character message, but a 10-character limit for the machine code
// variant); it follows the documented message's pattern.
var (
	DataNotEnoughPermission = New("Not enough permission.")
	DataProductNotFound     = New("Not enough permission and/or product not found.")
	DataKeyNotFound         = New("Not enough permission and/or key not found.")
	DataMachineNotFound     = New("Not enough permission and/or machine code not found.")
	DataReferencerType      = New("Incorrect 'ReferencerType'. It can either be 0 (for a User), 1 (for a Product) and 2 (for a Key).")
	DataNameTooLong         = New("The 'Name' should have the size of max 100 chars.")
	DataMachineNameTooLong  = New("The 'Name' should have the size of max 10 chars.")
	DataStringValueTooLong  = New("The 'StringValue' should have the size of max 10000 chars.")
	DataObjectLimit         = New("The limit of the number of data objects was achieved.")
	DataDuplicateName       = New("Data object with the same name already exists.")
	DataStepNotAllowed      = New("The increment/decrement value not allowed by security settings.")
	DataInt32Limit          = New("Cannot increment/decrement value since the limit was reached for an int32.")
	DataEmpty               = New("Data parameter was empty.")
	DataCorrupted           = New("Data parameter was corrupted.")
)

// End users (/api/userauth/*). The messages the reference documents for the
// user authentication methods, byte-identical. UserAuthFailed answers every
// failed Login alike (unknown user, wrong password, too many attempts), so
// a caller cannot tell which; PasswordNotUpdated does the same for
// ChangePassword.
var (
	UserAuthFailed       = New("Unable to authenticate user.")
	NoUsernameOrPassword = New("No username or password supplied.")
	NoUsername           = New("No username supplied.")
	UsernameTaken        = New("Username already exists. Please pick a different one.")
	UserCustomerNotFound = New("Customer not found.")
	UsernameDoesNotExist = New("Username does not exist.")
	PasswordNotUpdated   = New("Could not update the password.")
	ResetTokenFailed     = New("Could not generate the password reset token.")
	UserNotFound         = New("The user could not be found.")
	// CustomerHasUser is Keyturn's own (the reference documents no
	// message): Register or Associate with a customer that has
	// AllowMultipleUserAssociation off and a user already.
	CustomerHasUser = New("The customer already has a user and does not allow multiple user associations.")
	// PasswordBusy is Keyturn's own: the process is already running as
	// many password hashes as it can afford, or the username's attempts
	// are all in flight, and a short wait did not free one. Nothing was
	// checked or changed and no failed attempt was counted; the client
	// may retry.
	PasswordBusy = New("Too many password checks are in progress. Please try again in a moment.")
)
