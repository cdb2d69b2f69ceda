package payments

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"testing"
	"time"

	"github.com/keyturn/keyturn/shared/apierr"
)

func TestParseAmount(t *testing.T) {
	tests := []struct {
		in, currency string
		want         int64
		ok           bool
	}{
		{"12.5", "usd", 1250, true},
		{"12.50", "usd", 1250, true},
		{"12", "usd", 1200, true},
		{"0.01", "eur", 1, true},
		{"12.500", "usd", 1250, true}, // trailing zeros beyond the decimals
		{"1200", "jpy", 1200, true},
		{"1200.0", "jpy", 1200, true},
		{"1.234", "kwd", 1234, true},
		{"12.505", "usd", 0, false}, // a fraction of a cent
		{"12.5", "jpy", 0, false},
		{"0", "usd", 0, false},
		{"0.00", "usd", 0, false},
		{"-1", "usd", 0, false},
		{"+1", "usd", 0, false},
		{"1e3", "usd", 0, false},
		{"1,5", "usd", 0, false},
		{"12.", "usd", 0, false},
		{".5", "usd", 0, false},
		{"", "usd", 0, false},
		{"999999.99", "usd", 99999999, true},
		{"1000000", "usd", 0, false}, // above MaxAmount
		{"99999999999999999999", "usd", 0, false},
	}
	for _, tt := range tests {
		got, ok := ParseAmount(tt.in, tt.currency)
		if got != tt.want || ok != tt.ok {
			t.Errorf("ParseAmount(%q, %s) = %d, %v; want %d, %v", tt.in, tt.currency, got, ok, tt.want, tt.ok)
		}
	}
}

func TestFormatAmount(t *testing.T) {
	tests := []struct {
		minor    int64
		currency string
		want     string
	}{
		{1250, "usd", "12.50 USD"}, {5, "eur", "0.05 EUR"}, {1200, "jpy", "1200 JPY"}, {1234, "kwd", "1.234 KWD"}, {7, "kwd", "0.007 KWD"},
	}
	for _, tt := range tests {
		if got := FormatAmount(tt.minor, tt.currency); got != tt.want {
			t.Errorf("FormatAmount(%d, %s) = %q, want %q", tt.minor, tt.currency, got, tt.want)
		}
	}
}

func TestCurrency(t *testing.T) {
	for in, want := range map[string]bool{"USD": true, " eur ": true, "jpy": true, "XXX": false, "us": false, "": false, "usdd": false} {
		if _, ok := Currency(in); ok != want {
			t.Errorf("Currency(%q) ok = %v, want %v", in, ok, want)
		}
	}
}

func ptr[T any](v T) *T { return &v }

// TestValidateSession: the reference's limits and messages.
func TestValidateSession(t *testing.T) {
	ok := SessionInput{Currency: "USD", Price: "12.5", Expires: 3600}
	tests := []struct {
		name   string
		change func(*SessionInput)
		want   error
	}{
		{"valid", func(*SessionInput) {}, nil},
		{"no price (the form's)", func(in *SessionInput) { in.Price = "" }, nil},
		{"price 0 (the form's)", func(in *SessionInput) { in.Price = "0" }, nil},
		{"no currency", func(in *SessionInput) { in.Currency = "" }, apierr.BadInput},
		{"unknown currency", func(in *SessionInput) { in.Currency = "ABC" }, apierr.PaymentCurrency},
		{"malformed price", func(in *SessionInput) { in.Price = "12,50" }, apierr.BadInput},
		{"sub-cent price", func(in *SessionInput) { in.Price = "0.001" }, apierr.BadInput},
		{"heading 100", func(in *SessionInput) { in.Heading = ptr(string(bytes.Repeat([]byte("é"), 100))) }, nil},
		{"heading 101", func(in *SessionInput) { in.Heading = ptr(string(bytes.Repeat([]byte("a"), 101))) }, apierr.BadInput},
		{"product name 201", func(in *SessionInput) { in.ProductName = ptr(string(bytes.Repeat([]byte("a"), 201))) }, apierr.BadInput},
		{"custom field 1001", func(in *SessionInput) { in.CustomField = string(bytes.Repeat([]byte("a"), 1001)) }, apierr.BadInput},
		{"metadata 1001", func(in *SessionInput) { in.Metadata = string(bytes.Repeat([]byte("a"), 1001)) }, apierr.BadInput},
		{"expires 0", func(in *SessionInput) { in.Expires = 0 }, apierr.BadInput},
		{"expires too long", func(in *SessionInput) { in.Expires = MaxSessionSeconds + 1 }, apierr.BadInput},
	}
	for _, tt := range tests {
		in := ok
		tt.change(&in)
		if err := ValidateSession(in); !errors.Is(err, tt.want) || (err == nil) != (tt.want == nil) {
			t.Errorf("%s: ValidateSession = %v, want %v", tt.name, err, tt.want)
		}
	}
}

