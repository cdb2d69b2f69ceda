package payments

import (
	"strconv"
	"strings"
)

// MaxAmount bounds every amount, in the currency's minor units (Stripe's
// limit for two-decimal currencies: 999,999.99).
const MaxAmount = 99_999_999

// currencies are the ISO 4217 codes Stripe accepts for payments, with the
// number of decimals its API uses for amounts (Stripe's zero-decimal and
// three-decimal lists; every other currency has two).
var currencies = func() map[string]int {
	m := map[string]int{}
	two := "usd aed afn all amd ang aoa ars aud awg azn bam bbd bdt bgn bmd bnd bob brl bsd bwp byn bzd " +
		"cad cdf chf cny cop crc cve czk dkk dop dzd egp etb eur fjd fkp gbp gel gip gmd gtq gyd hkd hnl " +
		"htg huf idr ils inr isk jmd kes kgs khr kyd kzt lak lbp lkr lrd lsl mad mdl mkd mmk mnt mop mur " +
		"mvr mwk mxn myr mzn nad ngn nio nok npr nzd pab pen pgk php pkr pln qar ron rsd rub sar sbd scr " +
		"sek sgd shp sle sos srd std szl thb tjs top try ttd twd tzs uah uyu uzs wst xcd yer zar zmw"
	for _, c := range strings.Fields(two) {
		m[c] = 2
	}
	for _, c := range strings.Fields("bif clp djf gnf jpy kmf krw mga pyg rwf ugx vnd vuv xaf xof xpf") {
		m[c] = 0
	}
	for _, c := range strings.Fields("bhd jod kwd omr tnd") {
		m[c] = 3
	}
	return m
}()

// Currency returns the canonical (lower-case) form of an ISO currency code
// and whether payments accept it.
func Currency(code string) (string, bool) {
	c := strings.ToLower(strings.TrimSpace(code))
	_, ok := currencies[c]
	return c, ok
}

// decimals is the number of minor-unit digits of a known currency.
func decimals(currency string) int { return currencies[currency] }

// ParseAmount converts a decimal price such as "12.5" in currency (a code
// Currency accepts) into minor units (1250 for USD, 12 for "12" JPY). It
// accepts digits with an optional fraction (no sign, exponent or grouping)
// whose digits beyond the currency's decimals are zeros, and refuses zero
// and amounts above MaxAmount. ok is false for anything else.
func ParseAmount(s, currency string) (minor int64, ok bool) {
	s = strings.TrimSpace(s)
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" || len(whole) > 9 || !digits(whole) || (strings.Contains(s, ".") && (frac == "" || !digits(frac))) {
		return 0, false
	}
	d := decimals(currency)
	if len(frac) > d {
		if strings.Trim(frac[d:], "0") != "" {
			return 0, false
		}
		frac = frac[:d]
	}
	frac += strings.Repeat("0", d-len(frac))
	n, err := strconv.ParseInt(whole+frac, 10, 64)
	if err != nil || n <= 0 || n > MaxAmount {
		return 0, false
	}
	return n, true
}

func digits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// FormatAmount renders minor units of currency as a decimal with the
// currency's decimals and the upper-case code: FormatAmount(1250, "usd")
// is "12.50 USD".
func FormatAmount(minor int64, currency string) string {
	d := decimals(currency)
	s := strconv.FormatInt(minor, 10)
	if d > 0 {
		if len(s) <= d {
			s = strings.Repeat("0", d-len(s)+1) + s
		}
		s = s[:len(s)-d] + "." + s[len(s)-d:]
	}
	return s + " " + strings.ToUpper(currency)
}
