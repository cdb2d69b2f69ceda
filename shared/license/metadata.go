package license

import (
	"context"
	"encoding/base64"
	"fmt"
	"time"

	"github.com/keyturn/keyturn/shared/catalog"
	"github.com/keyturn/keyturn/shared/keys"
	"github.com/keyturn/keyturn/shared/signing"
	"github.com/keyturn/keyturn/shared/wire"
)

// Reasons for invalidity.
const (
	ReasonNone    = 0
	ReasonExpired = 1
	ReasonBlocked = 2
)

// ComputeMetadata derives metadata: trial when a trial-type feature is set,
// time-limited when AllLicensesTimeLimited or a time-limited feature is
// set; invalid when blocked (2) or time-limited and expired (1); timeLeft
// is the whole days left (rounded down; 0 when not time-limited or
// expired); activatedMachines counts node-locked machines and
// usedFloatingMachines the floating ones whose seat has not expired.
func ComputeMetadata(l License, fd catalog.FeatureDefinitions, now time.Time) wire.Metadata {
	var st wire.LicenseStatus
	st.TimeLimited = TimeLimited(l.Features, fd)
	for i, f := range fd.Features {
		if l.Features[i] && f.Type == catalog.FeatureTrial {
			st.Trial = true
		}
	}
	expired := st.TimeLimited && !l.Expires.After(now)
	switch {
	case l.Block:
		st.ReasonForInvalidity = ReasonBlocked
	case expired:
		st.ReasonForInvalidity = ReasonExpired
	}
	st.IsValid = st.ReasonForInvalidity == ReasonNone
	if st.TimeLimited && !expired {
		st.TimeLeft = int64(l.Expires.Sub(now) / (24 * time.Hour))
	}
	m := wire.Metadata{LicenseStatus: st}
	for _, a := range l.Machines {
		if !a.Floating {
			m.ActivatedMachines++
		} else if a.FloatingExpires.After(now) {
			m.UsedFloatingMachines++
		}
	}
	return m
}

// TimeLimited reports whether a license with these features is
// time-limited under the product's feature definitions: all of the
// product's licenses are, or a time-limited feature is set. Only then does
// its expiry apply (a license that is not time-limited is permanent).
func TimeLimited(features [8]bool, fd catalog.FeatureDefinitions) bool {
	if fd.AllLicensesTimeLimited {
		return true
	}
	for i, f := range fd.Features {
		if features[i] && f.Type == catalog.FeatureTimeLimited {
			return true
		}
	}
	return false
}

// StatusOf is a stored key's metadata at now (validity, time limit,
// activated node-locked machines and used floating seats), as Activate and
// GetKey compute it.
func StatusOf(r keys.Record, fd catalog.FeatureDefinitions, now time.Time) wire.Metadata {
	return ComputeMetadata(FromRecord(r, now, 3, ""), fd, now)
}

// MaskMetadata empties the metadata fields hidden by fields.
func MaskMetadata(m wire.Metadata, fields int64) wire.Metadata {
	if fields&HideMetaActivatedMachines != 0 {
		m.ActivatedMachines = 0
	}
	if fields&HideMetaLicenseStatus != 0 {
		m.LicenseStatus = wire.LicenseStatus{}
	}
	if fields&HideMetaUsedFloatingMachines != 0 {
		m.UsedFloatingMachines = 0
	}
	return m
}

type signedMetadata struct {
	Data      string `json:"Data"`
	Signature string `json:"Signature"`
	Date      int64  `json:"Date"`
	Version   int    `json:"Version"`
}

// SignMetadata returns metadata's signature field (WIRE-COMPAT section 5):
// standard base64 of {"Data":<b64 of the metadata JSON without
// signature>,"Signature":<b64 RSASSA-PKCS1-v1_5 SHA-512 over those bytes>,
// "Date":<unix>,"Version":1}.
func SignMetadata(ctx context.Context, s signing.Signer, m wire.Metadata, signDate time.Time) (string, error) {
	m.Signature = nil
	data, err := marshal(m)
	if err != nil {
		return "", err
	}
	sig, err := signing.SignSHA512(ctx, s, data)
	if err != nil {
		return "", fmt.Errorf("sign metadata: %w", err)
	}
	out, err := marshal(signedMetadata{Data: base64.StdEncoding.EncodeToString(data), Signature: base64.StdEncoding.EncodeToString(sig), Date: unix(signDate), Version: 1})
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(out), nil
}
