// Package data implements the data object API group of Web API 3
// (/api/data/*): AddDataObject, ListDataObjects, IncrementIntValue,
// DecrementIntValue, SetIntValue, SetStringValue and RemoveDataObject, each
// in its general, ...ToKey and ...ToMachineCode form, and
// UploadValuesToKey. Handlers bind parameters, call the dataobj service and
// return the wire model; every rule lives in package dataobj.
package data

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/keyturn/keyturn/shared/apierr"
	"github.com/keyturn/keyturn/shared/dataobj"
	"github.com/keyturn/keyturn/shared/webapi"
	"github.com/keyturn/keyturn/shared/wire"
)

// Deps are the data group's dependencies.
type Deps struct {
	// Objects is the data object service.
	Objects *dataobj.Service
}

type handlers struct{ svc *dataobj.Service }

// variants are the method-name suffixes of the three forms.
var variants = []struct {
	suffix  string
	variant dataobj.Variant
}{
	{"", dataobj.General},
	{"ToKey", dataobj.ToKey},
	{"ToMachineCode", dataobj.ToMachineCode},
}

// Group returns the data API group. Every form of a method requires the
// base method's permission (AddDataObjectToKey needs AddDataObject, ...);
// UploadValuesToKey authorizes itself (see dataobj.Service.Upload).
func Group(d Deps) webapi.Group {
	h := handlers{svc: d.Objects}
	bases := []struct {
		name   string
		handle func(dataobj.Variant) webapi.HandlerFunc
	}{
		{"AddDataObject", h.add},
		{"ListDataObjects", h.list},
		{"IncrementIntValue", h.changeInt(true)},
		{"DecrementIntValue", h.changeInt(false)},
		{"SetIntValue", h.setInt},
		{"SetStringValue", h.setString},
		{"RemoveDataObject", h.remove},
	}
	var methods []webapi.Method
	for _, b := range bases {
		for _, v := range variants {
			methods = append(methods, webapi.Method{Name: b.name + v.suffix, Permission: b.name, Handle: b.handle(v.variant)})
		}
	}
	methods = append(methods, webapi.Method{Name: "UploadValuesToKey", Handle: h.upload})
	return webapi.Group{Name: "data", Methods: methods}
}

type listResult[T any] struct {
	DataObjects []T `json:"dataObjects"`
}

// where binds the referencer parameters of a variant: ReferencerType and
// ReferencerId (general), ProductId and Key (...ToKey), and MachineCode
// (...ToMachineCode).
func where(c *webapi.Call, v dataobj.Variant) (dataobj.Where, error) {
	w := dataobj.Where{Variant: v}
	var err error
	if v == dataobj.General {
		raw, _ := c.Params.String("ReferencerType")
		if w.RefType, err = dataobj.ParseRefType(raw); err != nil {
			return w, err
		}
		w.RefID, err = c.Params.Int32("ReferencerId", 0)
		return w, err
	}
	if w.ProductID, err = c.Params.Int32("ProductId", 0); err != nil {
		return w, err
	}
	w.Key, _ = c.Params.String("Key")
	if v == dataobj.ToMachineCode {
		w.MachineCode, _ = c.Params.String("MachineCode")
	}
	return w, nil
}

// which binds the object parameters: Id, or (key-specific forms) Name.
func which(c *webapi.Call, v dataobj.Variant) (dataobj.Which, error) {
	w := dataobj.Which{Where: dataobj.Where{Variant: v}}
	var err error
	if v != dataobj.General {
		if w.Where, err = where(c, v); err != nil {
			return w, err
		}
		w.Name, _ = c.Params.String("Name")
	}
	w.ID, err = c.Params.Int("Id", 0)
	return w, err
}

func (h handlers) add(v dataobj.Variant) webapi.HandlerFunc {
	return func(ctx context.Context, c *webapi.Call) (any, error) {
		w, err := where(c, v)
		if err != nil {
			return nil, err
		}
		var in dataobj.NewObject
		in.Name, _ = c.Params.String("Name")
		in.StringValue, _ = c.Params.String("StringValue")
		iv, err := c.Params.Int32("IntValue", 0)
		if err != nil || iv != int64(int32(iv)) {
			return nil, apierr.BadInput
		}
		in.IntValue = int32(iv)
		if in.CheckForDuplicates, err = c.Params.Bool("CheckForDuplicates", false); err != nil {
			return nil, err
		}
		o, err := h.svc.Add(ctx, Caller(c.Principal), w, in)
		if err != nil {
			return nil, err
		}
		return wire.DataObjectIDResult{ID: o.ID}, nil
	}
}

