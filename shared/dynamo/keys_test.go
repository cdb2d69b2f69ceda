package dynamo_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"regexp"
	"strings"
	"testing"

	"github.com/keyturn/keyturn/shared/dynamo"
)

// builders calls every key builder of keys.go with sample arguments; the
// AST check below fails when a builder is missing here.
var builders = map[string]func() []string{
	"Counter":                  func() []string { k := dynamo.Counter("product"); return []string{k.PK, k.SK} },
	"ProductKeyCounter":        func() []string { k := dynamo.ProductKeyCounter(7); return []string{k.PK, k.SK} },
	"ProductKeyHole":           func() []string { k := dynamo.ProductKeyHole(7, 3); return []string{k.PK, k.SK} },
	"Account":                  func() []string { k := dynamo.Account(5); return []string{k.PK, k.SK} },
	"Product":                  func() []string { k := dynamo.Product(5, 7); return []string{k.PK, k.SK} },
	"SigningKey":               func() []string { k := dynamo.SigningKey(5, 2); return []string{k.PK, k.SK} },
	"Template":                 func() []string { k := dynamo.Template(5, 9); return []string{k.PK, k.SK} },
	"Token":                    func() []string { k := dynamo.Token("abc123"); return []string{k.PK, k.SK} },
	"PeerSession":              func() []string { k := dynamo.PeerSession("0f1e"); return []string{k.PK, k.SK} },
	"License":                  func() []string { k := dynamo.License(7, "AAAA-BBBB"); return []string{k.PK, k.SK} },
	"NodeSlot":                 func() []string { k := dynamo.NodeSlot(7, "AAAA", 3); return []string{k.PK, k.SK} },
	"SeatSlot":                 func() []string { k := dynamo.SeatSlot(7, "AAAA", 3); return []string{k.PK, k.SK} },
	"NodeMachine":              func() []string { k := dynamo.NodeMachine(7, "AAAA", "machine"); return []string{k.PK, k.SK} },
	"FloatingMachine":          func() []string { k := dynamo.FloatingMachine(7, "AAAA", "machine"); return []string{k.PK, k.SK} },
	"Trial":                    func() []string { k := dynamo.Trial(7, "machine"); return []string{k.PK, k.SK} },
	"Customer":                 func() []string { k := dynamo.Customer(5, 11); return []string{k.PK, k.SK} },
	"CustomerSecret":           func() []string { k := dynamo.CustomerSecret(5, "s3cret"); return []string{k.PK, k.SK} },
	"CustomerEmail":            func() []string { k := dynamo.CustomerEmail(5, "A@b.c"); return []string{k.PK, k.SK} },
	"Reseller":                 func() []string { k := dynamo.Reseller(5, 12); return []string{k.PK, k.SK} },
	"Device":                   func() []string { k := dynamo.Device(5, 11, "machine"); return []string{k.PK, k.SK} },
	"User":                     func() []string { k := dynamo.User(5, "alice"); return []string{k.PK, k.SK} },
	"LoginWindow":              func() []string { k := dynamo.LoginWindow(5, "alice", 99); return []string{k.PK, k.SK} },
	"LoginToken":               func() []string { k := dynamo.LoginToken(5, "0f1e"); return []string{k.PK, k.SK} },
	"DataObject":               func() []string { k := dynamo.DataObject(5, "K100", 3); return []string{k.PK, k.SK} },
	"DataObjectCount":          func() []string { k := dynamo.DataObjectCount(5, "P7"); return []string{k.PK, k.SK} },
	"DataObjectName":           func() []string { k := dynamo.DataObjectName(5, "U", "n"); return []string{k.PK, k.SK} },
	"DataObjectPointer":        func() []string { k := dynamo.DataObjectPointer(5, 3); return []string{k.PK, k.SK} },
	"Message":                  func() []string { k := dynamo.Message(5, 1537815312, 13); return []string{k.PK, k.SK} },
	"MessagePointer":           func() []string { k := dynamo.MessagePointer(5, 13); return []string{k.PK, k.SK} },
	"MessagesPK":               func() []string { return []string{dynamo.MessagesPK(5)} },
	"MessageChannelGSI2PK":     func() []string { return []string{"gsi2", dynamo.MessageChannelGSI2PK(5, "stable")} },
	"Licensee":                 func() []string { k := dynamo.Licensee(5, "I001-a.b"); return []string{k.PK, k.SK} },
	"LicenseeClaim":            func() []string { k := dynamo.LicenseeClaim(5, 11, 7); return []string{k.PK, k.SK} },
	"LicenseeCounter":          func() []string { k := dynamo.LicenseeCounter(5, 0); return []string{k.PK, k.SK} },
	"ProductLicenseeCounter":   func() []string { k := dynamo.LicenseeCounter(5, 7); return []string{k.PK, k.SK} },
	"ProductKeysPK":            func() []string { return []string{dynamo.ProductKeysPK(7)} },
	"LicenseeClaimsPK":         func() []string { return []string{dynamo.LicenseeClaimsPK(5, 11)} },
	"AccountLicenseesGSI2PK":   func() []string { return []string{"gsi2", dynamo.AccountLicenseesGSI2PK(5)} },
	"ProductLicenseesGSI4PK":   func() []string { return []string{"gsi4", dynamo.ProductLicenseesGSI4PK(5, 7)} },
	"AccountPK":                func() []string { return []string{dynamo.AccountPK(5)} },
	"LicensePK":                func() []string { return []string{dynamo.LicensePK(7, "AAAA")} },
	"DevicesPK":                func() []string { return []string{dynamo.DevicesPK(5, 11)} },
	"DataObjectsPK":            func() []string { return []string{dynamo.DataObjectsPK(5, "U")} },
	"TokensGSI1PK":             func() []string { return []string{"gsi1", dynamo.TokensGSI1PK(5)} },
	"GlobalIDGSI1PK":           func() []string { return []string{"gsi1", dynamo.GlobalIDGSI1PK(100)} },
	"ProductKeysGSI2PK":        func() []string { return []string{"gsi2", dynamo.ProductKeysGSI2PK(7)} },
	"AccountDataObjectsGSI2PK": func() []string { return []string{"gsi2", dynamo.AccountDataObjectsGSI2PK(5)} },
	"CustomerLicensesGSI3PK":   func() []string { return []string{"gsi3", dynamo.CustomerLicensesGSI3PK(5, 11)} },
	"CustomerUsersGSI3PK":      func() []string { return []string{"gsi3", dynamo.CustomerUsersGSI3PK(5, 11)} },
	"ResellerLicensesGSI4PK":   func() []string { return []string{"gsi4", dynamo.ResellerLicensesGSI4PK(5, 12)} },
	"ProductExpiryGSI5PK":      func() []string { return []string{"gsi5", dynamo.ProductExpiryGSI5PK(7)} },
	"PaymentForm":              func() []string { k := dynamo.PaymentForm(5, 2); return []string{k.PK, k.SK} },
	"StripeSettings":           func() []string { k := dynamo.StripeSettings(5); return []string{k.PK, k.SK} },
	"PaymentSession":           func() []string { k := dynamo.PaymentSession("ab12"); return []string{k.PK, k.SK} },
	"PaymentEvent":             func() []string { k := dynamo.PaymentEvent(5, "evt_1"); return []string{k.PK, k.SK} },
	"Discount":                 func() []string { k := dynamo.Discount(5, "SPRING-10"); return []string{k.PK, k.SK} },
	"SubscriptionLink":         func() []string { k := dynamo.SubscriptionLink(7, "AAAA"); return []string{k.PK, k.SK} },
}

