package difftest

import (
	"encoding/binary"
	"fmt"
	"math/rand"
	"regexp"
	"strings"
	"testing"

	"github.com/gonginx/gonginx/cmd/gonginx/difftest/harness"
	"github.com/gonginx/gonginx/location/mp4/mp4gen"
)

// The mp4 module, nginx vs gonginx: synthetic movies (mp4gen) cut by
// start and end, byte for byte, with mp4_start_key_frame, small and large
// mp4_buffer_size and mp4_max_buffer_size, ranges of a cut movie, HEAD,
// conditional requests, arguments nginx does not read as times, broken
// files (each refusal's error-log line compared), and random movies.
func TestServeMP4(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	content := map[string]string{"html/d/index.html": "i\n", "html/text.mp4": "not a movie\n", "html/empty.mp4": ""}
	movies := mp4Movies()
	for name, m := range movies {
		content["html/"+name] = string(mp4gen.Build(m))
	}
	for name, b := range mp4Broken(mp4gen.Build(movies["a.mp4"])) {
		content["html/"+name] = string(b)
	}
	r := rand.New(rand.NewSource(7))
	for i := 0; i < 6; i++ {
		content[fmt.Sprintf("html/r%d.mp4", i)] = string(mp4gen.Build(mp4RandomMovie(r)))
	}
	get := func(name, target, extra string) harness.Request {
		return serveRaw(name, "GET "+target+" HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"+extra+"\r\n")
	}
	var reqs []harness.Request
	cuts := []string{"start=0", "start=1", "start=2.5", "start=0.04", "end=3", "start=1.3&end=4.7",
		"start=0.04&end=0.08", "start=4.99", "start=9.9", "start=100", "end=0.001", "start=3&end=3",
		"start=2&end=1", "start=7.123456", "end=9.5", "start=0.2&end=0.7"}
	for _, name := range []string{"a.mp4", "b.mp4", "c.mp4", "u.mp4"} {
		for _, q := range cuts {
			reqs = append(reqs, get(name+" "+q, "/"+name+"?"+q, ""))
		}
		for _, q := range []string{"start=1", "start=2.5&end=6", "start=5"} {
			reqs = append(reqs, get("key frame "+name+" "+q, "/k/"+name+"?"+q, ""))
		}
	}
	for _, q := range []string{"start=1", "start=1.5&end=4", "end=2"} {
		for _, loc := range []string{"/s/", "/tiny/", "/big/"} {
			for _, name := range []string{"a.mp4", "b.mp4"} {
				reqs = append(reqs, get(loc+name+" "+q, loc+name+"?"+q, ""))
			}
		}
	}
	for i := 0; i < 6; i++ {
		for _, q := range []string{"start=0.5", "start=1.7&end=3.1", "end=2.2", "start=4"} {
			name := fmt.Sprintf("r%d.mp4", i)
			reqs = append(reqs, get(name+" "+q, "/"+name+"?"+q, ""), get("key frame "+name+" "+q, "/k/"+name+"?"+q, ""))
		}
	}
	for name := range mp4Broken(nil) {
		reqs = append(reqs, get(name, "/"+name+"?start=1", ""), get(name+" to 3s", "/"+name+"?start=1&end=3", ""),
			get(name+" whole", "/"+name, ""))
	}
	reqs = append(reqs,
		get("whole", "/a.mp4", ""),
		get("no start", "/a.mp4?x=1", ""),
		get("start not a number", "/a.mp4?start=abc", ""),
		get("start empty", "/a.mp4?start=", ""),
		get("start negative", "/a.mp4?start=-1", ""),
		get("start two dots", "/a.mp4?start=1.2.3", ""),
		get("end not a number", "/a.mp4?start=1&end=x", ""),
		get("end zero", "/a.mp4?end=0", ""),
		get("start among other args", "/a.mp4?a=1&START=2&b", ""),
		get("start huge", "/a.mp4?start=99999999999999999999", ""),
		get("range of a cut", "/a.mp4?start=2", "Range: bytes=0-99\r\n"),
		get("range into the data", "/a.mp4?start=2", "Range: bytes=1000-1999\r\n"),
		get("range open", "/a.mp4?start=2", "Range: bytes=500-\r\n"),
		get("suffix range", "/a.mp4?start=2", "Range: bytes=-300\r\n"),
		get("two ranges of a cut", "/a.mp4?start=2", "Range: bytes=0-9,20-29\r\n"),
		get("two ranges, whole file", "/a.mp4", "Range: bytes=0-9,20-29\r\n"),
		get("two ranges, start=0", "/a.mp4?start=0", "Range: bytes=0-9,20-29\r\n"),
		get("range past the end", "/a.mp4?start=2", "Range: bytes=999999-\r\n"),
		get("range and empty tables", "/a.mp4?start=0.2&end=0.7", "Range: bytes=0-2000\r\n"),
		get("range after empty tables", "/a.mp4?start=0.2&end=0.7", "Range: bytes=1500-\r\n"),
		get("max_ranges 0", "/norange/a.mp4?start=2", "Range: bytes=0-99\r\n"),
		get("if-none-match", "/a.mp4?start=2", "If-None-Match: *\r\n"),
		get("if-modified-since", "/a.mp4?start=2", "If-Modified-Since: Fri, 01 Jan 2100 00:00:00 GMT\r\n"),
		get("if-range date", "/a.mp4?start=2", "Range: bytes=0-9\r\nIf-Range: Fri, 01 Jan 2100 00:00:00 GMT\r\n"),
		serveRaw("HEAD", "HEAD /a.mp4?start=2 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"),
		serveRaw("HEAD broken", "HEAD /trunc.mp4?start=2 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"),
		serveRaw("POST", "POST /a.mp4?start=1 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: 1\r\n\r\nx"),
		serveRaw("DELETE", "DELETE /a.mp4 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"),
		get("directory", "/d", ""),
		get("index", "/d/", ""),
		get("missing", "/none.mp4?start=5", ""),
		// nginx's mp4 handler discards the body (answering Expect)
		// before it opens the file.
		get("expect, missing", "/none.mp4?start=5", "Content-Length: 5\r\nExpect: 100-continue\r\n\r\nhello"),
		get("expect, cut", "/a.mp4?start=5", "Content-Length: 5\r\nExpect: 100-continue\r\n\r\nhello"),
		get("not mp4", "/text.mp4?start=1", ""),
		get("empty file", "/empty.mp4?start=1", ""),
		get("no mp4 location", "/plain/a.mp4?start=1", ""),
		get("nested location", "/k/in/a.mp4?start=1", ""),
	)
	c := harness.Case{Name: "mp4", Config: `server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    location / { mp4; }
    location /k/ {
        alias html/;
        mp4;
        mp4_start_key_frame on;
        location /k/in/ { alias html/; }
    }
    location /s/ { alias html/; mp4; mp4_buffer_size 100; mp4_max_buffer_size 1k; }
    location /tiny/ { alias html/; mp4; mp4_buffer_size 20; }
    location /big/ { alias html/; mp4; mp4_buffer_size 1m; mp4_max_buffer_size 5m; }
    location /norange/ { alias html/; mp4; max_ranges 0; }
    location /plain/ { alias html/; }
}
`,
		Content:       content,
		Requests:      reqs,
		ErrorMessages: true,
		// nginx names its empty buffers by their addresses.
		ErrorMask: func(line string) string { return mp4Pointers.ReplaceAllString(line, "ADDR-ADDR") },
	}
	harness.Compare(t, c, want, got, serveAssets(t))
}

