// Package geoip reads MaxMind's legacy GeoIP databases (.dat files: the
// country, city and organization editions and their IPv6 forms) as
// libGeoIP does for nginx's geoip modules: the binary search tree of
// 3- or 4-byte records, the structure info searched for from the end of
// the file, and the records past the tree. A database is untrusted input:
// every read is bounded by the file.
//
// Open (or Parse) loads a file into memory (libGeoIP's GEOIP_MEMORY_CACHE);
// lookups allocate nothing and return slices of the loaded file or of the
// static tables (countries.tsv, regions.tsv, written by gentables.py from
// the installed libGeoIP).
package geoip

import (
	"errors"
	"io"
	"os"
)

// Database editions (libGeoIP's GEOIP_*_EDITION numbers) nginx accepts.
const (
	CountryEdition     = 1
	CityEditionRev1    = 2
	ISPEdition         = 4
	OrgEdition         = 5
	CityEditionRev0    = 6
	ASNumEdition       = 9
	DomainEdition      = 11
	CountryEditionV6   = 12
	ASNumEditionV6     = 21
	ISPEditionV6       = 22
	OrgEditionV6       = 23
	DomainEditionV6    = 24
	CityEditionRev1V6  = 30
	CityEditionRev0V6  = 31
	proxyEdition       = 8
	netspeedEdition    = 10
	largeCountry       = 17
	largeCountryV6     = 18
	regionRev0         = 7
	regionRev1         = 3
	countryBegin       = 16776960
	largeCountryBegin  = 16515072
	stateBeginRev0     = 16700000
	stateBeginRev1     = 16000000
	structureInfoMax   = 20
	maxOrgRecordLength = 300
)

// withSegment are the editions whose structure info carries the first
// record's offset (the tree's size) after the edition byte.
var withSegment = map[int]bool{
	CityEditionRev0: true, CityEditionRev1: true, OrgEdition: true, OrgEditionV6: true,
	DomainEdition: true, DomainEditionV6: true, ISPEdition: true, ISPEditionV6: true,
	26: true, 27: true, 28: true, 29: true, // registrar, user type
	ASNumEdition: true, ASNumEditionV6: true, 32: true, 33: true, // netspeed rev1
	13: true, 14: true, 38: true, // location A, accuracy radius
	CityEditionRev0V6: true, CityEditionRev1V6: true,
	34: true, 35: true, 36: true, 37: true, // *conf editions
}

// DB is one loaded database; it is immutable and safe to share.
type DB struct {
	data     []byte
	Type     int    // the edition
	segments uint32 // tree size: a pointer at or past it is a result
	recLen   int    // bytes per tree pointer: 3, or 4 for org/isp/domain
	UTF8     bool   // libGeoIP's GEOIP_CHARSET_UTF8 (nginx's "utf8")
}

// ErrCorrupt and ErrIndex are libGeoIP's refusals to open a file
// (GeoIP_open fails): no structure it knows, or a tree larger than the
// file.
var (
	ErrCorrupt = errors.New("corrupt GeoIP database")
	ErrIndex   = errors.New("GeoIP database tree past its end")
)

// OpenError is a failed Open; Message is the line libGeoIP writes to
// stderr then (nginx -t shows it before its own).
type OpenError struct {
	Message string
	Err     error
}

func (e *OpenError) Error() string { return e.Message }
func (e *OpenError) Unwrap() error { return e.Err }

// Open reads the file at path.
func Open(path string) (*DB, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, &OpenError{"Error Opening file " + path, err}
	}
	defer f.Close()
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, &OpenError{"Error reading file " + path, err}
	}
	db, err := Parse(data)
	switch err {
	case nil:
		return db, nil
	case ErrIndex:
		return nil, &OpenError{"Error file " + path + " -- corrupt", err}
	}
	return nil, &OpenError{"Error reading file " + path + " -- corrupt", err}
}