// pattern turns a documented key pattern into a regular expression:
// <name:0NN> is NN digits, any other <name> is one or more characters.
func pattern(p string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString("^")
	for p != "" {
		i := strings.IndexByte(p, '<')
		if i < 0 {
			b.WriteString(regexp.QuoteMeta(p))
			break
		}
		b.WriteString(regexp.QuoteMeta(p[:i]))
		j := strings.IndexByte(p[i:], '>')
		if j < 0 {
			b.WriteString(regexp.QuoteMeta(p[i:]))
			break
		}
		name := p[i+1 : i+j]
		if _, width, ok := strings.Cut(name, ":0"); ok {
			b.WriteString(`\d{` + width + `}`)
		} else {
			b.WriteString(".+")
		}
		p = p[i+j+1:]
	}
	b.WriteString("$")
	return regexp.MustCompile(b.String())
}

type documented struct {
	items   [][2]*regexp.Regexp            // pk, sk
	indexes map[string][][2]*regexp.Regexp // gsi name -> pk, sk
}

// readModel parses the data model table of the package documentation.
func readModel(t *testing.T) documented {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "doc.go", nil, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	text := f.Doc.Text()
	start := strings.Index(text, "# Data model")
	if start < 0 {
		t.Fatal("doc.go has no Data model section")
	}
	d := documented{indexes: map[string][][2]*regexp.Regexp{}}
	gsi := regexp.MustCompile(`(gsi\d) (\S+) / (\S+)`)
	for _, line := range strings.Split(text[start:], "\n") {
		if !strings.HasPrefix(line, "\t") {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) >= 2 && fields[0] != "pk" && !strings.HasPrefix(fields[0], "gsi") && strings.ContainsAny(fields[0], "#") || len(fields) >= 2 && (fields[0] == "COUNTER" || fields[0] == "ACCOUNTS") {
			d.items = append(d.items, [2]*regexp.Regexp{pattern(fields[0]), pattern(fields[1])})
		}
		for _, m := range gsi.FindAllStringSubmatch(line, -1) {
			d.indexes[m[1]] = append(d.indexes[m[1]], [2]*regexp.Regexp{pattern(m[2]), pattern(strings.TrimRight(m[3], ";,"))})
		}
	}
	if len(d.items) < 20 || len(d.indexes) < 5 {
		t.Fatalf("parsed %d item rows and %d indexes from the data model; the table format changed", len(d.items), len(d.indexes))
	}
	return d
}