var mp4Pointers = regexp.MustCompile(`[0-9A-F]{16}-[0-9A-F]{16}`)

// mp4Video is n samples of 40 or 41 ms, sizes 10 to 22, composition
// offsets, a sync sample every tenth; mp4Audio n samples of 1024 at
// 44100 a second, no sync table.
func mp4Video(n int) mp4gen.Track {
	t := mp4gen.Track{Video: true, Timescale: 1000, ChunkSamples: []uint32{5, 5, 3, 4}}
	for i := 0; i < n; i++ {
		d := uint32(40)
		if i%7 == 3 {
			d = 41
		}
		t.Durations = append(t.Durations, d)
		t.Sizes = append(t.Sizes, uint32(10+i%13))
		t.Offsets = append(t.Offsets, uint32(80*(i%3)))
		if i%10 == 0 {
			t.Sync = append(t.Sync, uint32(i+1))
		}
	}
	return t
}

func mp4Audio(n int) mp4gen.Track {
	t := mp4gen.Track{Timescale: 44100, ChunkSamples: []uint32{7}}
	for i := 0; i < n; i++ {
		t.Durations = append(t.Durations, 1024)
		t.Sizes = append(t.Sizes, uint32(6+i%5))
	}
	return t
}

func mp4Movies() map[string]mp4gen.Movie {
	uniform := mp4Audio(300)
	uniform.UniformSize = 9
	slow := mp4Video(10)
	for i := range slow.Durations {
		slow.Durations[i] = 1000 // a second a sample: cut to nothing from 0.2 to 0.7
	}
	return map[string]mp4gen.Movie{
		"a.mp4": {Timescale: 1000, Tracks: []mp4gen.Track{mp4Video(250), mp4Audio(430), slow}},
		"b.mp4": {Timescale: 600, Tracks: []mp4gen.Track{mp4Video(250), mp4Audio(430)}, Co64: true, V1: true, MdatFirst: true, Extras: true},
		"c.mp4": {Timescale: 90000, Tracks: []mp4gen.Track{mp4Video(120)}, BigMdat: true, NoFtyp: true},
		"u.mp4": {Timescale: 1000, Tracks: []mp4gen.Track{uniform, mp4Video(100)}, MdatFirst: true},
	}
}

