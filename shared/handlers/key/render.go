package key

import (
	"context"
	"encoding/base64"
	"time"

	"github.com/keyturn/keyturn/shared/apierr"
	"github.com/keyturn/keyturn/shared/catalog"
	"github.com/keyturn/keyturn/shared/keys"
	"github.com/keyturn/keyturn/shared/license"
	"github.com/keyturn/keyturn/shared/signing"
	"github.com/keyturn/keyturn/shared/webapi"
	"github.com/keyturn/keyturn/shared/wire"
)

// Signers gives the signer of an account's current key.
type Signers interface {
	SignerFor(ctx context.Context, accountID int64) (signing.Signer, error)
}

// Sign methods.
const (
	signLinq   = 0
	signString = 1
)

var signMethods = map[string]int64{"LinqSign": signLinq, "StringSign": signString}

// licenseOf is the license of r with its customer, reseller (model 3) and
// data objects.
func (h handlers) licenseOf(ctx context.Context, accountID int64, r keys.Record, now time.Time, model int64, floatingMid string) (license.License, error) {
	if h.d.Assembler == nil {
		return license.FromRecord(r, now, model, floatingMid), nil
	}
	return h.d.Assembler.Build(ctx, accountID, r, now, model, floatingMid)
}

// renderOptions are the output parameters shared by Activate and GetKey.
type renderOptions struct {
	sign       bool
	signMethod int64
	metadata   bool
	fields     int64
	model      int64
}

func bindRender(c *webapi.Call) (renderOptions, error) {
	var o renderOptions
	var err error
	if o.sign, err = c.Params.Bool("Sign", false); err != nil {
		return o, err
	}
	if o.signMethod, err = c.Params.Enum("SignMethod", signMethods, signLinq); err != nil {
		return o, err
	}
	if o.signMethod != signLinq && o.signMethod != signString {
		return o, apierr.BadInput
	}
	if o.metadata, err = c.Params.Bool("Metadata", false); err != nil {
		return o, err
	}
	fields, err := c.Params.Int32("FieldsToReturn", 0)
	if err != nil {
		return o, err
	}
	o.fields = license.EffectiveFields(fields, c.Principal.Scope.FeatureLock)
	if o.model, err = c.Params.ModelVersion(3); err != nil {
		return o, err
	}
	return o, nil
}

// render builds the Activate/GetKey result for l.
func (h handlers) render(ctx context.Context, accountID int64, p catalog.Product, l license.License, activating string, o renderOptions, now time.Time) (any, error) {
	var signer signing.Signer
	if o.sign {
		var err error
		if signer, err = h.d.Signers.SignerFor(ctx, accountID); err != nil {
			return nil, err
		}
	}
	var meta *wire.Metadata
	if o.metadata {
		m := license.MaskMetadata(license.ComputeMetadata(l, p.Features, now), o.fields)
		if o.sign && o.fields&license.HideMetaSignature == 0 {
			sig, err := license.SignMetadata(ctx, signer, m, now)
			if err != nil {
				return nil, err
			}
			m.Signature = &sig
		}
		meta = &m
	}
	l = license.Mask(l, o.fields, activating)
	if o.signMethod == signString {
		if !o.sign {
			js, err := license.LicenseJSON(l, int(o.model), now)
			if err != nil {
				return nil, err
			}
			return wire.StringSignResult{LicenseKey: base64.StdEncoding.EncodeToString(js), Metadata: meta}, nil
		}
		lk, sig, err := license.SignedLicense(ctx, signer, l, int(o.model), now)
		if err != nil {
			return nil, err
		}
		return wire.StringSignResult{LicenseKey: lk, Signature: &sig, Metadata: meta}, nil
	}
	ll, err := license.LinqSigned(ctx, signer, l, int(o.model), now)
	if err != nil {
		return nil, err
	}
	return wire.LinqSignResult{ProductID: l.ProductID, LicenseKey: ll, Metadata: meta}, nil
}