// TestParseSessionID: the id is base64 of ["<form>","<secret>"]; anything
// else names no session, and the hash is the secret's.
func TestParseSessionID(t *testing.T) {
	id := base64.StdEncoding.EncodeToString([]byte(`["12","qu27WMy92zkHJng+GAGE1WzT5RK46+faFBQx+0W6"]`))
	form, hash, ok := parseSessionID(id)
	if !ok || form != 12 || hash != hashSecret("qu27WMy92zkHJng+GAGE1WzT5RK46+faFBQx+0W6") {
		t.Errorf("parseSessionID = %d, %s, %v", form, hash, ok)
	}
	for _, bad := range []string{"", "not base64!", base64.StdEncoding.EncodeToString([]byte(`["x","s"]`)),
		base64.StdEncoding.EncodeToString([]byte(`["12"]`)), base64.StdEncoding.EncodeToString([]byte(`["12",""]`)),
		base64.StdEncoding.EncodeToString([]byte(`{"a":1}`)), base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("a"), 300))} {
		if _, _, ok := parseSessionID(bad); ok {
			t.Errorf("parseSessionID(%q) ok", bad)
		}
	}
}

// discountStore is a DiscountStore with function fields.
type discountStore struct {
	create func(Discount) error
}

func (s discountStore) CreateDiscount(_ context.Context, d Discount) error { return s.create(d) }
func (discountStore) GetDiscount(context.Context, int64, string) (Discount, error) {
	return Discount{}, apierr.NotFound
}
func (discountStore) RedeemDiscount(context.Context, int64, string, time.Time) (Discount, error) {
	return Discount{}, apierr.NotFound
}
func (discountStore) ReleaseDiscount(context.Context, int64, string) error { return nil }

// TestDiscountCreate: validation with clear messages; a generated code
// has the Bytex form; nothing is stored for invalid input.
func TestDiscountCreate(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var stored []Discount
	store := discountStore{create: func(d Discount) error {
		for _, s := range stored {
			if s.Code == d.Code {
				return apierr.Conflict
			}
		}
		stored = append(stored, d)
		return nil
	}}
	products := func(_ context.Context, _ int64, id int64) error {
		if id == 7 {
			return nil
		}
		return apierr.NotFound
	}
	svc := NewDiscounts(store, products, func() time.Time { return now }, rand.Reader)
	tests := []struct {
		name string
		in   DiscountInput
		want error
	}{
		{"percent", DiscountInput{Code: "spring-10", PercentOff: 10}, nil},
		{"amount", DiscountInput{Code: "FIVE_OFF", AmountOff: 500, Currency: "EUR", MaxRedemptions: 3, Expires: now.Add(time.Hour)}, nil},
		{"code too short", DiscountInput{Code: "P7", PercentOff: 5, ProductID: 7}, ErrDiscountCode},
		{"product ok", DiscountInput{Code: "PRO7", PercentOff: 5, ProductID: 7}, nil},
		{"duplicate (any case)", DiscountInput{Code: "SPRING-10", PercentOff: 20}, ErrDiscountExists},
		{"bad characters", DiscountInput{Code: "no spaces", PercentOff: 5}, ErrDiscountCode},
		{"too long", DiscountInput{Code: string(bytes.Repeat([]byte("A"), 33)), PercentOff: 5}, ErrDiscountCode},
		{"neither", DiscountInput{Code: "NONE"}, ErrDiscountKind},
		{"both", DiscountInput{Code: "BOTH", PercentOff: 5, AmountOff: 100, Currency: "usd"}, ErrDiscountKind},
		{"100 percent", DiscountInput{Code: "FREE", PercentOff: 100}, ErrDiscountKind},
		{"negative percent", DiscountInput{Code: "NEG", PercentOff: -5}, ErrDiscountKind},
		{"percent with currency", DiscountInput{Code: "PCUR", PercentOff: 5, Currency: "usd"}, ErrDiscountKind},
		{"amount without currency", DiscountInput{Code: "NOCUR", AmountOff: 100}, ErrDiscountCurrency},
		{"amount too large", DiscountInput{Code: "HUGE", AmountOff: MaxAmount + 1, Currency: "usd"}, ErrDiscountAmount},
		{"expired", DiscountInput{Code: "PAST", PercentOff: 5, Expires: now.Add(-time.Second)}, ErrDiscountExpires},
		{"negative max", DiscountInput{Code: "MAX", PercentOff: 5, MaxRedemptions: -1}, ErrDiscountMaxUses},
		{"unknown product", DiscountInput{Code: "P8CODE", PercentOff: 5, ProductID: 8}, ErrDiscountProduct},
	}
	for _, tt := range tests {
		n := len(stored)
		_, err := svc.Create(context.Background(), 1, tt.in)
		if !errors.Is(err, tt.want) || (err == nil) != (tt.want == nil) {
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.want)
		}
		if err != nil && len(stored) != n {
			t.Errorf("%s: stored a code despite %v", tt.name, err)
		}
	}
	if stored[0].Code != "SPRING-10" || stored[1].Currency != "eur" || !stored[1].Expires.Equal(now.Add(time.Hour)) {
		t.Errorf("stored %+v", stored[:2])
	}
	d, err := svc.Create(context.Background(), 1, DiscountInput{PercentOff: 15})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Code) != 17 || d.Code[5] != '-' || d.Code[11] != '-' || !validCode(d.Code) {
		t.Errorf("generated code %q, want XXXXX-XXXXX-XXXXX", d.Code)
	}
}

