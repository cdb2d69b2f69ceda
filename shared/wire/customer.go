package wire

type AddCustomerResult struct {
	CustomerID int64   `json:"customerId"`
	PortalLink *string `json:"portalLink,omitempty"`
	Secret     string  `json:"secret"`
}

type EditCustomerResult struct {
	CustomerID int64   `json:"customerId"`
	PortalLink *string `json:"portalLink,omitempty"`
	Secret     *string `json:"secret,omitempty"`
}

type GetCustomersResult struct {
	Customers         []Customer `json:"customers"`
	ResellerCustomers []Customer `json:"resellerCustomers"`
	VisibleCustomers  []Customer `json:"visibleCustomers"`
}

type CustomerLicensesResult struct {
	LicenseKeys any `json:"licenseKeys"`
	// Metadata is a GlobalId -> Metadata map when requested (nil: absent).
	Metadata any `json:"metadata,omitempty"`
}
