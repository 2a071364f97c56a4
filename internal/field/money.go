package field

import (
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Money is an amount with its currency, "300|EUR" on the wire and in the column (the
// text sorts and filters as the wire shows it).
type Money struct{}

var moneyPattern = regexp.MustCompile(`^(-?[0-9]+(?:\.[0-9]+)?)\|([A-Z]{3})$`)

// Name implements Type.
func (Money) Name() string { return "money" }

// Storage implements Type.
func (Money) Storage() Storage { return StorageText }

// Parse implements Type. A comma as decimal separator and spaces in the amount are
// accepted; the stored text is normalised ("1 234,50|EUR" → "1234.5|EUR").
func (Money) Parse(v any) (any, error) {
	if isEmpty(v) {
		return nil, nil
	}
	s, ok := AsString(v)
	if !ok {
		return nil, invalid("money is written as amount|CURRENCY")
	}
	amount, currency, found := strings.Cut(strings.TrimSpace(s), "|")
	if !found {
		return nil, invalid("%q is not amount|CURRENCY", s)
	}
	f, ok := AsFloat(amount)
	if !ok {
		return nil, invalid("%q is not an amount", amount)
	}
	norm := strconv.FormatFloat(f, 'f', -1, 64) + "|" + strings.ToUpper(strings.TrimSpace(currency))
	if !moneyPattern.MatchString(norm) {
		return nil, invalid("%q is not amount|CURRENCY", s)
	}
	return norm, nil
}

// Format implements Type.
func (Money) Format(v any) any { return v }

// Ops implements Type.
func (Money) Ops() []Op { return []Op{OpEq, OpNotEq, OpIn, OpNotIn, OpContains, OpLike} }

// MoneySettings are the settings of a money custom field.
type MoneySettings struct {
	Default string `setting:"DEFAULT_VALUE"`
}

// DefaultValue implements Settings.
func (s MoneySettings) DefaultValue(time.Time) any { return nilIfEmpty(s.Default) }

type moneyKind struct{}

func (moneyKind) ID() string                               { return "money" }
func (moneyKind) Description() string                      { return "Money" }
func (moneyKind) NewSettings() Settings                    { return MoneySettings{} }
func (moneyKind) Build(Settings, []EnumItem) (Type, error) { return Money{}, nil }

func init() { register(moneyKind{}) }
