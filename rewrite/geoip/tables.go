package geoip

import (
	_ "embed"
	"strconv"
	"strings"
)

//go:generate python3 gentables.py

// countries.tsv and regions.tsv are libGeoIP's own answers (see
// gentables.py): country code, code3, continent and names by the id a
// database stores, and region names by country and FIPS region code.
var (
	//go:embed countries.tsv
	countriesTSV string
	//go:embed regions.tsv
	regionsTSV string
)

type country struct {
	code, code3, continent string
	codeBytes, code3Bytes  []byte
	name, nameUTF8         []byte // nil: no name (id 0)
}

var countries [256]country

// regionKey packs a country code and a two-character region code.
type regionKey [4]byte

var regions map[regionKey][]byte

func init() {
	for _, line := range strings.Split(countriesTSV, "\n") {
		f := strings.Split(line, "\t")
		if len(f) != 6 || strings.HasPrefix(line, "#") {
			continue
		}
		id, err := strconv.Atoi(f[0])
		if err != nil || id < 0 || id > 255 {
			continue
		}
		countries[id] = country{unescape(f[1]), unescape(f[2]), unescape(f[3]),
			unescapeBytes(f[1]), unescapeBytes(f[2]), unescapeBytes(f[4]), unescapeBytes(f[5])}
	}
	regions = make(map[regionKey][]byte, 4200)
	for _, line := range strings.Split(regionsTSV, "\n") {
		f := strings.Split(line, "\t")
		if len(f) != 3 || strings.HasPrefix(line, "#") || len(f[0]) != 2 || len(f[1]) != 2 {
			continue
		}
		regions[regionKey{f[0][0], f[0][1], f[1][0], f[1][1]}] = unescapeBytes(f[2])
	}
}

func unescape(s string) string { return string(unescapeBytes(s)) }

// unescapeBytes reads the tables' \xNN escapes; "-" is no value.
func unescapeBytes(s string) []byte {
	if s == "-" {
		return nil
	}
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && s[i+1] == 'x' {
			if n, err := strconv.ParseUint(s[i+2:i+4], 16, 8); err == nil {
				out = append(out, byte(n))
				i += 3
				continue
			}
		}
		out = append(out, s[i])
	}
	return out
}

// RegionName is libGeoIP's GeoIP_region_name_by_code: only the first
// two characters of the region count, each a digit or an upper-case
// letter; nil when the table has no name.
func RegionName(countryCode string, region []byte) []byte {
	if len(countryCode) != 2 || len(region) < 2 {
		return nil
	}
	return regions[regionKey{countryCode[0], countryCode[1], region[0], region[1]}]
}