// TestDiscountOff: what a code takes off, and when it does not apply.
func TestDiscountOff(t *testing.T) {
	pct := Discount{Code: "P", PercentOff: 15}
	amt := Discount{Code: "A", AmountOff: 500, Currency: "usd"}
	prod := Discount{Code: "X", PercentOff: 10, ProductID: 3}
	tests := []struct {
		name     string
		d        Discount
		amount   int64
		currency string
		product  int64
		want     int64
		err      error
	}{
		{"percent", pct, 1999, "usd", 0, 299, nil},
		{"amount", amt, 1999, "usd", 0, 500, nil},
		{"amount in another currency", amt, 1999, "eur", 0, 0, ErrDiscountNotForUse},
		{"amount above the price", amt, 500, "usd", 0, 0, ErrDiscountNotForUse},
		{"percent of one cent is nothing", pct, 1, "usd", 0, 0, ErrDiscountNotForUse},
		{"for the product", prod, 1000, "usd", 3, 100, nil},
		{"for another product", prod, 1000, "usd", 4, 0, ErrDiscountNotForUse},
	}
	for _, tt := range tests {
		got, err := tt.d.Off(tt.amount, tt.currency, tt.product)
		if got != tt.want || !errors.Is(err, tt.err) || (err == nil) != (tt.err == nil) {
			t.Errorf("%s: Off = %d, %v; want %d, %v", tt.name, got, err, tt.want, tt.err)
		}
	}
	now := time.Now()
	for name, tc := range map[string]struct {
		d    Discount
		want bool
	}{
		"fresh":     {Discount{MaxRedemptions: 2, Redeemed: 1}, true},
		"used up":   {Discount{MaxRedemptions: 2, Redeemed: 2}, false},
		"unlimited": {Discount{Redeemed: 1000}, true},
		"expired":   {Discount{Expires: now}, false},
	} {
		if got := tc.d.Usable(now); got != tc.want {
			t.Errorf("%s: Usable = %v, want %v", name, got, tc.want)
		}
	}
}

// TestNotificationSignature: Sign and VerifyNotification agree; a changed
// body, another secret or a stale timestamp fail.
func TestNotificationSignature(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	body := []byte(`{"type":"payment.completed"}`)
	h := Sign("ktwh_secret", now, body)
	if err := VerifyNotification("ktwh_secret", h, body, now.Add(time.Minute), 5*time.Minute); err != nil {
		t.Fatalf("VerifyNotification = %v", err)
	}
	for name, tc := range map[string]struct {
		secret, header string
		body           []byte
		now            time.Time
	}{
		"changed body":  {"ktwh_secret", h, []byte(`{"type":"x"}`), now},
		"other secret":  {"ktwh_other", h, body, now},
		"stale":         {"ktwh_secret", h, body, now.Add(6 * time.Minute)},
		"no signature":  {"ktwh_secret", "t=1800000000", body, now},
		"empty":         {"ktwh_secret", "", body, now},
		"bad timestamp": {"ktwh_secret", "t=x,v1=00", body, now},
	} {
		if err := VerifyNotification(tc.secret, tc.header, tc.body, tc.now, 5*time.Minute); !errors.Is(err, ErrNotificationSignature) {
			t.Errorf("%s: err = %v, want ErrNotificationSignature", name, err)
		}
	}
}

// TestWebhookURL: https anywhere, http only to the local host, no
// credentials.
func TestWebhookURL(t *testing.T) {
	for u, want := range map[string]bool{
		"https://vendor.example/hooks/keyturn": true, "http://127.0.0.1:9000/h": true, "http://localhost/h": true,
		"http://vendor.example/h": false, "https://user:pw@vendor.example/h": false, "ftp://vendor.example": false,
		"https://": false, "not a url": false, "https://vendor.example/h#frag": false,
	} {
		if got := validWebhookURL(u); got != want {
			t.Errorf("validWebhookURL(%q) = %v, want %v", u, got, want)
		}
	}
}
