package customers

import (
	"strings"
	"testing"

	"github.com/keyturn/keyturn/shared/apierr"
)

func TestCustomerFieldsValidate(t *testing.T) {
	neg := int64(-1)
	tests := []struct {
		name string
		f    CustomerFields
		want error
	}{
		{"empty", CustomerFields{}, nil},
		{"100 chars", CustomerFields{Name: new(strings.Repeat("ä", 100)), Email: new(strings.Repeat("e", 100)), CompanyName: new(strings.Repeat("c", 100))}, nil},
		{"long name", CustomerFields{Name: new(strings.Repeat("n", 101))}, apierr.CustomerNameTooLong},
		{"long email", CustomerFields{Email: new(strings.Repeat("e", 101))}, apierr.CustomerEmailTooLong},
		{"long company", CustomerFields{CompanyName: new(strings.Repeat("c", 101))}, apierr.CustomerCompanyTooLong},
		{"long notes", CustomerFields{Notes: new(strings.Repeat("x", 1001))}, apierr.BadInput},
		{"negative devices", CustomerFields{MaxNoOfDevices: &neg}, apierr.BadInput},
	}
	for _, tt := range tests {
		if got := tt.f.Validate(); got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestResellerFieldsApply(t *testing.T) {
	tests := []struct {
		name string
		f    ResellerFields
		want error
	}{
		{"ok", ResellerFields{Name: new("n"), URL: new(strings.Repeat("u", 500)), Description: new(strings.Repeat("d", 500))}, nil},
		{"long name", ResellerFields{Name: new(strings.Repeat("n", 101))}, apierr.ResellerNameTooLong},
		{"long url", ResellerFields{URL: new(strings.Repeat("u", 501))}, apierr.ResellerURLTooLong},
		{"long email", ResellerFields{Email: new(strings.Repeat("e", 101))}, apierr.ResellerEmailTooLong},
		{"long phone", ResellerFields{Phone: new(strings.Repeat("p", 101))}, apierr.ResellerPhoneTooLong},
		{"long description", ResellerFields{Description: new(strings.Repeat("d", 501))}, apierr.ResellerDescTooLong},
		{"huge metadata", ResellerFields{Metadata: map[string]string{"k": strings.Repeat("v", MaxMetadataBytes)}}, apierr.ResellerBadModel},
	}
	for _, tt := range tests {
		if got := tt.f.Validate(); got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
	r := Reseller{Metadata: map[string]string{"keep": "1", "drop": "2"}}
	ResellerFields{Phone: new("+46"), Metadata: map[string]string{"drop": "", "add": "3"}}.Apply(&r)
	if got, want := len(r.Metadata), 2; got != want || r.Metadata["keep"] != "1" || r.Metadata["add"] != "3" || *r.Phone != "+46" {
		t.Errorf("Apply: %+v", r)
	}
}
