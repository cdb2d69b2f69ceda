package wire

// LicenseTemplate is the wire model of a license template.
type LicenseTemplate struct {
	ID         int64  `json:"id"`
	Name       string `json:"name"`
	ProductID  int64  `json:"productId"`
	Parameters string `json:"parameters"`
}

type GetLicenseTemplatesResult struct {
	LicenseTemplates []LicenseTemplate `json:"licenseTemplates"`
}
