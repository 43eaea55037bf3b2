package geoip

// CountryID is the id a country edition stores for a: libGeoIP's
// GeoIP_id_by_ipnum (0 for the IPv4 address 0), the result pointer less
// the tree size as a C int.
func (db *DB) CountryID(a *Addr) int {
	if !db.IPv6() && a.V4 == 0 {
		return 0
	}
	return int(int32(db.seek(a) - db.segments))
}

// CountryCode, CountryCode3 and CountryName answer a country id as
// libGeoIP's GeoIP_code_by_id, GeoIP_code3_by_id and
// GeoIP_country_name_by_id do; ok is false for libGeoIP's NULL.
func CountryCode(id int) ([]byte, bool) {
	if id <= 0 || id > 255 {
		return nil, false
	}
	return countries[id].codeBytes, true
}

// CountryCode3: see CountryCode.
func CountryCode3(id int) ([]byte, bool) {
	if id <= 0 || id > 255 {
		return nil, false
	}
	return countries[id].code3Bytes, true
}

// CountryName: see CountryCode; utf8 picks libGeoIP's UTF-8 table.
func CountryName(id int, utf8 bool) ([]byte, bool) {
	if id <= 0 || id > 255 {
		return nil, false
	}
	if utf8 {
		return countries[id].nameUTF8, countries[id].nameUTF8 != nil
	}
	return countries[id].name, countries[id].name != nil
}

// AppendName appends an organization edition's name for a (libGeoIP's
// GeoIP_name_by_ipnum); ok is false when there is none. With UTF8 the
// name's ISO-8859-1 bytes are written as UTF-8.
func (db *DB) AppendName(dst []byte, a *Addr) ([]byte, bool) {
	x := db.seek(a)
	if x == db.segments {
		return dst, false
	}
	// libGeoIP computes the record's place in a C int.
	ptr := int32(x + uint32(2*db.recLen-1)*db.segments)
	if ptr < 0 || int64(ptr) >= int64(len(db.data)) {
		return dst, false
	}
	return appendCString(dst, db.data[ptr:], db.UTF8), true
}

// appendCString appends b up to its first NUL (or its end).
func appendCString(dst, b []byte, utf8 bool) []byte {
	for _, c := range b {
		if c == 0 {
			break
		}
		if utf8 && c >= 0x80 {
			dst = append(dst, 0xc0|c>>6, 0x80|c&0x3f)
			continue
		}
		dst = append(dst, c)
	}
	return dst
}

// Record is a city edition's record (libGeoIP's GeoIPRecord); the byte
// slices point into the database, nil where libGeoIP has NULL.
type Record struct {
	Continent, Code, Code3 string
	Country                int // id, for CountryName
	Region, City, Postal   []byte
	Latitude, Longitude    float32
	Metro, Area            int
}

// City finds a's record (libGeoIP's GeoIP_record_by_ipnum); ok is false
// when the address has none.
func (db *DB) City(a *Addr) (r Record, ok bool) {
	x := db.seek(a)
	if x == db.segments {
		return r, false
	}
	ptr := int32(x + uint32(2*db.recLen-1)*db.segments)
	if ptr < 0 || int64(ptr) >= int64(len(db.data)) {
		return r, false
	}
	b := db.data[ptr:]
	id := int(b[0])
	c := &countries[id]
	r.Continent, r.Code, r.Code3, r.Country = c.continent, c.code, c.code3, id
	b = b[1:]
	r.Region, b = cString(b)
	r.City, b = cString(b)
	r.Postal, b = cString(b)
	lat, b := uint24(b)
	lon, b := uint24(b)
	r.Latitude = float32(float64(lat)/10000 - 180)
	r.Longitude = float32(float64(lon)/10000 - 180)
	if (db.Type == CityEditionRev1 || db.Type == CityEditionRev1V6) && r.Code == "US" {
		combo, _ := uint24(b)
		r.Metro, r.Area = int(combo/1000), int(combo%1000)
	}
	return r, true
}

// cString splits b at its first NUL: nil for an empty string, as
// libGeoIP leaves the field NULL.
func cString(b []byte) (s, rest []byte) {
	for i, c := range b {
		if c == 0 {
			if i == 0 {
				return nil, b[1:]
			}
			return b[:i:i], b[i+1:]
		}
	}
	if len(b) == 0 {
		return nil, b
	}
	return b[:len(b):len(b)], nil
}

// uint24 reads a 3-byte little-endian number; bytes past the file read
// as 0.
func uint24(b []byte) (uint32, []byte) {
	var n uint32
	for j := 0; j < 3; j++ {
		if j < len(b) {
			n |= uint32(b[j]) << (8 * j)
		}
	}
	if len(b) < 3 {
		return n, nil
	}
	return n, b[3:]
}

// AppendCity appends the record's city name, as UTF-8 when the database
// is opened with UTF8.
func (db *DB) AppendCity(dst []byte, r *Record) []byte {
	return appendCString(dst, r.City, db.UTF8)
}
