package netlicensing

import (
	"bytes"
	"encoding/xml"
	"strconv"
	"time"

	"github.com/keyturn/keyturn/shared/webapi"
)

// Document is NetLicensing's response document: infos (errors and
// warnings), items of properties and nested lists, paging attributes on
// listings and the validation's ttl. It renders as JSON or XML.
type Document struct {
	Infos []Info
	Items []Item
	// Page is set on listings.
	Page *PageInfo
	// TTL is set on validations.
	TTL *time.Time
}

// Info is one info entry (Type ERROR, WARNING or INFO).
type Info struct {
	ID, Type, Value string
}

// Item is one result object.
type Item struct {
	Type       string
	Properties []Property
	Lists      []List
}

// List is a named group of properties inside an item.
type List struct {
	Name       string
	Properties []Property
	Lists      []List
}

// Property is one name/value pair (NetLicensing sends every value as a
// string).
type Property struct {
	Name, Value string
}

// PageInfo are a listing's paging attributes.
type PageInfo struct {
	PageNumber, ItemsNumber int
	TotalPages, TotalItems  int64
	HasNext                 bool
}

// Timestamp formats t as NetLicensing does: ISO 8601 in UTC with
// milliseconds.
func Timestamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func prop(name, value string) Property { return Property{Name: name, Value: value} }

func boolProp(name string, v bool) Property { return prop(name, strconv.FormatBool(v)) }

// JSON shapes, in NetLicensing's member order.
type (
	jsonDoc struct {
		Signature *string   `json:"signature"`
		Infos     jsonInfos `json:"infos"`
		Items     jsonItems `json:"items"`
		ID        *string   `json:"id"`
		TTL       *string   `json:"ttl"`
	}
	jsonInfos struct {
		Info []jsonInfo `json:"info"`
	}
	jsonInfo struct {
		Value string `json:"value"`
		ID    string `json:"id"`
		Type  string `json:"type"`
	}
	jsonItems struct {
		Item        []jsonItem `json:"item"`
		PageNumber  *int       `json:"pagenumber"`
		ItemsNumber *int       `json:"itemsnumber"`
		TotalPages  *int64     `json:"totalpages"`
		TotalItems  *int64     `json:"totalitems"`
		HasNext     *bool      `json:"hasnext"`
	}
	jsonItem struct {
		Property []jsonProperty `json:"property"`
		List     []jsonList     `json:"list"`
		Type     string         `json:"type"`
	}
	jsonList struct {
		Property []jsonProperty `json:"property"`
		List     []jsonList     `json:"list"`
		Name     string         `json:"name"`
	}
	jsonProperty struct {
		Value string `json:"value"`
		Name  string `json:"name"`
	}
)

func jsonProps(ps []Property) []jsonProperty {
	out := make([]jsonProperty, len(ps))
	for i, p := range ps {
		out[i] = jsonProperty{Value: p.Value, Name: p.Name}
	}
	return out
}

func jsonLists(ls []List) []jsonList {
	out := make([]jsonList, len(ls))
	for i, l := range ls {
		out[i] = jsonList{Property: jsonProps(l.Properties), List: jsonLists(l.Lists), Name: l.Name}
	}
	return out
}

// MarshalJSON renders the document as NetLicensing's JSON.
func (d Document) MarshalJSON() ([]byte, error) {
	j := jsonDoc{Infos: jsonInfos{Info: make([]jsonInfo, len(d.Infos))}, Items: jsonItems{Item: make([]jsonItem, len(d.Items))}}
	for i, in := range d.Infos {
		j.Infos.Info[i] = jsonInfo{Value: in.Value, ID: in.ID, Type: in.Type}
	}
	for i, it := range d.Items {
		j.Items.Item[i] = jsonItem{Property: jsonProps(it.Properties), List: jsonLists(it.Lists), Type: it.Type}
	}
	if p := d.Page; p != nil {
		j.Items.PageNumber, j.Items.ItemsNumber = &p.PageNumber, &p.ItemsNumber
		j.Items.TotalPages, j.Items.TotalItems, j.Items.HasNext = &p.TotalPages, &p.TotalItems, &p.HasNext
	}
	if d.TTL != nil {
		s := Timestamp(*d.TTL)
		j.TTL = &s
	}
	return webapi.Marshal(j)
}

// xmlNamespace is the namespace of NetLicensing's context schema.
const xmlNamespace = "http://netlicensing.labs64.com/schema/context"

// XML renders the document as NetLicensing's XML (text and
// attributes escaped; characters XML cannot carry become U+FFFD).
func (d Document) XML() []byte {
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` + "\n")
	b.WriteString(`<netlicensing xmlns="` + xmlNamespace + `"`)
	if d.TTL != nil {
		attr(&b, "ttl", Timestamp(*d.TTL))
	}
	b.WriteString(">")
	if len(d.Infos) == 0 {
		b.WriteString("<infos/>")
	} else {
		b.WriteString("<infos>")
		for _, in := range d.Infos {
			b.WriteString("<info")
			attr(&b, "id", in.ID)
			attr(&b, "type", in.Type)
			b.WriteString(">")
			text(&b, in.Value)
			b.WriteString("</info>")
		}
		b.WriteString("</infos>")
	}
	b.WriteString("<items")
	if p := d.Page; p != nil {
		attr(&b, "pagenumber", strconv.Itoa(p.PageNumber))
		attr(&b, "itemsnumber", strconv.Itoa(p.ItemsNumber))
		attr(&b, "totalpages", strconv.FormatInt(p.TotalPages, 10))
		attr(&b, "totalitems", strconv.FormatInt(p.TotalItems, 10))
		attr(&b, "hasnext", strconv.FormatBool(p.HasNext))
	}
	if len(d.Items) == 0 {
		b.WriteString("/>")
	} else {
		b.WriteString(">")
		for _, it := range d.Items {
			b.WriteString("<item")
			attr(&b, "type", it.Type)
			b.WriteString(">")
			xmlBody(&b, it.Properties, it.Lists)
			b.WriteString("</item>")
		}
		b.WriteString("</items>")
	}
	b.WriteString("</netlicensing>")
	return b.Bytes()
}

func xmlBody(b *bytes.Buffer, ps []Property, ls []List) {
	for _, p := range ps {
		b.WriteString("<property")
		attr(b, "name", p.Name)
		b.WriteString(">")
		text(b, p.Value)
		b.WriteString("</property>")
	}
	for _, l := range ls {
		b.WriteString("<list")
		attr(b, "name", l.Name)
		b.WriteString(">")
		xmlBody(b, l.Properties, l.Lists)
		b.WriteString("</list>")
	}
}

func attr(b *bytes.Buffer, name, value string) {
	b.WriteString(" " + name + `="`)
	text(b, value)
	b.WriteString(`"`)
}

func text(b *bytes.Buffer, s string) { _ = xml.EscapeText(b, []byte(s)) }
