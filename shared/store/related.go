package store

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/keyturn/keyturn/shared/keys"
	"github.com/keyturn/keyturn/shared/license"
)

// LicenseRelated reads what a license of r shows besides the key item:
// its customer and (withReseller) reseller in one BatchGetItem, and its
// data objects with one Query, the two in parallel. Nothing is read for
// parts the key does not have, so a key without customer, reseller or
// data objects costs no round trip. A customer or reseller that no longer
// exists shows as null.
func (s *Store) LicenseRelated(ctx context.Context, accountID int64, r keys.Record, withReseller bool) (license.Related, error) {
	var rel license.Related
	type objects struct {
		list []license.DataObject
		err  error
	}
	var objCh chan objects
	if r.DataObjectCount > 0 {
		objCh = make(chan objects, 1)
		go func() {
			list, err := s.keyDataObjectsForLicense(ctx, accountID, r.GlobalID)
			objCh <- objects{list, err}
		}()
	}
	var ks []map[string]types.AttributeValue
	if r.CustomerID != 0 {
		ks = append(ks, key(accountPK(accountID), customerSK(r.CustomerID)))
	}
	if withReseller && r.ResellerID != 0 {
		ks = append(ks, key(accountPK(accountID), resellerSK(r.ResellerID)))
	}
	if len(ks) > 0 {
		items, err := s.batchGet(ctx, ks)
		if err != nil {
			return rel, err
		}
		for _, m := range items {
			sk, _ := m["sk"].(*types.AttributeValueMemberS)
			if sk == nil {
				continue
			}
			switch sk.Value {
			case customerSK(r.CustomerID):
				var it customerItem
				if err := attributevalue.UnmarshalMap(m, &it); err != nil {
					return rel, fmt.Errorf("unmarshal customer: %w", err)
				}
				rel.Customer = &license.Customer{ID: it.ID, Name: it.Name, Email: it.Email, CompanyName: it.CompanyName, Created: it.customer().Created}
			case resellerSK(r.ResellerID):
				var it resellerItem
				if err := attributevalue.UnmarshalMap(m, &it); err != nil {
					return rel, fmt.Errorf("unmarshal reseller: %w", err)
				}
				v := it.reseller()
				str := func(p *string) string {
					if p == nil {
						return ""
					}
					return *p
				}
				rel.Reseller = &license.Reseller{ID: v.ID, InviteID: v.InviteID, ResellerUserID: v.ResellerUserID, Created: v.Created,
					Name: str(v.Name), URL: str(v.URL), Email: str(v.Email), Phone: str(v.Phone), Description: str(v.Description)}
			}
		}
	}
	if objCh != nil {
		o := <-objCh
		if o.err != nil {
			return rel, o.err
		}
		rel.DataObjects = o.list
	}
	return rel, nil
}