// TestDataModelDocumented: every key a builder produces matches an item
// type (pk and sk) or an index partition listed in the package
// documentation, and every builder in keys.go is exercised here.
func TestDataModelDocumented(t *testing.T) {
	d := readModel(t)
	for name, build := range builders {
		parts := build()
		switch {
		case len(parts) == 2 && strings.HasPrefix(parts[0], "gsi"):
			ok := false
			for _, p := range d.indexes[parts[0]] {
				ok = ok || p[0].MatchString(parts[1])
			}
			if !ok {
				t.Errorf("%s: %s partition %q is not documented", name, parts[0], parts[1])
			}
		case len(parts) == 2:
			ok := false
			for _, p := range d.items {
				ok = ok || p[0].MatchString(parts[0]) && p[1].MatchString(parts[1])
			}
			if !ok {
				t.Errorf("%s: key %q / %q matches no documented item type", name, parts[0], parts[1])
			}
		default:
			ok := false
			for _, p := range d.items {
				ok = ok || p[0].MatchString(parts[0])
			}
			if !ok {
				t.Errorf("%s: partition %q matches no documented item type", name, parts[0])
			}
		}
	}
	// Every exported function of keys.go that builds a key or a
	// partition is listed in builders.
	f, err := parser.ParseFile(token.NewFileSet(), "keys.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, decl := range f.Decls {
		fn, ok := decl.(*ast.FuncDecl)
		if !ok || fn.Recv != nil || !fn.Name.IsExported() || fn.Type.Results == nil || len(fn.Type.Results.List) != 1 {
			continue
		}
		res, _ := fn.Type.Results.List[0].Type.(*ast.Ident)
		if res == nil || (res.Name != "Key" && !(res.Name == "string" && strings.HasSuffix(fn.Name.Name, "PK"))) {
			continue
		}
		if _, ok := builders[fn.Name.Name]; !ok {
			t.Errorf("key builder %s is not checked against the data model: add it to builders", fn.Name.Name)
		}
	}
}
