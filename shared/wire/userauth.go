package wire

type LoginResult struct {
	LicenseKeys []BasicLicense `json:"licenseKeys"`
}

// User is the wire model of a user (GetUsers).
type User struct {
	Username string  `json:"username"`
	Email    *string `json:"email"`
	Created  string  `json:"created"`
	// CustomerID is 0 when the user is not associated. A user whose
	// customer was removed keeps showing the removed customer's id until
	// Associate or Dissociate changes it.
	CustomerID int64 `json:"customerId"`
}

type GetUsersResult struct {
	Users []User `json:"users"`
}

type ResetPasswordTokenResult struct {
	PasswordResetToken string `json:"passwordResetToken"`
}

// LoginTokenResult is userauth/CreateLoginToken's result.
type LoginTokenResult struct {
	LoginToken string `json:"loginToken"`
	// Expires is when the token stops working (unix seconds).
	Expires int64 `json:"expires"`
}
