package main

import (
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"strings"
)

// paymentUsage lists the payment commands (see the package doc).
const paymentUsage = `
	stripe show ACCOUNT
	stripe set ACCOUNT [-secret-key-file F] [-webhook-secret-file F]   (default: $STRIPE_SECRET_KEY, $STRIPE_WEBHOOK_SECRET)
	stripe remove ACCOUNT
	forms list ACCOUNT
	forms create ACCOUNT NAME [-heading H] [-product-name P] [-price 12.50 -currency usd] [-template ID] [-new-customer] [-webhook URL]
	forms show ACCOUNT ID
	discounts create ACCOUNT [-code C] [-percent N | -amount 5.00 -currency eur] [-product ID] [-expires RFC3339] [-max N]
	discounts show ACCOUNT CODE
	subscription link ACCOUNT PRODUCT KEY SUBSCRIPTION_ITEM_ID
	subscription show|unlink ACCOUNT PRODUCT KEY`

// secretFrom reads a secret from a file (trimmed) or, without one, from
// the environment variable: secrets never go on the command line.
func secretFrom(file, env string) (string, error) {
	if file == "" {
		return strings.TrimSpace(os.Getenv(env)), nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

// paymentCommand runs a payment command; handled is false for other
// commands.
func paymentCommand(c *client, rest []string) (out any, handled bool, err error) {
	if len(rest) < 3 {
		return nil, false, nil
	}
	acc := "/admin/accounts/" + url.PathEscape(rest[2])
	cmd := rest[0] + " " + rest[1]
	switch {
	case cmd == "stripe show" && len(rest) == 3:
		err = c.do("GET", acc+"/stripe", nil, &out)
	case cmd == "stripe remove" && len(rest) == 3:
		err = c.do("DELETE", acc+"/stripe", nil, nil)
		out = map[string]bool{"removed": err == nil}
	case cmd == "stripe set":
		fs := flag.NewFlagSet("stripe set", flag.ContinueOnError)
		keyFile := fs.String("secret-key-file", "", "file holding the Stripe secret key (default $STRIPE_SECRET_KEY)")
		hookFile := fs.String("webhook-secret-file", "", "file holding the webhook signing secret (default $STRIPE_WEBHOOK_SECRET)")
		if err := fs.Parse(rest[3:]); err != nil {
			return nil, true, err
		}
		key, err := secretFrom(*keyFile, "STRIPE_SECRET_KEY")
		if err != nil {
			return nil, true, err
		}
		hook, err := secretFrom(*hookFile, "STRIPE_WEBHOOK_SECRET")
		if err != nil {
			return nil, true, err
		}
		if key == "" {
			return nil, true, errors.New("no Stripe secret key: use -secret-key-file or $STRIPE_SECRET_KEY")
		}
		err = c.do("PUT", acc+"/stripe", map[string]string{"secretKey": key, "webhookSecret": hook}, &out)
		return out, true, err
	case cmd == "forms list" && len(rest) == 3:
		err = c.do("GET", acc+"/payment-forms", nil, &out)
	case cmd == "forms show" && len(rest) == 4:
		err = c.do("GET", acc+"/payment-forms/"+url.PathEscape(rest[3]), nil, &out)
	case cmd == "forms create" && len(rest) >= 4:
		fs := flag.NewFlagSet("forms create", flag.ContinueOnError)
		heading := fs.String("heading", "", "heading shown on the payment page")
		product := fs.String("product-name", "", "name of the item paid for")
		price := fs.String("price", "", "default price, e.g. 12.50")
		currency := fs.String("currency", "", "ISO currency code, e.g. usd")
		template := fs.Int64("template", 0, "license template: create a key from it on payment")
		newCustomer := fs.Bool("new-customer", false, "create (or reuse, by e-mail) a customer for the buyer and put it on the key")
		webhook := fs.String("webhook", "", "https URL that receives each completed order (signed)")
		if err := fs.Parse(rest[4:]); err != nil {
			return nil, true, err
		}
		err = c.do("POST", acc+"/payment-forms", map[string]any{"name": rest[3], "heading": *heading, "productName": *product,
			"price": *price, "currency": *currency, "templateId": *template, "newCustomer": *newCustomer, "webhookUrl": *webhook}, &out)
	case cmd == "discounts create":
		in, err := discountInput(rest[3:])
		if err != nil {
			return nil, true, err
		}
		err = c.do("POST", acc+"/discounts", in, &out)
		return out, true, err
	case cmd == "discounts show" && len(rest) == 4:
		err = c.do("GET", acc+"/discounts/"+url.PathEscape(rest[3]), nil, &out)
	case strings.HasPrefix(cmd, "subscription ") && len(rest) >= 5:
		path := acc + "/products/" + url.PathEscape(rest[3]) + "/keys/" + url.PathEscape(rest[4]) + "/subscription"
		switch {
		case rest[1] == "link" && len(rest) == 6:
			err = c.do("PUT", path, map[string]string{"subscriptionItemId": rest[5]}, &out)
		case rest[1] == "show" && len(rest) == 5:
			err = c.do("GET", path, nil, &out)
		case rest[1] == "unlink" && len(rest) == 5:
			err = c.do("DELETE", path, nil, nil)
			out = map[string]bool{"unlinked": err == nil}
		default:
			return nil, false, nil
		}
	default:
		return nil, false, nil
	}
	return out, true, err
}

// discountInput binds the flags of discounts create.
func discountInput(args []string) (map[string]any, error) {
	fs := flag.NewFlagSet("discounts create", flag.ContinueOnError)
	code := fs.String("code", "", "the code buyers type (default: generated)")
	percent := fs.Int64("percent", 0, "percent off (1-99)")
	amount := fs.String("amount", "", "amount off, e.g. 5.00 (with -currency)")
	currency := fs.String("currency", "", "currency of -amount")
	product := fs.Int64("product", 0, "only for payment forms of this product")
	expires := fs.String("expires", "", "expiry (RFC 3339)")
	maxUses := fs.Int64("max", 0, "maximum redemptions (0: unlimited)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if (*percent != 0) == (*amount != "") {
		return nil, fmt.Errorf("give -percent or -amount (with -currency)")
	}
	return map[string]any{"code": *code, "percentOff": *percent, "amountOff": *amount, "currency": *currency,
		"productId": *product, "expires": *expires, "maxRedemptions": *maxUses}, nil
}
