package wire

import "strings"

// StringSign result: licenseKey is base64 of the license JSON.
type StringSignResult struct {
	LicenseKey string    `json:"licenseKey"`
	Signature  *string   `json:"signature,omitempty"`
	Metadata   *Metadata `json:"metadata,omitempty"`
}

// LinqSign result: licenseKey is an object carrying its own signature.
type LinqSignResult struct {
	ProductID  int64       `json:"productId"`
	LicenseKey LinqLicense `json:"licenseKey"`
	Metadata   *Metadata   `json:"metadata,omitempty"`
}

// CreatedKey is one key of a CreateKey result. In the multi-key form every
// element carries its own result and message, as the reference shows.
type CreatedKey struct {
	Key     string `json:"key"`
	Result  int    `json:"result"`
	Message string `json:"message"`
}

// CreateKeyResult is CreateKey's answer for one key.
type CreateKeyResult struct {
	Key        string `json:"key"`
	CustomerID *int64 `json:"customerId,omitempty"`
}

// PlainText is the answer with format=plaintext: the key.
func (r CreateKeyResult) PlainText() string { return r.Key }

// CreateKeysResult is CreateKey's answer for several keys.
type CreateKeysResult struct {
	Keys       []CreatedKey `json:"keys"`
	CustomerID *int64       `json:"customerId,omitempty"`
}

// PlainText is the answer with format=plaintext: the keys, one per line.
func (r CreateKeysResult) PlainText() string {
	ks := make([]string, len(r.Keys))
	for i, k := range r.Keys {
		ks[i] = k.Key
	}
	return strings.Join(ks, "\n")
}

// CreateKeyFromTemplateResult is CreateKeyFromTemplate's answer.
type CreateKeyFromTemplateResult struct {
	Key         string `json:"key"`
	RawResponse string `json:"rawResponse"`
}
