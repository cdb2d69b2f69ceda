package revulytics

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"time"

	"github.com/keyturn/keyturn/shared/apierr"
	"github.com/keyturn/keyturn/shared/auth"
	"github.com/keyturn/keyturn/shared/catalog"
	"github.com/keyturn/keyturn/shared/keys"
	"github.com/keyturn/keyturn/shared/license"
)

// Paging bounds: a page holds DefaultLimit keys unless paging.limit asks
// for 1 to MaxLimit.
const (
	DefaultLimit = 100
	MaxLimit     = 1000
)

// UnlimitedQuota is the installQuota of a key without a machine limit
// (MaxNoOfMachines 0): the largest int32, so that overQuotaCount stays
// negative (under quota) as the reference defines it.
const UnlimitedQuota = math.MaxInt32

type listKeysRequest struct {
	sessionRequest
	ProductID json.RawMessage `json:"productId"`
	Filters   json.RawMessage `json:"filters"`
	Sorting   json.RawMessage `json:"sorting"`
	Paging    json.RawMessage `json:"paging"`
}

type listKeysResponse struct {
	Status            string      `json:"status"`
	ReturnedKeysCount int         `json:"returnedKeysCount"`
	MatchingKeysCount int64       `json:"matchingKeysCount"`
	Results           []keyResult `json:"results"`
}

type keyStatus struct {
	Activated bool `json:"activated"`
	Blocked   bool `json:"blocked"`
	Expired   bool `json:"expired"`
	Allowed   bool `json:"allowed"`
}

type editor struct {
	Name    string `json:"name"`
	Surname string `json:"surname"`
	Email   string `json:"email"`
}

type keyResult struct {
	LicenseKey     string     `json:"licenseKey"`
	LicenseType    string     `json:"licenseType"`
	LicenseStatus  keyStatus  `json:"licenseStatus"`
	ExpiryDate     *string    `json:"expiryDate"`
	InstallQuota   int64      `json:"installQuota"`
	InstallCount   int64      `json:"installCount"`
	OverQuotaCount int64      `json:"overQuotaCount"`
	AddedDate      string     `json:"addedDate"`
	AutoCollected  bool       `json:"autoCollected"`
	LastEditedDate *string    `json:"lastEditedDate"`
	LastEditedBy   *jsonValue `json:"lastEditedBy"`
	Notes          *string    `json:"notes,omitempty"`
}

// jsonValue is a pre-encoded JSON value (lastEditedBy is an object, or {}
// for a removed editor).
type jsonValue = json.RawMessage

// Date formats of the reference.
const (
	dateLayout     = "2006-01-02"
	dateTimeLayout = "2006-01-02T15:04:05"
)

// listKeys implements POST /licenseKeys/listKeys.
func (h *Handler) listKeys(ctx context.Context, rq *request) (any, error) {
	var in listKeysRequest
	if err := h.decode(rq, &in); err != nil {
		return nil, err
	}
	p, err := h.resume(ctx, rq, in.sessionRequest)
	if err != nil {
		return nil, err
	}
	if !p.Scope.Allows("GetKeys") {
		return nil, forbidden(apierr.RevNoPermission)
	}
	pid, err := productID(in.ProductID)
	if err != nil {
		return nil, err
	}
	if p.Scope.CheckProduct(pid) != nil {
		return nil, forbidden(apierr.RevProductDenied)
	}
	product, err := h.d.Products.GetProduct(ctx, p.AccountID, pid)
	if errors.Is(err, apierr.NotFound) {
		return nil, forbidden(apierr.RevProductDenied)
	}
	if err != nil {
		return nil, err
	}
	now := h.d.Now().UTC().Truncate(time.Second)
	v := viewer{fd: product.Features, now: now, hide: hiddenBy(p.Scope.FeatureLock)}
	f, err := parseFilters(in.Filters)
	if err != nil {
		return nil, err
	}
	s, err := parseSorting(in.Sorting)
	if err != nil {
		return nil, err
	}
	start, limit, err := parsePaging(in.Paging)
	if err != nil {
		return nil, err
	}
	if err := v.hide.check(f, s); err != nil {
		return nil, err
	}
	out := listKeysResponse{Status: statusOK, Results: []keyResult{}}
	lf, never := f.listFilter(v)
	if never {
		return out, nil
	}
	req := keys.ListRequest{AccountID: p.AccountID, ProductID: pid, Now: now, Offset: start, Limit: limit,
		Filter: lf, Sort: s.listSort(v)}
	if p.Scope.LocksKey() {
		req.KeyID = p.Scope.KeyLock
	}
	res, err := h.d.Listing.Page(ctx, req)
	if err != nil {
		return nil, err
	}
	recs, err := h.complete(ctx, pid, res.Records)
	if err != nil {
		return nil, err
	}
	editors, err := h.editors(ctx, p, recs)
	if err != nil {
		return nil, err
	}
	for _, r := range recs {
		out.Results = append(out.Results, v.result(r, editors))
	}
	out.MatchingKeysCount = res.Total
	out.ReturnedKeysCount = len(out.Results)
	return out, nil
}

