package wire

// LinqCustomer is the customer of the camelCase models.
type LinqCustomer struct {
	ID          int64   `json:"id"`
	Name        string  `json:"name"`
	Email       *string `json:"email"`
	CompanyName *string `json:"companyName"`
	Created     string  `json:"created"`
}

// LinqMachine is an activation of the camelCase models.
type LinqMachine struct {
	Mid             string  `json:"mid"`
	IP              string  `json:"ip"`
	Time            string  `json:"time"`
	FriendlyName    *string `json:"friendlyName,omitempty"`
	FloatingExpires *string `json:"floatingExpires,omitempty"`
}

// LinqDataObject is a data object of the camelCase models.
type LinqDataObject struct {
	ID          int64  `json:"id"`
	Name        string `json:"name"`
	StringValue string `json:"stringValue"`
	IntValue    int64  `json:"intValue"`
}

// LinqReseller is the reseller of the camelCase models (model 3).
type LinqReseller struct {
	ID             int64  `json:"id"`
	InviteID       int64  `json:"inviteId"`
	ResellerUserID int64  `json:"resellerUserId"`
	Created        string `json:"created"`
	Name           string `json:"name"`
	URL            string `json:"url"`
	Email          string `json:"email"`
	Phone          string `json:"phone"`
	Description    string `json:"description"`
}

// LinqLicense is the licenseKey object of SignMethod=0, carrying its own
// signature (null when unsigned).
type LinqLicense struct {
	ID                int64            `json:"id"`
	Key               string           `json:"key"`
	Created           string           `json:"created"`
	Expires           string           `json:"expires"`
	Period            int64            `json:"period"`
	F1                bool             `json:"f1"`
	F2                bool             `json:"f2"`
	F3                bool             `json:"f3"`
	F4                bool             `json:"f4"`
	F5                bool             `json:"f5"`
	F6                bool             `json:"f6"`
	F7                bool             `json:"f7"`
	F8                bool             `json:"f8"`
	Notes             *string          `json:"notes"`
	Block             bool             `json:"block"`
	GlobalID          int64            `json:"globalId"`
	Customer          *LinqCustomer    `json:"customer"`
	ActivatedMachines []LinqMachine    `json:"activatedMachines"`
	TrialActivation   bool             `json:"trialActivation"`
	MaxNoOfMachines   int64            `json:"maxNoOfMachines"`
	AllowedMachines   *string          `json:"allowedMachines"`
	DataObjects       []LinqDataObject `json:"dataObjects"`
	Reseller          **LinqReseller   `json:"reseller,omitempty"`
	SignDate          *string          `json:"signDate"`
	Signature         *string          `json:"signature"`
}

// UnsignedLicense is the camelCase license of listings (product/GetKeys):
// productId first, signDate and signature null.
type UnsignedLicense struct {
	ProductID int64 `json:"productId"`
	LinqLicense
}

// LicenseStatus is metadata's licenseStatus.
type LicenseStatus struct {
	IsValid             bool  `json:"isValid"`
	ReasonForInvalidity int   `json:"reasonForInvalidity"`
	Trial               bool  `json:"trial"`
	TimeLimited         bool  `json:"timeLimited"`
	TimeLeft            int64 `json:"timeLeft"`
}

// Metadata is the metadata object of Activate and GetKey (Metadata=true).
// Signature is absent unless the response is signed.
type Metadata struct {
	ActivatedMachines    int64         `json:"activatedMachines"`
	LicenseStatus        LicenseStatus `json:"licenseStatus"`
	UsedFloatingMachines int64         `json:"usedFloatingMachines"`
	Signature            *string       `json:"signature,omitempty"`
}

// BasicLicense is the Basic License Key model (customer and user listings:
// GetCustomerLicenses, userauth/Login): camelCase, ISO dates, no machines.
type BasicLicense struct {
	ProductID int64   `json:"productId"`
	ID        int64   `json:"id"`
	Key       string  `json:"key"`
	Created   string  `json:"created"`
	Expires   string  `json:"expires"`
	Period    int64   `json:"period"`
	F1        bool    `json:"f1"`
	F2        bool    `json:"f2"`
	F3        bool    `json:"f3"`
	F4        bool    `json:"f4"`
	F5        bool    `json:"f5"`
	F6        bool    `json:"f6"`
	F7        bool    `json:"f7"`
	F8        bool    `json:"f8"`
	Notes     *string `json:"notes"`
	Block     bool    `json:"block"`
	GlobalID  int64   `json:"globalId"`
}
