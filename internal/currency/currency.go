// Package currency is the currencies amounts are kept in: a fixed list of ISO 4217
// currencies with their names and formats, the base one being the currency new items
// get.
package currency

import (
	"strings"
	"time"

	"smartcrm/internal/access"
	"smartcrm/internal/crm"
)

// Currency is a currency amounts are kept in: its ISO 4217 code, its English name and
// how amounts in it are written. The base currency is crm's DefaultCurrency,
// which new deals, leads and smart-process items get (crm.Service.DefaultCurrency).
//
// No exchange rates are kept: amounts are never converted between currencies here, so
// a rate would be a number nobody maintains.
type Currency struct {
	Code string // ISO 4217: USD
	Name string // United States Dollar
	// Format writes an amount: # stands for the number ("$#", "# zł").
	Format       string
	DecPoint     string // decimal separator
	ThousandsSep string // digit group separator
	Decimals     int    // digits after the decimal separator
	Sort         int    // position in lists
	Base         bool   // the base currency (DefaultCurrency)
	// Updated is when the list below last changed: what a currency says of itself
	// changes only with it.
	Updated time.Time
}

// currenciesRevised is when the list of currencies last changed; change it with them.
var currenciesRevised = time.Date(2026, time.November, 30, 0, 0, 0, 0, time.UTC)

// currencies are the currencies this CRM works with: a fixed list, the same on every
// installation, so integrations can rely on it. Lists show them in this order.
var currencies = []Currency{
	currency("USD", "United States Dollar", "$#", 2),
	currency("EUR", "Euro", "€#", 2),
	currency("GBP", "Pound Sterling", "£#", 2),
	currency("RUB", "Russian Ruble", "# ₽", 2),
	currency("UAH", "Ukrainian Hryvnia", "# ₴", 2),
	currency("KZT", "Kazakhstani Tenge", "# ₸", 2),
	currency("BYN", "Belarusian Ruble", "# Br", 2),
	currency("CNY", "Chinese Yuan", "¥#", 2),
	currency("JPY", "Japanese Yen", "¥#", 0),
	currency("CHF", "Swiss Franc", "CHF #", 2),
	currency("INR", "Indian Rupee", "₹#", 2),
	currency("BRL", "Brazilian Real", "R$#", 2),
	currency("PLN", "Polish Zloty", "# zł", 2),
	currency("TRY", "Turkish Lira", "₺#", 2),
	currency("CAD", "Canadian Dollar", "C$#", 2),
	currency("AUD", "Australian Dollar", "A$#", 2),
	currency("SEK", "Swedish Krona", "# kr", 2),
	currency("NOK", "Norwegian Krone", "# kr", 2),
	currency("DKK", "Danish Krone", "# kr.", 2),
	currency("CZK", "Czech Koruna", "# Kč", 2),
}

// currency makes an entry of the list, its amounts written the English way.
func currency(code, name, format string, decimals int) Currency {
	return Currency{Code: code, Name: name, Format: format, DecPoint: ".", ThousandsSep: ",", Decimals: decimals}
}

// Service answers the currencies, the base one being crm's default currency.
type Service struct{ crm *crm.Service }

// New returns the currencies of crmSvc's items.
func New(crmSvc *crm.Service) *Service { return &Service{crm: crmSvc} }

// List lists the currencies in their order, the base one marked.
func (s *Service) List(actor access.Actor) ([]Currency, error) {
	if err := s.crm.Allow(actor, access.ActRead, access.Resource{Kind: "currency"}); err != nil {
		return nil, err
	}
	out := make([]Currency, len(currencies))
	for i, c := range currencies {
		c.Sort, c.Base, c.Updated = (i+1)*100, c.Code == s.crm.DefaultCurrency, currenciesRevised
		out[i] = c
	}
	return out, nil
}

// ByCode returns one currency by its ISO 4217 code, in any letter case.
func (s *Service) ByCode(actor access.Actor, code string) (Currency, error) {
	list, err := s.List(actor)
	if err != nil {
		return Currency{}, err
	}
	code = strings.ToUpper(strings.TrimSpace(code))
	for _, c := range list {
		if c.Code == code {
			return c, nil
		}
	}
	return Currency{}, crm.NewError(crm.ErrItemNotFound, "Currency %q not found", code)
}