// Parse finds data's structure info as libGeoIP's _setup_segments does:
// from 3 bytes before the end, one byte back at a time, at most 20 tries,
// for 0xFF 0xFF 0xFF then the edition byte (and for some editions a
// 3-byte little-endian segment). No marker means a country edition.
func Parse(data []byte) (*DB, error) {
	db := &DB{data: data, Type: CountryEdition, recLen: 3}
	size := int64(len(data))
	off := size - 3
	found := false
	for i := 0; i < structureInfoMax; i++ {
		if off < 0 || off+3 > size {
			return nil, ErrCorrupt
		}
		if data[off] == 0xff && data[off+1] == 0xff && data[off+2] == 0xff {
			off += 3
			if off >= size {
				return nil, ErrCorrupt
			}
			t := int(data[off])
			off++
			if t >= 106 {
				t -= 105 // databases from April 2003 and before
			}
			db.Type = t
			switch {
			case t == regionRev0:
				db.segments, found = stateBeginRev0, true
			case t == regionRev1:
				db.segments, found = stateBeginRev1, true
			case withSegment[t]:
				if off+3 > size {
					return nil, ErrCorrupt
				}
				db.segments = uint32(data[off]) | uint32(data[off+1])<<8 | uint32(data[off+2])<<16
				found = true
				switch t {
				case OrgEdition, OrgEditionV6, DomainEdition, DomainEditionV6, ISPEdition, ISPEditionV6:
					db.recLen = 4
				}
			}
			break
		}
		off-- // libGeoIP reads 3 bytes forward, then seeks back 4
		if off < 0 {
			return nil, ErrCorrupt
		}
	}
	switch db.Type {
	case CountryEdition, proxyEdition, netspeedEdition, CountryEditionV6:
		db.segments, found = countryBegin, true
	case largeCountry, largeCountryV6:
		db.segments, found = largeCountryBegin, true
	}
	if !found {
		return nil, ErrCorrupt
	}
	if db.hasContent() {
		// get_index_size: the tree must fit in the file.
		if int64(db.segments)*int64(db.recLen)*2 > size {
			return nil, ErrIndex
		}
	}
	return db, nil
}

// hasContent reports editions with records past the tree.
func (db *DB) hasContent() bool {
	switch db.Type {
	case CountryEdition, proxyEdition, netspeedEdition, CountryEditionV6,
		largeCountry, largeCountryV6, regionRev0, regionRev1:
		return false
	}
	return true
}

// IPv6 reports an edition searched with 128-bit addresses.
func (db *DB) IPv6() bool {
	switch db.Type {
	case CountryEditionV6, largeCountryV6, ASNumEditionV6, ISPEditionV6, OrgEditionV6, DomainEditionV6,
		CityEditionRev0V6, CityEditionRev1V6, 25, 27, 29, 33, 38:
		return true
	}
	return false
}

// pointer reads the left (0) or right (1) pointer of the node at offset;
// ok is false when the node is not wholly inside the file (libGeoIP stops
// the walk there).
func (db *DB) pointer(offset uint32, right bool) (uint32, bool) {
	pair := uint32(db.recLen * 2)
	at := pair * offset // unsigned int arithmetic, as libGeoIP's
	if int64(at) > int64(len(db.data))-int64(pair) {
		return 0, false
	}
	p := db.data[at:]
	if right {
		p = p[db.recLen:]
	}
	var x uint32
	for j := db.recLen - 1; j >= 0; j-- {
		x = x<<8 | uint32(p[j])
	}
	return x, true
}

// seek4 walks the tree for a 32-bit address; 0 when the walk breaks off
// (a pointer outside the file or 32 levels without a result).
func (db *DB) seek4(ip uint32) uint32 {
	var offset uint32
	for depth := 31; depth >= 0; depth-- {
		x, ok := db.pointer(offset, ip&(1<<depth) != 0)
		if !ok {
			return 0
		}
		if x >= db.segments {
			return x
		}
		offset = x
	}
	return 0
}

// seek6 is seek4 for a 128-bit address; a Teredo address (2001:0::/32)
// is searched as its client's IPv4 address, as libGeoIP does by default.
func (db *DB) seek6(ip [16]byte) uint32 {
	if ip[0] == 0x20 && ip[1] == 0x01 && ip[2] == 0 && ip[3] == 0 {
		for i := 0; i < 12; i++ {
			ip[i] = 0
		}
		for i := 12; i < 16; i++ {
			ip[i] ^= 0xff
		}
	}
	var offset uint32
	for depth := 127; depth >= 0; depth-- {
		bit := 127 - depth
		x, ok := db.pointer(offset, ip[bit>>3]&(0x80>>(bit&7)) != 0)
		if !ok {
			return 0
		}
		if x >= db.segments {
			return x
		}
		offset = x
	}
	return 0
}

// Addr is an address as nginx hands it to libGeoIP: a 32-bit number for
// an IPv4 edition, 16 bytes for an IPv6 one.
type Addr struct {
	V4 uint32
	V6 [16]byte
}

func (db *DB) seek(a *Addr) uint32 {
	if db.IPv6() {
		return db.seek6(a.V6)
	}
	return db.seek4(a.V4)
}
