// Package license renders licenses the way Cryptolens clients read them:
// the StringSign form (SignMethod=1: base64 of compact PascalCase JSON with
// an RSA PKCS#1 v1.5 SHA-256 signature), the LinqSign form (SignMethod=0),
// the unsigned camelCase model of listings, field masking (FieldsToReturn)
// and metadata with its SHA-512 signature. Byte rules follow
// ../shared/reference/WIRE-COMPAT.md. Pure domain: no storage, no AWS.
package license

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"

	"github.com/keyturn/keyturn/shared/signing"
)

// License is a license as clients see it.
type License struct {
	ProductID       int64
	ID              int64
	Key             string
	Created         time.Time
	Expires         time.Time
	Period          int64
	Features        [8]bool
	Notes           *string
	Block           bool
	GlobalID        int64
	Customer        *Customer
	Machines        []Activation
	TrialActivation bool
	MaxNoOfMachines int64
	AllowedMachines *string
	DataObjects     []DataObject
	Reseller        *Reseller
}

// Customer is the customer object inside a license.
type Customer struct {
	ID          int64
	Name        string
	Email       *string
	CompanyName *string
	Created     time.Time
}

// Reseller is the reseller object inside a license (model 3).
type Reseller struct {
	ID             int64
	InviteID       int64
	ResellerUserID int64
	Created        time.Time
	Name           string
	URL            string
	Email          string
	Phone          string
	Description    string
}

// DataObject is a data object inside a license.
type DataObject struct {
	ID          int64
	Name        string
	StringValue string
	IntValue    int64
}

// Activation is one activated machine. Floating activations are shown
// with their prefix (see WireMid).
type Activation struct {
	Mid             string
	IP              string
	Time            time.Time
	FriendlyName    string
	Floating        bool
	Overdraft       bool
	FloatingExpires time.Time
}

// WireMid is the machine code as clients see it: "floating:" or, for an
// overdraft seat, the 19-character "floating-overdraft:" before floating
// machine codes.
func (a Activation) WireMid() string {
	switch {
	case a.Floating && a.Overdraft:
		return "floating-overdraft:" + a.Mid
	case a.Floating:
		return "floating:" + a.Mid
	}
	return a.Mid
}

// unix returns t as non-negative unix seconds (zero time -> 0).
func unix(t time.Time) int64 {
	if t.IsZero() || t.Unix() < 0 {
		return 0
	}
	return t.Unix()
}

type jsonCustomer struct {
	ID          int64   `json:"Id"`
	Name        string  `json:"Name"`
	Email       *string `json:"Email"`
	CompanyName *string `json:"CompanyName"`
	Created     int64   `json:"Created"`
}

type jsonReseller struct {
	ID             int64  `json:"Id"`
	InviteID       int64  `json:"InviteId"`
	ResellerUserID int64  `json:"ResellerUserId"`
	Created        int64  `json:"Created"`
	Name           string `json:"Name"`
	URL            string `json:"Url"`
	Email          string `json:"Email"`
	Phone          string `json:"Phone"`
	Description    string `json:"Description"`
}

type jsonDataObject struct {
	ID          int64  `json:"Id"`
	Name        string `json:"Name"`
	StringValue string `json:"StringValue"`
	IntValue    int64  `json:"IntValue"`
}

type machine1 struct {
	Mid  string `json:"Mid"`
	IP   string `json:"IP"`
	Time int64  `json:"Time"`
}

type machine2 struct {
	Mid          string `json:"Mid"`
	IP           string `json:"IP"`
	Time         int64  `json:"Time"`
	FriendlyName string `json:"FriendlyName"`
}

type machine3 struct {
	Mid             string `json:"Mid"`
	IP              string `json:"IP"`
	Time            int64  `json:"Time"`
	FriendlyName    string `json:"FriendlyName"`
	FloatingExpires int64  `json:"FloatingExpires"`
}

type jsonLicense struct {
	ProductID         int64            `json:"ProductId"`
	ID                int64            `json:"ID"`
	Key               string           `json:"Key"`
	Created           int64            `json:"Created"`
	Expires           int64            `json:"Expires"`
	Period            int64            `json:"Period"`
	F1                bool             `json:"F1"`
	F2                bool             `json:"F2"`
	F3                bool             `json:"F3"`
	F4                bool             `json:"F4"`
	F5                bool             `json:"F5"`
	F6                bool             `json:"F6"`
	F7                bool             `json:"F7"`
	F8                bool             `json:"F8"`
	Notes             *string          `json:"Notes"`
	Block             bool             `json:"Block"`
	GlobalID          int64            `json:"GlobalId"`
	Customer          *jsonCustomer    `json:"Customer"`
	ActivatedMachines any              `json:"ActivatedMachines"`
	TrialActivation   bool             `json:"TrialActivation"`
	MaxNoOfMachines   int64            `json:"MaxNoOfMachines"`
	AllowedMachines   *string          `json:"AllowedMachines"`
	DataObjects       []jsonDataObject `json:"DataObjects"`
	// Reseller is present (possibly as null) only at model 3.
	Reseller *json.RawMessage `json:"Reseller,omitempty"`
	SignDate int64            `json:"SignDate"`
}