// complete re-reads keys that carry only some of their activations, so
// installCount counts them all (up to keys.MaxReadActivations).
func (h *Handler) complete(ctx context.Context, productID int64, recs []keys.Record) ([]keys.Record, error) {
	var partial []string
	for _, r := range recs {
		if r.Partial {
			partial = append(partial, r.Key)
		}
	}
	if len(partial) == 0 {
		return recs, nil
	}
	full, err := h.d.Listing.Licenses(ctx, productID, partial)
	if err != nil {
		return nil, err
	}
	byKey := make(map[string]keys.Record, len(full))
	for _, r := range full {
		byKey[r.Key] = r
	}
	out := make([]keys.Record, len(recs))
	for i, r := range recs {
		if f, ok := byKey[r.Key]; ok {
			r = f
		}
		out[i] = r
	}
	return out, nil
}

// editors resolves the tokens that last edited the listed keys to their
// lastEditedBy objects (one cached token read per distinct editor; {} for
// a token that no longer exists).
func (h *Handler) editors(ctx context.Context, p auth.Principal, recs []keys.Record) (map[string]jsonValue, error) {
	out := map[string]jsonValue{}
	for _, r := range recs {
		id := r.EditedBy
		if id == "" {
			continue
		}
		if _, done := out[id]; done {
			continue
		}
		name, err := h.d.Editors.TokenName(ctx, p.AccountID, id)
		switch {
		case errors.Is(err, apierr.NotFound):
			out[id] = jsonValue(`{}`)
		case err != nil:
			return nil, err
		default:
			b, err := json.Marshal(editorOf(name))
			if err != nil {
				return nil, err
			}
			out[id] = b
		}
	}
	return out, nil
}

// editorOf reads a token name as an editor: "Name Surname <email>" gives
// all three (the surname is the last word before the address); a name
// without an address is the name alone.
func editorOf(tokenName string) editor {
	var e editor
	display := strings.TrimSpace(tokenName)
	if i := strings.LastIndexByte(display, '<'); i >= 0 && strings.HasSuffix(display, ">") {
		e.Email = strings.TrimSpace(display[i+1 : len(display)-1])
		display = strings.TrimSpace(display[:i])
	}
	if e.Email != "" {
		if i := strings.LastIndexByte(display, ' '); i > 0 {
			e.Name, e.Surname = strings.TrimSpace(display[:i]), display[i+1:]
			return e
		}
	}
	e.Name = display
	return e
}

// hidden is what a token's feature lock (the FieldsToReturn bits) hides
// from the registry: the key string, notes, the activations (installCount,
// overQuotaCount, activated), the machine limit (installQuota,
// overQuotaCount) and the allowed machines (allowed). Hidden values are
// emptied, as Web API 3 empties them, and filters and sorts on them are
// refused.
type hidden struct{ key, notes, machines, quota, allowed bool }

