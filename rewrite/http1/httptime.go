package http1

// ParseHTTPTime is ngx_http_parse_time's reading of an HTTP date, as
// lenient as nginx's: the three forms (IMF-fixdate "Tue, 02 Jan 2024
// 03:04:05 GMT", RFC 850 "Tuesday, 02-Jan-24 03:04:05 GMT", asctime
// "Tue Jan  2 03:04:05 2024"), the weekday and the zone never looked
// at, anything after the time ignored (so "...GMT; length=11", which old
// browsers send in If-Modified-Since, still counts).
func ParseHTTPTime(b []byte) (int64, bool) {
	// at reads like nginx's NUL-terminated header values: 0 past the end.
	at := func(i int) byte {
		if i < len(b) {
			return b[i]
		}
		return 0
	}
	digit := func(i int) bool { c := at(i); return c >= '0' && c <= '9' }
	num2 := func(i int) int { return int(at(i)-'0')*10 + int(at(i+1)-'0') }

	const (
		rfc822 = iota + 1
		rfc850
		isoc
	)
	format := 0
	p := 0
	for ; p < len(b); p++ {
		if b[p] == ',' {
			break
		}
		if b[p] == ' ' {
			format = isoc
			break
		}
	}
	for p++; p < len(b) && b[p] == ' '; p++ {
	}
	if len(b)-p < 18 {
		return 0, false
	}
	var day, month, year int
	if format != isoc {
		if !digit(p) || !digit(p+1) {
			return 0, false
		}
		day = num2(p)
		p += 2
		switch at(p) {
		case ' ':
			if len(b)-p < 18 {
				return 0, false
			}
			format = rfc822
		case '-':
			format = rfc850
		default:
			return 0, false
		}
		p++
	}
	// The month by as few of its letters as tell it apart.
	switch at(p) {
	case 'J':
		switch {
		case at(p+1) == 'a':
			month = 0
		case at(p+2) == 'n':
			month = 5
		default:
			month = 6
		}
	case 'F':
		month = 1
	case 'M':
		if at(p+2) == 'r' {
			month = 2
		} else {
			month = 4
		}
	case 'A':
		if at(p+1) == 'p' {
			month = 3
		} else {
			month = 7
		}
	case 'S':
		month = 8
	case 'O':
		month = 9
	case 'N':
		month = 10
	case 'D':
		month = 11
	default:
		return 0, false
	}
	p += 3
	if format == rfc822 && at(p) != ' ' || format == rfc850 && at(p) != '-' {
		return 0, false
	}
	p++
	switch format {
	case rfc822:
		if !digit(p) || !digit(p+1) || !digit(p+2) || !digit(p+3) {
			return 0, false
		}
		year = num2(p)*100 + num2(p+2)
		p += 4
	case rfc850:
		if !digit(p) || !digit(p+1) {
			return 0, false
		}
		year = num2(p)
		if year < 70 {
			year += 2000
		} else {
			year += 1900
		}
		p += 2
	case isoc:
		if at(p) == ' ' {
			p++
		}
		if !digit(p) {
			return 0, false
		}
		day = int(at(p) - '0')
		p++
		if at(p) != ' ' {
			if !digit(p) {
				return 0, false
			}
			day = day*10 + int(at(p)-'0')
			p++
		}
		if len(b)-p < 14 {
			return 0, false
		}
	}
	if at(p) != ' ' {
		return 0, false
	}
	p++
	if !digit(p) || !digit(p+1) || at(p+2) != ':' || !digit(p+3) || !digit(p+4) || at(p+5) != ':' || !digit(p+6) || !digit(p+7) {
		return 0, false
	}
	hour, min, sec := num2(p), num2(p+3), num2(p+6)
	if format == isoc {
		p += 8
		if at(p) != ' ' || !digit(p+1) || !digit(p+2) || !digit(p+3) || !digit(p+4) {
			return 0, false
		}
		year = num2(p+1)*100 + num2(p+3)
	}
	if hour > 23 || min > 59 || sec > 59 {
		return 0, false
	}
	monthDays := [12]int{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}
	if day == 29 && month == 1 {
		if year&3 != 0 || year%100 == 0 && year%400 != 0 {
			return 0, false
		}
	} else if day > monthDays[month] {
		return 0, false
	}
	// Gauss' formula, the year starting on March 1 and months from 1.
	if month--; month <= 0 {
		month += 12
		year--
	}
	days := 365*year + year/4 - year/100 + year/400 + 367*month/12 - 30 + day - 1 - 719527 + 31 + 28
	return int64(days)*86400 + int64(hour*3600+min*60+sec), true
}
