// Command cli is Keyturn's management CLI. It calls the admin API.
//
//	go run ./scripts/cli [-url URL] <command> [args]
//
// The admin secret is read from $KEYTURN_ADMIN_SECRET or the file named by
// -secret-file (default $KEYTURN_ADMIN_SECRET_FILE). Commands:
//
//	accounts list
//	accounts create NAME
//	products list ACCOUNT
//	products create ACCOUNT NAME [-description D] [-public] [-features JSON]
//	tokens list ACCOUNT
//	tokens create ACCOUNT [-name N] [-methods 'Activate,GetKey'|'*'] [-product-lock N] [-key-lock N] [-feature-lock N] [-expires RFC3339]
//	tokens delete ACCOUNT TOKEN_ID
//	keys create ACCOUNT            create or rotate the signing key
//	keys show ACCOUNT [-format json|xml|pem|jwk]
//	permissions
//	bootstrap -state FILE          idempotent demo set-up used by ./scripts/dev
//
// Payments (Stripe keys, payment forms, discount codes, subscription
// links):
//
//	stripe show ACCOUNT
//	stripe set ACCOUNT [-secret-key-file F] [-webhook-secret-file F]   (default: $STRIPE_SECRET_KEY, $STRIPE_WEBHOOK_SECRET)
//	stripe remove ACCOUNT
//	forms list ACCOUNT
//	forms create ACCOUNT NAME [-heading H] [-product-name P] [-price 12.50 -currency usd] [-template ID] [-new-customer] [-webhook URL]
//	forms show ACCOUNT ID
//	discounts create ACCOUNT [-code C] [-percent N | -amount 5.00 -currency eur] [-product ID] [-expires RFC3339] [-max N]
//	discounts show ACCOUNT CODE
//	subscription link ACCOUNT PRODUCT KEY SUBSCRIPTION_ITEM_ID
//	subscription show|unlink ACCOUNT PRODUCT KEY
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/keyturn/keyturn/shared/auth"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

type client struct {
	base   string
	secret string
	http   *http.Client
}

func (c *client) do(method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.secret)
	req.Header.Set("Content-Type", "application/json")
	res, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return err
	}
	if res.StatusCode >= 300 {
		var e struct {
			Error string `json:"error"`
		}
		_ = json.Unmarshal(b, &e)
		if e.Error == "" {
			e.Error = strings.TrimSpace(string(b))
		}
		return fmt.Errorf("%s %s: %s: %s", method, path, res.Status, e.Error)
	}
	if out != nil && len(b) > 0 {
		return json.Unmarshal(b, out)
	}
	return nil
}

