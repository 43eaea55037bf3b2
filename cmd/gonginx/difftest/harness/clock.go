package harness

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Clock says how Case shows the times "expires" computes from the
// moment of the request, which the two servers answer at different
// seconds.
type Clock uint8

const (
	// ClockOff leaves Expires and max-age as sent.
	ClockOff Clock = iota
	// ClockRelative shows an Expires near the response's Date as its
	// offset from it ("DATE+3600s"): expires 1h, -1, 0, and a
	// Cache-Control max-age equal to that offset as "max-age=EXPIRES-DATE".
	ClockRelative
	// ClockDaily shows an Expires near Date as its local time of day and
	// how many days after Date's it falls ("03:30:00 local, day+1"), for
	// "expires @3h30m"; max-age as ClockRelative does.
	ClockDaily
)

// clockWindow bounds what counts as "near" Date: a fixed time of a
// test (the files' mtime, "max", "epoch") lies outside it.
const clockWindow = 400 * 24 * time.Hour

// clockNeutral applies mode to every response of lines (each: status
// line, headers, "", [body]), before Date itself is hidden.
func clockNeutral(lines []string, mode Clock) []string {
	if mode == ClockOff {
		return lines
	}
	out := append([]string(nil), lines...)
	start := 0
	for start < len(out) {
		end := start + 1
		for end < len(out) && out[end] != "" {
			end++
		}
		date, dateErr := http.ParseTime(headerValue(out[start+1:end], "Date"))
		expIndex, ccIndex := -1, -1
		for i := start + 1; i < end; i++ {
			name, _, _ := strings.Cut(out[i], ":")
			switch strings.ToLower(strings.TrimSpace(name)) {
			case "expires":
				expIndex = i
			case "cache-control":
				ccIndex = i
			}
		}
		if dateErr == nil && expIndex >= 0 {
			name, value, _ := strings.Cut(out[expIndex], ":")
			if exp, err := http.ParseTime(strings.TrimSpace(value)); err == nil && absDuration(exp.Sub(date)) < clockWindow {
				offset := int64(exp.Sub(date) / time.Second)
				if mode == ClockDaily {
					days := dayNumber(exp.Local()) - dayNumber(date.Local())
					out[expIndex] = fmt.Sprintf("%s: %s local, day%+d", name, exp.Local().Format("15:04:05"), days)
				} else {
					out[expIndex] = fmt.Sprintf("%s: DATE%+ds", name, offset)
				}
				if ccIndex >= 0 {
					out[ccIndex] = strings.Replace(out[ccIndex], "max-age="+strconv.FormatInt(offset, 10), "max-age=EXPIRES-DATE", 1)
				}
			}
		}
		next := end + 1
		if end+1 < len(out) && !looksLikeStatus(out[end+1]) {
			next = end + 2
		}
		start = next
	}
	return out
}

func absDuration(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

// dayNumber counts local calendar days, so that a day of 23 or 25 hours
// still counts one.
func dayNumber(t time.Time) int {
	y, m, d := t.Date()
	return int(time.Date(y, m, d, 12, 0, 0, 0, time.UTC).Unix() / 86400)
}

// recentWindow bounds what counts as a file written during the run: the
// harness gives every file it copies FixedTime, so a Last-Modified this
// near Date is a file the server wrote (a log, a cached or PUT body).
const recentWindow = time.Hour

// recentNeutral shows, in one response's headers, the mtime of a file the
// server wrote during the run as RECENT, in Last-Modified and in the
// "mtime-size" ETag that nginx builds from it: the two servers write their
// files at moments that may fall on either side of a second.
func recentNeutral(headers []string) {
	date, err := http.ParseTime(headerValue(headers, "Date"))
	if err != nil {
		return
	}
	recent := func(t time.Time) bool { return absDuration(t.Sub(date)) < recentWindow }
	for i, h := range headers {
		name, value, _ := strings.Cut(h, ":")
		value = strings.TrimSpace(value)
		switch strings.ToLower(name) {
		case "last-modified":
			if t, err := http.ParseTime(value); err == nil && recent(t) {
				headers[i] = name + ": RECENT"
			}
		case "etag":
			weak, tag := "", value
			if strings.HasPrefix(tag, "W/") {
				weak, tag = "W/", tag[2:]
			}
			mtime, size, ok := strings.Cut(strings.Trim(tag, `"`), "-")
			if !ok {
				continue
			}
			if sec, err := strconv.ParseInt(mtime, 16, 64); err == nil && recent(time.Unix(sec, 0)) {
				headers[i] = fmt.Sprintf(`%s: %s"RECENT-%s"`, name, weak, size)
			}
		}
	}
}
