package license

import (
	"context"
	"sync"
	"time"

	"github.com/keyturn/keyturn/shared/customers"
	"github.com/keyturn/keyturn/shared/dataobj"
	"github.com/keyturn/keyturn/shared/keys"
)

// Sources reads what licenses show besides their key items.
type Sources interface {
	// CustomersByID returns the account's customers with those ids
	// (missing ones skipped).
	CustomersByID(ctx context.Context, accountID int64, ids []int64) ([]customers.Customer, error)
	// ResellersByID returns the account's resellers with those ids
	// (missing ones skipped).
	ResellersByID(ctx context.Context, accountID int64, ids []int64) ([]customers.Reseller, error)
	// KeyDataObjects returns the data objects of the key with the global
	// id, in id order.
	KeyDataObjects(ctx context.Context, accountID, globalID int64) ([]dataobj.Object, error)
}

// Assembler turns stored keys into licenses with their customer, reseller
// and data objects.
type Assembler struct {
	src Sources
}

// NewAssembler returns an Assembler reading from src.
func NewAssembler(src Sources) *Assembler { return &Assembler{src: src} }

// Build returns the license of r (see FromRecord) with its related
// objects (see Related).
func (a *Assembler) Build(ctx context.Context, accountID int64, r keys.Record, now time.Time, model int64, floatingMid string) (License, error) {
	rel, err := a.Related(ctx, accountID, []keys.Record{r}, model >= 3)
	if err != nil {
		return License{}, err
	}
	return FromRecord(r, now, model, floatingMid).WithRelated(rel[0]), nil
}

// Related reads what licenses of recs show besides their key items: the
// customers and (withReseller) resellers in one BatchGetItem each for all
// of recs, and the data objects of each key that has some (one Query per
// such key, in parallel). Nothing is read for parts no key has, so keys
// without customer, reseller or data objects cost no round trip. A
// customer or reseller that no longer exists shows as null.
func (a *Assembler) Related(ctx context.Context, accountID int64, recs []keys.Record, withReseller bool) ([]Related, error) {
	out := make([]Related, len(recs))
	var custIDs, resIDs []int64
	seenC, seenR := map[int64]bool{}, map[int64]bool{}
	for _, r := range recs {
		if r.CustomerID != 0 && !seenC[r.CustomerID] {
			seenC[r.CustomerID] = true
			custIDs = append(custIDs, r.CustomerID)
		}
		if withReseller && r.ResellerID != 0 && !seenR[r.ResellerID] {
			seenR[r.ResellerID] = true
			resIDs = append(resIDs, r.ResellerID)
		}
	}
	var wg sync.WaitGroup
	errs := make([]error, len(recs)+2)
	custs := map[int64]*Customer{}
	resellers := map[int64]*Reseller{}
	if len(custIDs) > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cs, err := a.src.CustomersByID(ctx, accountID, custIDs)
			errs[0] = err
			for _, c := range cs {
				custs[c.ID] = &Customer{ID: c.ID, Name: c.Name, Email: c.Email, CompanyName: c.CompanyName, Created: c.Created}
			}
		}()
	}
	if len(resIDs) > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rs, err := a.src.ResellersByID(ctx, accountID, resIDs)
			errs[1] = err
			str := func(p *string) string {
				if p == nil {
					return ""
				}
				return *p
			}
			for _, v := range rs {
				resellers[v.ID] = &Reseller{ID: v.ID, InviteID: v.InviteID, ResellerUserID: v.ResellerUserID, Created: v.Created,
					Name: str(v.Name), URL: str(v.URL), Email: str(v.Email), Phone: str(v.Phone), Description: str(v.Description)}
			}
		}()
	}
	sem := make(chan struct{}, 8)
	for i, r := range recs {
		if r.DataObjectCount <= 0 {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			objs, err := a.src.KeyDataObjects(ctx, accountID, r.GlobalID)
			if err != nil {
				errs[i+2] = err
				return
			}
			list := make([]DataObject, len(objs))
			for j, o := range objs {
				list[j] = DataObject{ID: o.ID, Name: o.Name, StringValue: o.StringValue, IntValue: int64(o.IntValue)}
			}
			out[i].DataObjects = list
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	for i, r := range recs {
		out[i].Customer = custs[r.CustomerID]
		if withReseller {
			out[i].Reseller = resellers[r.ResellerID]
		}
	}
	return out, nil
}