func run(args []string, stdout io.Writer) error {
	global := flag.NewFlagSet("cli", flag.ContinueOnError)
	url := global.String("url", envOr("KEYTURN_ADMIN_URL", "http://127.0.0.1:8080"), "base URL of the service")
	secretFile := global.String("secret-file", os.Getenv("KEYTURN_ADMIN_SECRET_FILE"), "file holding the admin secret")
	if err := global.Parse(args); err != nil {
		return err
	}
	secret := os.Getenv("KEYTURN_ADMIN_SECRET")
	if secret == "" && *secretFile != "" {
		b, err := os.ReadFile(*secretFile)
		if err != nil {
			return err
		}
		secret = strings.TrimSpace(string(b))
	}
	if secret == "" {
		return errors.New("no admin secret: set KEYTURN_ADMIN_SECRET or -secret-file")
	}
	c := &client{base: strings.TrimRight(*url, "/"), secret: secret, http: &http.Client{Timeout: 60 * time.Second}}
	rest := global.Args()
	if len(rest) == 0 {
		return errors.New("usage: cli <accounts|products|tokens|keys|permissions|bootstrap> [arguments]")
	}
	print := func(v any) error {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(v)
	}
	var out any
	cmd := strings.Join(rest[:min(2, len(rest))], " ")
	switch {
	case cmd == "permissions":
		if err := c.do("GET", "/admin/permissions", nil, &out); err != nil {
			return err
		}
	case cmd == "accounts list":
		if err := c.do("GET", "/admin/accounts", nil, &out); err != nil {
			return err
		}
	case cmd == "accounts create" && len(rest) == 3:
		if err := c.do("POST", "/admin/accounts", map[string]string{"name": rest[2]}, &out); err != nil {
			return err
		}
	case cmd == "products list" && len(rest) == 3:
		if err := c.do("GET", "/admin/accounts/"+rest[2]+"/products", nil, &out); err != nil {
			return err
		}
	case cmd == "products create" && len(rest) >= 4:
		fs := flag.NewFlagSet("products create", flag.ContinueOnError)
		desc := fs.String("description", "", "description")
		public := fs.Bool("public", false, "isPublic")
		features := fs.String("features", "", "featureDefinitions JSON")
		if err := fs.Parse(rest[4:]); err != nil {
			return err
		}
		in := map[string]any{"name": rest[3], "description": *desc, "isPublic": *public}
		if *features != "" {
			in["featureDefinitions"] = json.RawMessage(*features)
		}
		if err := c.do("POST", "/admin/accounts/"+rest[2]+"/products", in, &out); err != nil {
			return err
		}
	case cmd == "tokens list" && len(rest) == 3:
		if err := c.do("GET", "/admin/accounts/"+rest[2]+"/tokens", nil, &out); err != nil {
			return err
		}
	case cmd == "tokens create" && len(rest) >= 3:
		in, err := tokenInput(rest[3:])
		if err != nil {
			return err
		}
		if err := c.do("POST", "/admin/accounts/"+rest[2]+"/tokens", in, &out); err != nil {
			return err
		}
	case cmd == "tokens delete" && len(rest) == 4:
		return c.do("DELETE", "/admin/accounts/"+rest[2]+"/tokens/"+rest[3], nil, nil)
	case cmd == "keys create" && len(rest) == 3:
		if err := c.do("POST", "/admin/accounts/"+rest[2]+"/signing-keys", nil, &out); err != nil {
			return err
		}
	case cmd == "keys show" && len(rest) >= 3:
		fs := flag.NewFlagSet("keys show", flag.ContinueOnError)
		format := fs.String("format", "json", "json, xml, pem or jwk")
		if err := fs.Parse(rest[3:]); err != nil {
			return err
		}
		var key struct {
			XML string          `json:"xml"`
			PEM string          `json:"pem"`
			JWK json.RawMessage `json:"jwk"`
		}
		if err := c.do("GET", "/admin/accounts/"+rest[2]+"/signing-keys/current", nil, &key); err != nil {
			return err
		}
		switch *format {
		case "xml":
			_, err := fmt.Fprintln(stdout, key.XML)
			return err
		case "pem":
			_, err := fmt.Fprint(stdout, key.PEM)
			return err
		case "jwk":
			_, err := fmt.Fprintln(stdout, string(key.JWK))
			return err
		}
		out = key
	case rest[0] == "bootstrap":
		fs := flag.NewFlagSet("bootstrap", flag.ContinueOnError)
		state := fs.String("state", "", "file that keeps the demo token between runs")
		if err := fs.Parse(rest[1:]); err != nil {
			return err
		}
		res, err := bootstrap(c, *state)
		if err != nil {
			return err
		}
		out = res
	default:
		res, handled, err := paymentCommand(c, rest)
		if !handled {
			return fmt.Errorf("unknown command %q (see the package doc)%s", strings.Join(rest, " "), paymentUsage)
		}
		if err != nil {
			return err
		}
		out = res
	}
	return print(out)
}