// mp4Broken are files nginx refuses to cut: a moov cut short, atoms of
// size 0, 3 and 2^32-1, a 64-bit size below its header, a moov atom past
// mp4_max_buffer_size's default, duplicate atoms, a compressed moov,
// stsc chunks out of order, a uniform stsz with a table.
func mp4Broken(good []byte) map[string][]byte {
	out := map[string][]byte{}
	names := []string{"trunc.mp4", "zero.mp4", "small.mp4", "huge.mp4", "small64.mp4", "cmov.mp4",
		"twomvhd.mp4", "unordered.mp4", "nostts.mp4", "toobig.mp4", "uniformtable.mp4"}
	if good == nil {
		for _, n := range names {
			out[n] = nil
		}
		return out
	}
	at := func(name string) int { return strings.Index(string(good), name) - 4 }
	set32 := func(i int, v uint32) []byte {
		b := append([]byte{}, good...)
		binary.BigEndian.PutUint32(b[i:], v)
		return b
	}
	moov := at("moov")
	out["trunc.mp4"] = good[:moov+300]
	out["zero.mp4"] = set32(at("trak"), 0)
	out["small.mp4"] = set32(at("mdia"), 3)
	out["huge.mp4"] = set32(moov, 0xffffffff)
	small64 := set32(at("tkhd"), 1)
	binary.BigEndian.PutUint64(small64[at("tkhd")+8:], 9)
	out["small64.mp4"] = small64
	out["cmov.mp4"] = []byte(strings.Replace(string(good), "udta", "cmov", 1))
	if !strings.Contains(string(good), "udta") {
		out["cmov.mp4"] = []byte(strings.Replace(string(good), "mvhd", "cmov", 1))
	}
	out["twomvhd.mp4"] = []byte(strings.Replace(string(good), "trak", "mvhd", 1))
	stsc := at("stsc")
	unordered := set32(stsc+16+12, 0) // the second entry's first chunk before the first's
	out["unordered.mp4"] = unordered
	out["nostts.mp4"] = []byte(strings.Replace(string(good), "stts", "stXs", 1))
	// A uniform sample size with a table after it: nginx counts the
	// table in the sizes and sends the atom without it, a Content-Length
	// above the bytes sent.
	out["uniformtable.mp4"] = set32(at("stsz")+12, 2)
	// A moov past 10m: a free atom of 11m inside it.
	big := make([]byte, 11<<20+8)
	binary.BigEndian.PutUint32(big, uint32(len(big)))
	copy(big[4:], "free")
	size := binary.BigEndian.Uint32(good[moov:])
	toobig := append(append([]byte{}, good[:moov+int(size)]...), big...)
	toobig = append(toobig, good[moov+int(size):]...)
	binary.BigEndian.PutUint32(toobig[moov:], size+uint32(len(big)))
	out["toobig.mp4"] = toobig
	return out
}