func (h handlers) list(v dataobj.Variant) webapi.HandlerFunc {
	return func(ctx context.Context, c *webapi.Call) (any, error) {
		w, err := where(c, v)
		if err != nil {
			return nil, err
		}
		contains, _ := c.Params.String("Contains")
		showAll := false
		if v == dataobj.General {
			if showAll, err = c.Params.Bool("ShowAll", false); err != nil {
				return nil, err
			}
		}
		objs, err := h.svc.List(ctx, Caller(c.Principal), w, contains, showAll)
		if err != nil {
			return nil, err
		}
		if showAll {
			out := listResult[wire.DataObjectWithReferencer]{DataObjects: make([]wire.DataObjectWithReferencer, 0, len(objs))}
			for _, o := range objs {
				out.DataObjects = append(out.DataObjects, wire.DataObjectWithReferencer{ReferencerID: o.Ref.ID, ReferencerType: o.Ref.WireType(),
					ID: o.ID, Name: o.Name, StringValue: o.StringValue, IntValue: o.IntValue})
			}
			return out, nil
		}
		out := listResult[wire.ListedDataObject]{DataObjects: make([]wire.ListedDataObject, 0, len(objs))}
		for _, o := range objs {
			out.DataObjects = append(out.DataObjects, wire.ListedDataObject{ID: o.ID, Name: o.Name, StringValue: o.StringValue, IntValue: o.IntValue})
		}
		return out, nil
	}
}

func (h handlers) changeInt(increment bool) func(dataobj.Variant) webapi.HandlerFunc {
	return func(v dataobj.Variant) webapi.HandlerFunc {
		return func(ctx context.Context, c *webapi.Call) (any, error) {
			w, err := which(c, v)
			if err != nil {
				return nil, err
			}
			value, err := c.Params.Int32("IntValue", 0)
			if err != nil {
				return nil, err
			}
			enable, err := c.Params.Bool("EnableBound", false)
			if err != nil {
				return nil, err
			}
			bound, err := c.Params.Int32("Bound", 0)
			if err != nil {
				return nil, err
			}
			if increment {
				_, err = h.svc.Increment(ctx, Caller(c.Principal), w, value, enable, bound)
			} else {
				_, err = h.svc.Decrement(ctx, Caller(c.Principal), w, value, enable, bound)
			}
			return nil, err
		}
	}
}

func (h handlers) setInt(v dataobj.Variant) webapi.HandlerFunc {
	return func(ctx context.Context, c *webapi.Call) (any, error) {
		w, err := which(c, v)
		if err != nil {
			return nil, err
		}
		value, err := intOrOutOfRange(c.Params, "IntValue")
		if err != nil {
			return nil, err
		}
		_, err = h.svc.SetInt(ctx, Caller(c.Principal), w, value)
		return nil, err
	}
}

// intOrOutOfRange binds an integer parameter (0 when absent); an integer
// too large for int64 yields a value outside the int32 range rather than
// an error, so that SetIntValue assigns 0 as documented.
func intOrOutOfRange(p webapi.Params, name string) (int64, error) {
	raw, ok := p.String(name)
	if !ok {
		return 0, nil
	}
	n, err := strconv.ParseInt(strings.TrimSpace(raw), 10, 64)
	if errors.Is(err, strconv.ErrRange) {
		return 1 << 32, nil
	}
	if err != nil {
		return 0, apierr.BadInput.Wrap(err)
	}
	return n, nil
}

func (h handlers) setString(v dataobj.Variant) webapi.HandlerFunc {
	return func(ctx context.Context, c *webapi.Call) (any, error) {
		w, err := which(c, v)
		if err != nil {
			return nil, err
		}
		s, _ := c.Params.String("StringValue")
		_, err = h.svc.SetString(ctx, Caller(c.Principal), w, s)
		return nil, err
	}
}

func (h handlers) remove(v dataobj.Variant) webapi.HandlerFunc {
	return func(ctx context.Context, c *webapi.Call) (any, error) {
		w, err := which(c, v)
		if err != nil {
			return nil, err
		}
		return nil, h.svc.Remove(ctx, Caller(c.Principal), w)
	}
}

func (h handlers) upload(ctx context.Context, c *webapi.Call) (any, error) {
	if s := c.Principal.Scope; !s.Allows("UploadValuesToKey") && !s.Allows("IncrementIntValue") && !s.Allows("DecrementIntValue") {
		return nil, apierr.AccessDenied
	}
	w, err := which(c, dataobj.ToKey)
	if err != nil {
		return nil, err
	}
	data, _ := c.Params.String("Data")
	_, err = h.svc.Upload(ctx, Caller(c.Principal), w, data)
	return nil, err
}
