package dataobj_test

import (
	"encoding/base64"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/keyturn/keyturn/shared/apierr"
	"github.com/keyturn/keyturn/shared/dataobj"
)

func TestParseRefType(t *testing.T) {
	tests := []struct {
		raw     string
		want    dataobj.RefType
		wantErr error
	}{
		{"", dataobj.User, nil},
		{"0", dataobj.User, nil},
		{"1", dataobj.Product, nil},
		{" 2 ", dataobj.Key, nil},
		{"User", dataobj.User, nil},
		{"product", dataobj.Product, nil},
		{"KEY", dataobj.Key, nil},
		{"3", 0, apierr.DataReferencerType},
		{"-1", 0, apierr.DataReferencerType},
		{"99999999999999999999", 0, apierr.DataReferencerType},
		{"MachineCode", 0, apierr.DataReferencerType},
		{"1.5", 0, apierr.DataReferencerType},
	}
	for _, tt := range tests {
		got, err := dataobj.ParseRefType(tt.raw)
		if !errors.Is(err, tt.wantErr) || err == nil && got != tt.want {
			t.Errorf("ParseRefType(%q) = %v, %v; want %v, %v", tt.raw, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestValidateNew(t *testing.T) {
	tests := []struct {
		name, value string
		maxName     int
		want        error
	}{
		{"", "", dataobj.MaxName, nil},
		{strings.Repeat("n", 100), strings.Repeat("s", 10000), dataobj.MaxName, nil},
		{strings.Repeat("é", 100), "", dataobj.MaxName, nil}, // characters, not bytes
		{strings.Repeat("n", 101), "", dataobj.MaxName, apierr.DataNameTooLong},
		{"", strings.Repeat("s", 10001), dataobj.MaxName, apierr.DataStringValueTooLong},
		{strings.Repeat("n", 10), "", dataobj.MaxMachineCodeName, nil},
		{strings.Repeat("n", 11), "", dataobj.MaxMachineCodeName, apierr.DataMachineNameTooLong},
		{"ok", strings.Repeat("ü", 10000), dataobj.MaxMachineCodeName, nil},
	}
	for _, tt := range tests {
		if got := dataobj.ValidateNew(tt.name, tt.value, tt.maxName); !errors.Is(got, tt.want) || (got == nil) != (tt.want == nil) {
			t.Errorf("ValidateNew(%d chars, %d chars, %d) = %v, want %v", len([]rune(tt.name)), len([]rune(tt.value)), tt.maxName, got, tt.want)
		}
	}
}

func TestClampInt32(t *testing.T) {
	tests := []struct {
		in   int64
		want int32
	}{
		{0, 0}, {-7, -7}, {math.MaxInt32, math.MaxInt32}, {math.MinInt32, math.MinInt32},
		{math.MaxInt32 + 1, 0}, {math.MinInt32 - 1, 0}, {math.MaxInt64, 0}, {math.MinInt64, 0},
	}
	for _, tt := range tests {
		if got := dataobj.ClampInt32(tt.in); got != tt.want {
			t.Errorf("ClampInt32(%d) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

func TestDeltas(t *testing.T) {
	tests := []struct {
		name   string
		d      dataobj.Delta
		from   int32
		want   int32
		wantOK bool
	}{
		{"increment", dataobj.IncrementDelta(5, false, 0), 1, 6, true},
		{"increment ignores the sign", dataobj.IncrementDelta(-5, false, 0), 1, 6, true},
		{"increment to max", dataobj.IncrementDelta(1, false, 0), math.MaxInt32 - 1, math.MaxInt32, true},
		{"increment overflow", dataobj.IncrementDelta(1, false, 0), math.MaxInt32, math.MaxInt32, false},
		{"increment by huge", dataobj.IncrementDelta(math.MaxInt64, false, 0), math.MinInt32, math.MinInt32, false},
		{"increment by min int64", dataobj.IncrementDelta(math.MinInt64, false, 0), 0, 0, false},
		{"increment up to bound (inclusive)", dataobj.IncrementDelta(1, true, 10), 9, 10, true},
		{"increment at bound", dataobj.IncrementDelta(1, true, 10), 10, 10, false},
		{"increment past bound", dataobj.IncrementDelta(5, true, 10), 8, 8, false},
		{"increment above a bound already passed", dataobj.IncrementDelta(0, true, 10), 12, 12, false},
		{"increment zero at bound", dataobj.IncrementDelta(0, true, 10), 10, 10, true},
		{"increment with huge bound", dataobj.IncrementDelta(1, true, math.MaxInt64), 0, 1, true},
		{"increment with min bound", dataobj.IncrementDelta(1, true, math.MinInt64), 0, 0, false},
		{"bound ignored when disabled", dataobj.IncrementDelta(1, false, 10), 10, 11, true},
		{"decrement", dataobj.DecrementDelta(5, false, 0), 11, 6, true},
		{"decrement ignores the sign", dataobj.DecrementDelta(-5, false, 0), 11, 6, true},
		{"decrement to min", dataobj.DecrementDelta(1, false, 0), math.MinInt32 + 1, math.MinInt32, true},
		{"decrement overflow", dataobj.DecrementDelta(1, false, 0), math.MinInt32, math.MinInt32, false},
		{"decrement down to bound", dataobj.DecrementDelta(1, true, 0), 1, 0, true},
		{"decrement at bound", dataobj.DecrementDelta(1, true, 0), 0, 0, false},
		{"decrement with negative bound", dataobj.DecrementDelta(3, true, -2), 1, -2, true},
		{"decrement with min bound", dataobj.DecrementDelta(1, true, math.MinInt64), 0, -1, true},
		{"log", dataobj.LogDelta([]int64{1, 1, -1}), 5, 6, true},
		{"log refuses an intermediate overflow", dataobj.LogDelta([]int64{2, -2}), math.MaxInt32 - 1, math.MaxInt32 - 1, false},
		{"log refuses an intermediate underflow", dataobj.LogDelta([]int64{-2, 3}), math.MinInt32 + 1, math.MinInt32 + 1, false},
		{"log reaching max", dataobj.LogDelta([]int64{-1, 2}), math.MaxInt32 - 1, math.MaxInt32, true},
		{"empty log", dataobj.LogDelta(nil), 3, 3, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := tt.d.Apply(tt.from)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("%+v applied to %d = %d, %v; want %d, %v", tt.d, tt.from, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestCheckStep(t *testing.T) {
	tests := []struct {
		lock, step int64
		ok         bool
	}{
		{0, 1 << 33, true}, {1, 1, true}, {1, 2, false}, {5, 0, true}, {-1, 0, false}, {-1, 1, false},
	}
	for _, tt := range tests {
		err := dataobj.CheckStep(tt.lock, tt.step)
		if (err == nil) != tt.ok || err != nil && !errors.Is(err, apierr.DataStepNotAllowed) {
			t.Errorf("CheckStep(lock %d, step %d) = %v, want ok=%v", tt.lock, tt.step, err, tt.ok)
		}
	}
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func TestParseLog(t *testing.T) {
	tests := []struct {
		name    string
		data    string
		want    []int64
		wantErr error
	}{
		{"documented example", "W3siSW50VmFsdWUiOjEsIlRpbWUiOjE3NjcyMjU2MDB9LHsiSW50VmFsdWUiOjF9LHsiSW50VmFsdWUiOi0xfV0=", []int64{1, 1, -1}, nil},
		{"case-insensitive names", b64(`[{"intvalue":3,"time":0}]`), []int64{3}, nil},
		{"no padding", strings.TrimRight(b64(`[{"IntValue":-2}]`), "="), []int64{-2}, nil},
		{"surrounding blanks", " " + b64(`[{"IntValue":1}]`) + "\n", []int64{1}, nil},
		{"int32 extremes", b64(`[{"IntValue":2147483647},{"IntValue":-2147483648}]`), []int64{math.MaxInt32, math.MinInt32}, nil},
		{"empty", "", nil, apierr.DataEmpty},
		{"blank", "  ", nil, apierr.DataEmpty},
		{"empty log", b64(`[]`), nil, apierr.DataEmpty},
		{"not base64", "!!!", nil, apierr.DataCorrupted},
		{"not json", b64(`hello`), nil, apierr.DataCorrupted},
		{"null", b64(`null`), nil, apierr.DataCorrupted},
		{"object, not array", b64(`{"IntValue":1}`), nil, apierr.DataCorrupted},
		{"bare numbers", b64(`[1,2]`), nil, apierr.DataCorrupted},
		{"unknown field", b64(`[{"IntValue":1,"Foo":2}]`), nil, apierr.DataCorrupted},
		{"missing IntValue", b64(`[{"Time":5}]`), nil, apierr.DataCorrupted},
		{"too large", b64(`[{"IntValue":2147483648}]`), nil, apierr.DataCorrupted},
		{"fraction", b64(`[{"IntValue":1.5}]`), nil, apierr.DataCorrupted},
		{"negative time", b64(`[{"IntValue":1,"Time":-1}]`), nil, apierr.DataCorrupted},
		{"trailing data", b64(`[{"IntValue":1}] []`), nil, apierr.DataCorrupted},
		{"1000 entries", b64("[" + strings.TrimSuffix(strings.Repeat(`{"IntValue":1},`, 1000), ",") + "]"), nil, nil},
		{"1001 entries", b64("[" + strings.TrimSuffix(strings.Repeat(`{"IntValue":1},`, 1001), ",") + "]"), nil, apierr.BadInput},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := dataobj.ParseLog(tt.data)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Errorf("ParseLog = %v, %v; want error %v", got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseLog: %v", err)
			}
			if tt.want != nil && !equal(got, tt.want) {
				t.Errorf("ParseLog = %v, want %v", got, tt.want)
			}
		})
	}
	one, two := int64(1), int64(-2)
	enc := dataobj.EncodeLog([]dataobj.LogEntry{{IntValue: &one}, {IntValue: &two}})
	if got, err := dataobj.ParseLog(enc); err != nil || !equal(got, []int64{1, -2}) {
		t.Errorf("ParseLog(EncodeLog) = %v, %v", got, err)
	}
}

func equal(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestWireType(t *testing.T) {
	for typ, want := range map[dataobj.RefType]int{dataobj.User: 0, dataobj.Product: 1, dataobj.Key: 2, dataobj.MachineCode: 2} {
		if got := (dataobj.Ref{Type: typ}).WireType(); got != want {
			t.Errorf("WireType(%d) = %d, want %d", typ, got, want)
		}
	}
}
