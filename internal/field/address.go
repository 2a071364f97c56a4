package field

import (
	"strings"
	"time"
	"unicode/utf8"
)

// Address is a postal address: a formatted line, optionally followed by "|lat;lon", the
// way Bitrix24 stores address fields. Clients send either that text or the components
// {ADDRESS_1, ADDRESS_2, POSTAL_CODE, CITY, REGION, PROVINCE, COUNTRY, LATITUDE,
// LONGITUDE}, which are formatted into it.
type Address struct{}

// addressLine is the order components are written in; the postal code and the city
// share a part.
var addressLine = []string{"ADDRESS_1", "ADDRESS_2", "CITY", "REGION", "PROVINCE", "COUNTRY"}

const maxAddressLength = 1024

// addressSeparators blanks the characters that separate an address line's parts; built
// once, as a Replacer builds its tables on first use.
var addressSeparators = strings.NewReplacer("|", " ", ";", " ")

// Name implements Type.
func (Address) Name() string { return "address" }

// Storage implements Type.
func (Address) Storage() Storage { return StorageText }

// Parse implements Type.
func (Address) Parse(v any) (any, error) {
	if isEmpty(v) {
		return nil, nil
	}
	var line string
	if o, ok := v.(map[string]any); ok {
		part := func(k string) string {
			raw, _ := Lookup(o, k)
			s, _ := AsString(raw)
			return strings.TrimSpace(addressSeparators.Replace(s))
		}
		var parts []string
		for _, k := range addressLine {
			p := part(k)
			if k == "CITY" {
				p = strings.TrimSpace(part("POSTAL_CODE") + " " + p)
			}
			if p != "" {
				parts = append(parts, p)
			}
		}
		line = strings.Join(parts, ", ")
		lat, lon := part("LATITUDE"), part("LONGITUDE")
		if lat != "" && lon != "" {
			if _, ok := AsFloat(lat); !ok {
				return nil, invalid("LATITUDE must be a number")
			}
			if _, ok := AsFloat(lon); !ok {
				return nil, invalid("LONGITUDE must be a number")
			}
			line += "|" + lat + ";" + lon
		}
	} else {
		s, ok := AsString(v)
		if !ok {
			return nil, invalid("an address is a text or an object of its components")
		}
		line = strings.TrimSpace(s)
	}
	if !utf8.ValidString(line) || utf8.RuneCountInString(line) > maxAddressLength {
		return nil, invalid("an address is at most %d characters of text", maxAddressLength)
	}
	if line == "" {
		return nil, nil
	}
	return line, nil
}

// Format implements Type.
func (Address) Format(v any) any { return v }

// Ops implements Type.
func (Address) Ops() []Op { return textOps }

// AddressSettings are the settings of an address custom field.
type AddressSettings struct {
	ShowMap YN `setting:"SHOW_MAP"`
}

// DefaultValue implements Settings.
func (AddressSettings) DefaultValue(time.Time) any { return nil }

type addressKind struct{}

func (addressKind) ID() string                               { return "address" }
func (addressKind) Description() string                      { return "Address" }
func (addressKind) NewSettings() Settings                    { return AddressSettings{ShowMap: "Y"} }
func (addressKind) Build(Settings, []EnumItem) (Type, error) { return Address{}, nil }

func init() { register(addressKind{}) }