func hiddenBy(lock int64) hidden {
	return hidden{key: lock&license.HideKey != 0, notes: lock&license.HideNotes != 0,
		machines: lock&license.HideActivatedMachines != 0, quota: lock&license.HideMaxNoOfMachines != 0,
		allowed: lock&license.HideAllowedMachines != 0}
}

// check refuses filters and sorts on hidden fields.
func (h hidden) check(f filters, s sorting) error {
	uses := map[string]bool{s.field: true}
	if f.licenseKey != nil {
		uses["licenseKey"] = true
	}
	if f.overQuota != nil {
		uses["overQuotaCount"] = true
	}
	for _, o := range f.status {
		if o.activated != nil {
			uses["activated"] = true
		}
		if o.allowed != nil {
			uses["allowed"] = true
		}
	}
	refused := h.key && uses["licenseKey"] ||
		h.machines && (uses["installCount"] || uses["overQuotaCount"] || uses["activated"]) ||
		h.quota && (uses["installQuota"] || uses["overQuotaCount"]) ||
		h.allowed && uses["allowed"]
	if refused {
		return forbidden(apierr.RevHiddenByLock)
	}
	return nil
}

// viewer computes the registry's view of keys of one product.
type viewer struct {
	fd   catalog.FeatureDefinitions
	now  time.Time
	hide hidden
}

// keyView is a key as the registry sees it.
type keyView struct {
	licenseType   string
	timeLimited   bool
	status        keyStatus
	quota, count  int64
	lastEdited    time.Time
	hasLastEdited bool
}

func (v viewer) view(r keys.Record) keyView {
	kv := keyView{licenseType: r.LicenseType}
	if kv.licenseType == "" {
		kv.licenseType = "unknown"
	}
	kv.timeLimited = license.TimeLimited(r.Features, v.fd)
	if !v.hide.machines {
		// As Activate's metadata counts them: every node-locked machine
		// (activatedMachines) and the floating seats in use
		// (usedFloatingMachines); counted here without building the
		// license, since sorts look at a key many times.
		kv.count = int64(len(r.Nodes))
		for _, s := range r.Seats {
			if s.Expires.After(v.now) {
				kv.count++
			}
		}
	}
	switch {
	case v.hide.quota:
	case r.MaxNoOfMachines > 0:
		kv.quota = r.MaxNoOfMachines
	default:
		kv.quota = UnlimitedQuota
	}
	kv.status.Blocked = r.Block
	kv.status.Expired = kv.timeLimited && !r.Expires.After(v.now)
	kv.status.Activated = kv.count > 0 && !kv.status.Blocked && !kv.status.Expired
	kv.status.Allowed = !v.hide.allowed && r.AllowedMachines != nil && strings.TrimSpace(*r.AllowedMachines) != ""
	switch {
	case !r.Edited.IsZero():
		kv.lastEdited, kv.hasLastEdited = r.Edited, true
	case !r.AutoCollected:
		// Uploaded by the vendor before edits were recorded.
		kv.lastEdited, kv.hasLastEdited = r.Created, true
	}
	return kv
}

func (v viewer) result(r keys.Record, editors map[string]jsonValue) keyResult {
	kv := v.view(r)
	out := keyResult{LicenseKey: r.Key, LicenseType: kv.licenseType, LicenseStatus: kv.status,
		InstallQuota: kv.quota, InstallCount: kv.count, OverQuotaCount: kv.count - kv.quota,
		AddedDate: r.Created.UTC().Format(dateTimeLayout), AutoCollected: r.AutoCollected}
	if v.hide.key {
		out.LicenseKey = ""
	}
	if kv.timeLimited {
		d := r.Expires.UTC().Format(dateLayout)
		out.ExpiryDate = &d
	}
	if kv.hasLastEdited {
		d := kv.lastEdited.UTC().Format(dateTimeLayout)
		out.LastEditedDate = &d
	}
	if e, ok := editors[r.EditedBy]; ok {
		out.LastEditedBy = &e
	}
	if r.Notes != nil && *r.Notes != "" && !v.hide.notes {
		out.Notes = r.Notes
	}
	return out
}