func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// machines renders ActivatedMachines for a model version (1, 2 or 3).
func machines(ms []Activation, model int, wire func(Activation) string) any {
	switch {
	case model >= 3:
		out := make([]machine3, 0, len(ms))
		for _, m := range ms {
			out = append(out, machine3{Mid: wire(m), IP: m.IP, Time: unix(m.Time), FriendlyName: m.FriendlyName, FloatingExpires: unix(m.FloatingExpires)})
		}
		return out
	case model == 2:
		out := make([]machine2, 0, len(ms))
		for _, m := range ms {
			out = append(out, machine2{Mid: wire(m), IP: m.IP, Time: unix(m.Time), FriendlyName: m.FriendlyName})
		}
		return out
	}
	out := make([]machine1, 0, len(ms))
	for _, m := range ms {
		out = append(out, machine1{Mid: wire(m), IP: m.IP, Time: unix(m.Time)})
	}
	return out
}

// LicenseJSON returns the compact PascalCase JSON of l for SignMethod=1
// (WIRE-COMPAT section 4): fields in the fixed order, dates as unix
// seconds, ActivatedMachines keys by model version, Reseller only at model
// 3 and above. An absent AllowedMachines is rendered as "" (as the hosted
// service does).
func LicenseJSON(l License, model int, signDate time.Time) ([]byte, error) {
	f := l.Features
	j := jsonLicense{
		ProductID: l.ProductID, ID: l.ID, Key: l.Key, Created: unix(l.Created), Expires: unix(l.Expires), Period: l.Period,
		F1: f[0], F2: f[1], F3: f[2], F4: f[3], F5: f[4], F6: f[5], F7: f[6], F8: f[7],
		Notes: l.Notes, Block: l.Block, GlobalID: l.GlobalID,
		ActivatedMachines: machines(l.Machines, model, Activation.WireMid),
		TrialActivation:   l.TrialActivation, MaxNoOfMachines: l.MaxNoOfMachines, AllowedMachines: l.AllowedMachines,
		DataObjects: make([]jsonDataObject, 0, len(l.DataObjects)), SignDate: unix(signDate),
	}
	if j.AllowedMachines == nil {
		empty := ""
		j.AllowedMachines = &empty
	}
	if c := l.Customer; c != nil {
		j.Customer = &jsonCustomer{ID: c.ID, Name: c.Name, Email: c.Email, CompanyName: c.CompanyName, Created: unix(c.Created)}
	}
	for _, d := range l.DataObjects {
		j.DataObjects = append(j.DataObjects, jsonDataObject(d))
	}
	if model >= 3 {
		raw := json.RawMessage("null")
		if r := l.Reseller; r != nil {
			b, err := marshal(jsonReseller{ID: r.ID, InviteID: r.InviteID, ResellerUserID: r.ResellerUserID, Created: unix(r.Created),
				Name: r.Name, URL: r.URL, Email: r.Email, Phone: r.Phone, Description: r.Description})
			if err != nil {
				return nil, err
			}
			raw = b
		}
		j.Reseller = &raw
	}
	return marshal(j)
}

// SignedLicense returns licenseKey (standard base64 of LicenseJSON) and
// signature (standard base64 of RSASSA-PKCS1-v1_5 / SHA-256 over the JSON
// bytes) for SignMethod=1.
func SignedLicense(ctx context.Context, s signing.Signer, l License, model int, signDate time.Time) (licenseKey, signature string, err error) {
	js, err := LicenseJSON(l, model, signDate)
	if err != nil {
		return "", "", err
	}
	sig, err := signing.SignSHA256(ctx, s, js)
	if err != nil {
		return "", "", fmt.Errorf("sign license: %w", err)
	}
	return base64.StdEncoding.EncodeToString(js), base64.StdEncoding.EncodeToString(sig), nil
}

// VerifyLicense checks a StringSign response with pub and returns the
// license JSON. It returns an error for bad base64 or a bad signature.
func VerifyLicense(pub *rsa.PublicKey, licenseKey, signature string) ([]byte, error) {
	js, err := base64.StdEncoding.DecodeString(licenseKey)
	if err != nil {
		return nil, fmt.Errorf("licenseKey is not base64: %w", err)
	}
	sig, err := base64.StdEncoding.DecodeString(signature)
	if err != nil {
		return nil, fmt.Errorf("signature is not base64: %w", err)
	}
	if err := signing.Verify(pub, crypto.SHA256, js, sig); err != nil {
		return nil, err
	}
	return js, nil
}
