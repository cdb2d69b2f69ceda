// Package wire holds the Web API 3 object models as clients see them
// (camelCase JSON, ISO local date strings for unsigned models) and the
// conversions from domain objects. Field order in these structs is the
// order on the wire.
package wire

import (
	"time"

	"github.com/keyturn/keyturn/shared/catalog"
)

// ISOLayout is the date format of unsigned object models: ISO 8601 without
// zone or fraction (the Java SDK parses creationDate with no offset).
const ISOLayout = "2006-01-02T15:04:05"

// ISOTime formats t (in UTC) with ISOLayout.
func ISOTime(t time.Time) string { return t.UTC().Format(ISOLayout) }

// Feature is one feature definition.
type Feature struct {
	Name string `json:"name"`
	Type int    `json:"type"`
}

// FeatureDefinitions is the product's feature definitions object.
type FeatureDefinitions struct {
	F1                     Feature `json:"f1"`
	F2                     Feature `json:"f2"`
	F3                     Feature `json:"f3"`
	F4                     Feature `json:"f4"`
	F5                     Feature `json:"f5"`
	F6                     Feature `json:"f6"`
	F7                     Feature `json:"f7"`
	F8                     Feature `json:"f8"`
	AllLicensesTimeLimited bool    `json:"allLicensesTimeLimited"`
	BlockExpiredLicenses   bool    `json:"blockExpiredLicenses"`
}

// DataObject is the unsigned data object model.
type DataObject struct {
	ID          int64  `json:"id"`
	Name        string `json:"name"`
	StringValue string `json:"stringValue"`
	IntValue    int64  `json:"intValue"`
}

// Product is the product model of product/GetProducts.
type Product struct {
	ID                 int64              `json:"id"`
	Name               string             `json:"name"`
	CreationDate       string             `json:"creationDate"`
	Description        string             `json:"description"`
	Password           string             `json:"password"`
	IsPublic           bool               `json:"isPublic"`
	KeyAlgorithm       int                `json:"keyAlgorithm"`
	FeatureDefinitions FeatureDefinitions `json:"featureDefinitions"`
	DataObjects        []DataObject       `json:"dataObjects"`
}

// NewFeatureDefinitions converts domain feature definitions.
func NewFeatureDefinitions(d catalog.FeatureDefinitions) FeatureDefinitions {
	f := func(i int) Feature { return Feature{Name: d.Features[i].Name, Type: int(d.Features[i].Type)} }
	return FeatureDefinitions{
		F1: f(0), F2: f(1), F3: f(2), F4: f(3), F5: f(4), F6: f(5), F7: f(6), F8: f(7),
		AllLicensesTimeLimited: d.AllLicensesTimeLimited,
		BlockExpiredLicenses:   d.BlockExpiredLicenses,
	}
}

// NewProduct converts a domain product. dataObjects may be nil (rendered
// as []). Password is always "" (Keyturn issues SKM15 keys only; the field
// exists for SKGL products).
func NewProduct(p catalog.Product, dataObjects []DataObject) Product {
	if dataObjects == nil {
		dataObjects = []DataObject{}
	}
	return Product{
		ID: p.ID, Name: p.Name, CreationDate: ISOTime(p.Created), Description: p.Description,
		Password: "", IsPublic: p.IsPublic, KeyAlgorithm: p.KeyAlgorithm,
		FeatureDefinitions: NewFeatureDefinitions(p.Features), DataObjects: dataObjects,
	}
}

// Message is the message model of message/GetMessages (key order as in the
// reference's example). Created is unix seconds; Content and Channel are
// null when the message was created without them.
type Message struct {
	ID      int64   `json:"id"`
	Content *string `json:"content"`
	Created int64   `json:"created"`
	Channel *string `json:"channel"`
}
