package wire

// GetProductsResult is product/GetProducts' answer.
type GetProductsResult struct {
	Products []Product `json:"products"`
}

// GetKeysResult is product/GetKeys' answer.
type GetKeysResult struct {
	LicenseKeys []UnsignedLicense `json:"licenseKeys"`
	Returned    int               `json:"returned"`
	Total       int64             `json:"total"`
	PageCount   int64             `json:"pageCount"`
}
