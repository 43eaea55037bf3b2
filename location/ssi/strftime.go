package ssi

import (
	"strconv"
	"time"
)

// AppendStrftime appends t formatted as C's strftime does in the C locale
// (glibc's conversions), for config timefmt. gmt says t is UTC, which %Z
// names "GMT" as gmtime's struct tm does. A conversion glibc does not
// know is written as it is.
func AppendStrftime(dst, format []byte, t time.Time, gmt bool) []byte {
	for i := 0; i < len(format); i++ {
		c := format[i]
		if c != '%' || i+1 == len(format) {
			dst = append(dst, c)
			continue
		}
		i++
		// glibc's flags and the E and O modifiers: the flags are taken
		// (padding '-' and '_'), the modifiers ignored in the C locale.
		pad := byte(0)
		for i < len(format) && (format[i] == '-' || format[i] == '_' || format[i] == '0' || format[i] == '^' || format[i] == '#') {
			pad = format[i]
			i++
		}
		for i < len(format) && (format[i] == 'E' || format[i] == 'O') {
			i++
		}
		if i == len(format) {
			break
		}
		dst = appendConversion(dst, format[i], pad, t, gmt)
	}
	return dst
}

func appendConversion(dst []byte, c, pad byte, t time.Time, gmt bool) []byte {
	num := func(n, width int, fill byte) []byte {
		switch pad {
		case '-':
			return strconv.AppendInt(dst, int64(n), 10)
		case '_':
			fill = ' '
		case '0':
			fill = '0'
		}
		var b [20]byte
		s := strconv.AppendInt(b[:0], int64(n), 10)
		for k := len(s); k < width; k++ {
			dst = append(dst, fill)
		}
		return append(dst, s...)
	}
	hour12 := t.Hour() % 12
	if hour12 == 0 {
		hour12 = 12
	}
	switch c {
	case 'a':
		return append(dst, t.Weekday().String()[:3]...)
	case 'A':
		return append(dst, t.Weekday().String()...)
	case 'b', 'h':
		return append(dst, t.Month().String()[:3]...)
	case 'B':
		return append(dst, t.Month().String()...)
	case 'c':
		return AppendStrftime(dst, []byte("%a %b %e %H:%M:%S %Y"), t, gmt)
	case 'C':
		return num(t.Year()/100, 2, '0')
	case 'd':
		return num(t.Day(), 2, '0')
	case 'D':
		return AppendStrftime(dst, []byte("%m/%d/%y"), t, gmt)
	case 'e':
		return num(t.Day(), 2, ' ')
	case 'F':
		return AppendStrftime(dst, []byte("%Y-%m-%d"), t, gmt)
	case 'g':
		y, _ := t.ISOWeek()
		return num(y%100, 2, '0')
	case 'G':
		y, _ := t.ISOWeek()
		return num(y, 1, '0')
	case 'H':
		return num(t.Hour(), 2, '0')
	case 'I':
		return num(hour12, 2, '0')
	case 'j':
		return num(t.YearDay(), 3, '0')
	case 'k':
		return num(t.Hour(), 2, ' ')
	case 'l':
		return num(hour12, 2, ' ')
	case 'm':
		return num(int(t.Month()), 2, '0')
	case 'M':
		return num(t.Minute(), 2, '0')
	case 'n':
		return append(dst, '\n')
	case 'p':
		if t.Hour() < 12 {
			return append(dst, "AM"...)
		}
		return append(dst, "PM"...)
	case 'P':
		if t.Hour() < 12 {
			return append(dst, "am"...)
		}
		return append(dst, "pm"...)
	case 'r':
		return AppendStrftime(dst, []byte("%I:%M:%S %p"), t, gmt)
	case 'R':
		return AppendStrftime(dst, []byte("%H:%M"), t, gmt)
	case 's':
		return strconv.AppendInt(dst, t.Unix(), 10)
	case 'S':
		return num(t.Second(), 2, '0')
	case 't':
		return append(dst, '\t')
	case 'T':
		return AppendStrftime(dst, []byte("%H:%M:%S"), t, gmt)
	case 'u':
		wd := int(t.Weekday())
		if wd == 0 {
			wd = 7
		}
		return num(wd, 1, '0')
	case 'U':
		return num((t.YearDay()+6-int(t.Weekday()))/7, 2, '0')
	case 'V':
		_, w := t.ISOWeek()
		return num(w, 2, '0')
	case 'w':
		return num(int(t.Weekday()), 1, '0')
	case 'W':
		return num((t.YearDay()+6-(int(t.Weekday())+6)%7)/7, 2, '0')
	case 'x':
		return AppendStrftime(dst, []byte("%m/%d/%y"), t, gmt)
	case 'X':
		return AppendStrftime(dst, []byte("%H:%M:%S"), t, gmt)
	case 'y':
		return num(t.Year()%100, 2, '0')
	case 'Y':
		return num(t.Year(), 1, '0')
	case 'z':
		_, off := t.Zone()
		sign := byte('+')
		if off < 0 {
			sign, off = '-', -off
		}
		dst = append(dst, sign)
		return appendConversionNum(dst, off/3600*100+off%3600/60, 4)
	case 'Z':
		if gmt {
			return append(dst, "GMT"...)
		}
		name, _ := t.Zone()
		return append(dst, name...)
	case '%':
		return append(dst, '%')
	}
	return append(dst, '%', c)
}

func appendConversionNum(dst []byte, n, width int) []byte {
	var b [20]byte
	s := strconv.AppendInt(b[:0], int64(n), 10)
	for k := len(s); k < width; k++ {
		dst = append(dst, '0')
	}
	return append(dst, s...)
}