// mp4RandomMovie is a movie of random tracks, tables and layout.
func mp4RandomMovie(r *rand.Rand) mp4gen.Movie {
	track := func(video bool) mp4gen.Track {
		t := mp4gen.Track{Video: video, Timescale: []uint32{1000, 44100, 90000, 25, 600}[r.Intn(5)]}
		n := 1 + r.Intn(200)
		base := uint32(1 + r.Intn(3000))
		for i := 0; i < n; i++ {
			d := base
			if r.Intn(5) == 0 {
				d += uint32(r.Intn(50))
			}
			t.Durations = append(t.Durations, d)
			t.Sizes = append(t.Sizes, uint32(1+r.Intn(30)))
		}
		if video && r.Intn(2) == 0 {
			for i := 0; i < n; i++ {
				t.Offsets = append(t.Offsets, uint32(r.Intn(3))*base)
			}
		}
		if video {
			for i, step := 0, 1+r.Intn(12); i < n; i += step {
				t.Sync = append(t.Sync, uint32(i+1))
			}
		}
		if r.Intn(5) == 0 {
			t.UniformSize = uint32(1 + r.Intn(20))
		}
		for i := 0; i < 1+r.Intn(4); i++ {
			t.ChunkSamples = append(t.ChunkSamples, uint32(1+r.Intn(9)))
		}
		t.Edit = r.Intn(3) == 0
		return t
	}
	m := mp4gen.Movie{Timescale: []uint32{1000, 600, 90000}[r.Intn(3)], Tracks: []mp4gen.Track{track(true)}}
	for k := r.Intn(3); k > 0; k-- {
		m.Tracks = append(m.Tracks, track(r.Intn(2) == 0))
	}
	m.Co64, m.V1, m.MdatFirst = r.Intn(2) == 0, r.Intn(3) == 0, r.Intn(3) == 0
	m.BigMdat, m.Extras = r.Intn(5) == 0, r.Intn(3) == 0
	return m
}

// The same over HTTP/2 (h2c): a cut, ranges of it, HEAD, a refusal, the
// whole file, each a stream of one connection.
func TestServeMP4H2(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	movies := mp4Movies()
	broken := mp4Broken(mp4gen.Build(movies["a.mp4"]))
	stream := func(method, path, extra string) string {
		return ":method: " + method + "\r\n:scheme: http\r\n:path: " + path + "\r\n:authority: localhost" + extra
	}
	h2 := func(name string, streams ...string) harness.Request {
		return harness.Request{Name: name, H2: true, Send: streams}
	}
	c := harness.Case{Name: "mp4 h2", Config: `server {
    listen 127.0.0.1:{{PORT}} http2;
    server_name localhost;
    location / { mp4; }
    location /k/ { alias html/; mp4; mp4_start_key_frame on; }
}
`,
		Content: map[string]string{"html/a.mp4": string(mp4gen.Build(movies["a.mp4"])),
			"html/b.mp4": string(mp4gen.Build(movies["b.mp4"])), "html/trunc.mp4": string(broken["trunc.mp4"])},
		Requests: []harness.Request{
			h2("cuts", stream("GET", "/a.mp4?start=2.5", ""), stream("GET", "/b.mp4?start=1&end=4", ""),
				stream("GET", "/k/a.mp4?start=2.5", "")),
			h2("range of a cut", stream("GET", "/a.mp4?start=2", "\r\nrange: bytes=100-1099")),
			h2("two ranges of a cut", stream("GET", "/b.mp4?start=2", "\r\nrange: bytes=0-9,20-29")),
			h2("HEAD", stream("HEAD", "/a.mp4?start=2", "")),
			h2("refused", stream("GET", "/trunc.mp4?start=1", ""), stream("GET", "/a.mp4?start=100", "")),
			h2("whole", stream("GET", "/a.mp4", "")),
			h2("empty tables", stream("GET", "/a.mp4?start=0.2&end=0.7", "")),
		},
		ErrorMessages: true,
		ErrorMask:     func(line string) string { return mp4Pointers.ReplaceAllString(line, "ADDR-ADDR") },
	}
	harness.Compare(t, c, want, got, serveAssets(t))
}
