package license

import (
	"testing"

	"github.com/keyturn/keyturn/shared/wire"
)

func TestMaskBasic(t *testing.T) {
	notes := "n"
	full := wire.BasicLicense{ProductID: 9, ID: 1, Key: "K", Notes: &notes, GlobalID: 2, Period: 30}
	tests := []struct {
		fields int64
		want   wire.BasicLicense
	}{
		{0, full},
		{HideID, wire.BasicLicense{ProductID: 9, Key: "K", Notes: &notes, GlobalID: 2, Period: 30}},
		{HideKey, wire.BasicLicense{ProductID: 9, ID: 1, Notes: &notes, GlobalID: 2, Period: 30}},
		{HideNotes, wire.BasicLicense{ProductID: 9, ID: 1, Key: "K", GlobalID: 2, Period: 30}},
		{HideGlobalID, wire.BasicLicense{ProductID: 9, ID: 1, Key: "K", Notes: &notes, Period: 30}},
		{HideID | HideKey | HideNotes | HideGlobalID | HideCustomer, wire.BasicLicense{ProductID: 9, Period: 30}},
		// Bits of fields the Basic model does not carry change nothing.
		{HideCustomer | HideActivatedMachines | HideDataObjects, full},
	}
	for _, tt := range tests {
		if got := MaskBasic(full, tt.fields); got != tt.want {
			t.Errorf("MaskBasic(%d) = %+v, want %+v", tt.fields, got, tt.want)
		}
	}
}
