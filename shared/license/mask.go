package license

import "github.com/keyturn/keyturn/shared/wire"

// FieldsToReturn bits (and the token feature lock used for them). The
// reference does not publish the values: Keyturn uses one bit per field
// marked "Hide?", in the reference's order (WIRE-COMPAT section 4).
// Hiding a field empties its value but never removes its key.
const (
	HideID                       = 1
	HideKey                      = 2
	HideNotes                    = 4
	HideGlobalID                 = 8
	HideCustomer                 = 16
	HideActivatedMachines        = 32
	HideMaxNoOfMachines          = 64
	HideAllowedMachines          = 128
	HideDataObjects              = 256
	HideReseller                 = 512
	HideMetaActivatedMachines    = 1024
	HideMetaLicenseStatus        = 2048
	HideMetaUsedFloatingMachines = 4096
	HideMetaSignature            = 8192
)

// EffectiveFields returns the mask to apply: a non-zero feature lock on
// the token takes precedence over the FieldsToReturn parameter.
func EffectiveFields(requested, tokenFeatureLock int64) int64 {
	if tokenFeatureLock != 0 {
		return tokenFeatureLock
	}
	return requested
}

// Mask empties the fields hidden by fields. When ActivatedMachines is
// hidden, only the activating machine (wire form, if any) is listed.
func Mask(l License, fields int64, activating string) License {
	if fields&HideID != 0 {
		l.ID = 0
	}
	if fields&HideKey != 0 {
		l.Key = ""
	}
	if fields&HideNotes != 0 {
		l.Notes = nil
	}
	if fields&HideGlobalID != 0 {
		l.GlobalID = 0
	}
	if fields&HideCustomer != 0 {
		l.Customer = nil
	}
	if fields&HideActivatedMachines != 0 {
		var keep []Activation
		for _, m := range l.Machines {
			if activating != "" && m.WireMid() == activating {
				keep = append(keep, m)
				break
			}
		}
		l.Machines = keep
	}
	if l.Machines == nil {
		l.Machines = []Activation{}
	}
	if fields&HideMaxNoOfMachines != 0 {
		l.MaxNoOfMachines = 0
	}
	if fields&HideAllowedMachines != 0 {
		l.AllowedMachines = nil
	}
	if fields&HideDataObjects != 0 || l.DataObjects == nil {
		l.DataObjects = []DataObject{}
	}
	if fields&HideReseller != 0 {
		l.Reseller = nil
	}
	return l
}

// MaskBasic empties the fields of a Basic License Key (customer and user
// listings) hidden by fields: of the maskable fields the model carries
// ID, Key, Notes and GlobalID.
func MaskBasic(b wire.BasicLicense, fields int64) wire.BasicLicense {
	if fields&HideID != 0 {
		b.ID = 0
	}
	if fields&HideKey != 0 {
		b.Key = ""
	}
	if fields&HideNotes != 0 {
		b.Notes = nil
	}
	if fields&HideGlobalID != 0 {
		b.GlobalID = 0
	}
	return b
}