func tokenInput(args []string) (map[string]any, error) {
	fs := flag.NewFlagSet("tokens create", flag.ContinueOnError)
	name := fs.String("name", "", "token name")
	methods := fs.String("methods", "*", "comma-separated permissions or *")
	pl := fs.Int64("product-lock", 0, "product lock")
	kl := fs.Int64("key-lock", 0, "key lock: a key id (needs -product-lock, key ids are per product), or negative to enable auth/KeyLock")
	fl := fs.Int64("feature-lock", 0, "feature lock")
	exp := fs.String("expires", "", "expiry (RFC 3339)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if err := (auth.Scope{ProductLock: *pl, KeyLock: *kl}).Validate(); err != nil {
		return nil, err
	}
	var ms []string
	for _, m := range strings.Split(*methods, ",") {
		if m = strings.TrimSpace(m); m != "" {
			ms = append(ms, m)
		}
	}
	return map[string]any{"name": *name, "methods": ms, "productLock": *pl, "keyLock": *kl, "featureLock": *fl, "expires": *exp}, nil
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// Demo names used by bootstrap.
const (
	demoAccount = "demo"
	demoProduct = "Demo product"
)

// BootstrapResult is what bootstrap prints (and keeps in the state file).
type BootstrapResult struct {
	AccountID int64  `json:"accountId"`
	ProductID int64  `json:"productId"`
	Token     string `json:"token"`
	PublicKey string `json:"publicKeyXml"`
}

// bootstrap makes sure the demo account, product, all-permission token and
// signing key exist, creating only what is missing. The token secret is
// shown once by the API, so it is kept in the state file; if the file is
// lost or its token no longer exists, a new token is created.
func bootstrap(c *client, stateFile string) (BootstrapResult, error) {
	var res BootstrapResult
	var prev BootstrapResult
	if stateFile != "" {
		if b, err := os.ReadFile(stateFile); err == nil {
			_ = json.Unmarshal(b, &prev)
		}
	}
	var accounts struct {
		Accounts []struct {
			ID   int64  `json:"id"`
			Name string `json:"name"`
		} `json:"accounts"`
	}
	if err := c.do("GET", "/admin/accounts", nil, &accounts); err != nil {
		return res, err
	}
	for _, a := range accounts.Accounts {
		if a.Name == demoAccount {
			res.AccountID = a.ID
			break
		}
	}
	if res.AccountID == 0 {
		var a struct {
			ID int64 `json:"id"`
		}
		if err := c.do("POST", "/admin/accounts", map[string]string{"name": demoAccount}, &a); err != nil {
			return res, err
		}
		res.AccountID = a.ID
	}
	acc := "/admin/accounts/" + strconv.FormatInt(res.AccountID, 10)

	var products struct {
		Products []struct {
			ID   int64  `json:"id"`
			Name string `json:"name"`
		} `json:"products"`
	}
	if err := c.do("GET", acc+"/products", nil, &products); err != nil {
		return res, err
	}
	for _, p := range products.Products {
		if p.Name == demoProduct {
			res.ProductID = p.ID
			break
		}
	}
	if res.ProductID == 0 {
		in := map[string]any{
			"name": demoProduct, "description": "Created by ./scripts/dev", "isPublic": false,
			"featureDefinitions": map[string]any{
				"f1": map[string]any{"name": "Time Limit (F1)", "type": 1},
				"f2": map[string]any{"name": "Trial (F2)", "type": 2},
				"f3": map[string]any{"name": "Pro edition", "type": 0},
			},
		}
		var p struct {
			ID int64 `json:"id"`
		}
		if err := c.do("POST", acc+"/products", in, &p); err != nil {
			return res, err
		}
		res.ProductID = p.ID
	}

	var tokens struct {
		Tokens []struct {
			ID string `json:"id"`
		} `json:"tokens"`
	}
	if err := c.do("GET", acc+"/tokens", nil, &tokens); err != nil {
		return res, err
	}
	if prev.AccountID == res.AccountID && prev.Token != "" {
		for _, t := range tokens.Tokens {
			if id := tokenID(prev.Token); id != "" && id == t.ID {
				res.Token = prev.Token
			}
		}
	}
	if res.Token == "" {
		var t struct {
			Token string `json:"token"`
		}
		in := map[string]any{"name": "demo (all permissions)", "methods": []string{"*"}}
		if err := c.do("POST", acc+"/tokens", in, &t); err != nil {
			return res, err
		}
		res.Token = t.Token
	}

	var key struct {
		XML string `json:"xml"`
	}
	err := c.do("GET", acc+"/signing-keys/current", nil, &key)
	if err != nil && strings.Contains(err.Error(), "404") {
		err = c.do("POST", acc+"/signing-keys", nil, &key)
	}
	if err != nil {
		return res, err
	}
	res.PublicKey = key.XML
	if stateFile != "" {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		_ = enc.Encode(res)
		if err := os.WriteFile(stateFile, b.Bytes(), 0o600); err != nil {
			return res, err
		}
	}
	return res, nil
}

// tokenID extracts the id from a token's wire form.
func tokenID(token string) string {
	id, _, err := auth.Decode(token)
	if err != nil {
		return ""
	}
	return id
}
