package mp4_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gonginx/gonginx/location/mp4"
	"github.com/gonginx/gonginx/location/mp4/mp4gen"
)

func TestParseTime(t *testing.T) {
	tests := []struct {
		in   string
		want int64
	}{
		{"", -1},
		{"0", 0},
		{"1", 1000},
		{"1.5", 1500},
		{".5", 500},
		{"5.", 5000},
		{"2.12345", 2123}, // digits past the third decimal are dropped
		{"2.123x", -1},    // but checked
		{"1.2.3", -1},
		{"-1", -1},
		{"1e3", -1},
		{"9223372036854775", 9223372036854775000},
		{"9223372036854776", -1}, // the milliseconds overflow
		{"99999999999999999999", -1},
	}
	for _, tt := range tests {
		if got := mp4.ParseTime([]byte(tt.in)); got != tt.want {
			t.Errorf("ParseTime(%q) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

// video is a track of n samples of 1000 units (one second at 1000 a
// second), sizes 10 + i%7, a sync sample every 4th from the first, two
// samples a chunk, composition offsets alternating 0 and 500.
func video(n int) mp4gen.Track {
	t := mp4gen.Track{Video: true, Timescale: 1000, ChunkSamples: []uint32{2}}
	for i := 0; i < n; i++ {
		t.Durations = append(t.Durations, 1000)
		t.Sizes = append(t.Sizes, uint32(10+i%7))
		t.Offsets = append(t.Offsets, uint32(500*(i%2)))
		if i%4 == 0 {
			t.Sync = append(t.Sync, uint32(i+1))
		}
	}
	return t
}

// audio is n samples of 1024 at 8000 a second, 3 a chunk, no sync table.
func audio(n int) mp4gen.Track {
	t := mp4gen.Track{Timescale: 8000, ChunkSamples: []uint32{3}}
	for i := 0; i < n; i++ {
		t.Durations = append(t.Durations, 1024)
		t.Sizes = append(t.Sizes, uint32(5+i%3))
	}
	return t
}

func cut(t *testing.T, file []byte, start, length uint64, conf mp4.Config) []byte {
	t.Helper()
	mv, err := mp4.Cut(bytes.NewReader(file), int64(len(file)), "/m.mp4", start, length, conf)
	if err != nil {
		t.Fatalf("Cut(%d, %d): %v", start, length, err)
	}
	body := append(append([]byte{}, mv.Head...), file[mv.DataStart:mv.DataEnd]...)
	if int64(len(body)) != mv.ContentLength {
		t.Fatalf("Cut(%d, %d): %d bytes, Content-Length %d", start, length, len(body), mv.ContentLength)
	}
	return body
}

// A cut at 3.5 seconds without mp4_start_key_frame starts the video at
// its fourth sample, in the middle of its second chunk: stsc gets a first
// entry of one sample, stco points at that sample, and no edit list.
func TestCutTables(t *testing.T) {
	file := mp4gen.Build(mp4gen.Movie{Timescale: 1000, Tracks: []mp4gen.Track{video(10)}})
	got := parse(t, cut(t, file, 3500, 0, mp4.DefaultConfig))
	v := got.tracks[0]
	if got.mvhdDuration != 6500 {
		t.Errorf("mvhd duration %d, want 6500", got.mvhdDuration)
	}
	want := parsedTrack{
		tkhdDuration: 6500, mdhdDuration: 6500,
		stts:    []uint32{7, 1000},
		stss:    []uint32{2, 6},
		ctts:    []uint32{1, 500, 1, 0, 1, 500, 1, 0, 1, 500, 1, 0, 1, 500},
		stsc:    []uint32{1, 1, 1, 2, 2, 1},
		samples: []string{"003", "004", "005", "006", "007", "008", "009"},
	}
	if diff := cmp.Diff(want, v, cmp.AllowUnexported(parsedTrack{})); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// With mp4_start_key_frame on the cut starts at the sync sample before
// (the first), and an edit list skips the three seconds before 3.5's
// sample in presentation.
func TestCutKeyFrame(t *testing.T) {
	file := mp4gen.Build(mp4gen.Movie{Timescale: 1000, Tracks: []mp4gen.Track{video(10)}})
	conf := mp4.DefaultConfig
	conf.StartKeyFrame = true
	got := parse(t, cut(t, file, 3500, 2000, conf))
	v := got.tracks[0]
	want := parsedTrack{
		tkhdDuration: 2000, mdhdDuration: 2000 + 3000,
		elst: []uint64{2000, 3000},
		stts: []uint32{5, 1000}, // samples 0 to 4: the end cut counts from the key frame
		stss: []uint32{1, 5},
		// The end cut of ctts counts one sample more and keeps an entry
		// of none (nginx's arithmetic).
		ctts:    []uint32{1, 0, 1, 500, 1, 0, 1, 500, 1, 0, 0, 500},
		stsc:    []uint32{1, 2, 1, 3, 1, 1},
		samples: []string{"000", "001", "002", "003", "004"},
	}
	if diff := cmp.Diff(want, v, cmp.AllowUnexported(parsedTrack{})); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// Every variant of the layout cuts to the same samples: 32- and 64-bit
// chunk offsets, 64-bit times, mdat before moov, a 64-bit mdat header,
// atoms nginx skips, and a cut that ends too.
func TestCutLayouts(t *testing.T) {
	base := mp4gen.Movie{Timescale: 600, Tracks: []mp4gen.Track{video(40), audio(300)}}
	variants := map[string]func(*mp4gen.Movie){
		"stco":       func(*mp4gen.Movie) {},
		"co64":       func(m *mp4gen.Movie) { m.Co64 = true },
		"v1":         func(m *mp4gen.Movie) { m.V1 = true },
		"mdat first": func(m *mp4gen.Movie) { m.MdatFirst = true },
		"big mdat":   func(m *mp4gen.Movie) { m.BigMdat = true },
		"extras":     func(m *mp4gen.Movie) { m.Extras = true; m.Tracks[0].Edit = true },
		"no ftyp":    func(m *mp4gen.Movie) { m.NoFtyp = true },
	}
	for name, change := range variants {
		m := base
		m.Tracks = append([]mp4gen.Track(nil), base.Tracks...)
		change(&m)
		file := mp4gen.Build(m)
		for _, c := range []struct{ start, length uint64 }{{0, 5000}, {1, 0}, {12345, 0}, {20000, 7500}, {38999, 0}} {
			t.Run(fmt.Sprintf("%s %d+%d", name, c.start, c.length), func(t *testing.T) {
				got := parse(t, cut(t, file, c.start, c.length, mp4.DefaultConfig))
				first := c.start / 1000
				last := uint64(40)
				if c.length != 0 {
					// the end cut keeps the samples that end by the
					// length (whole seconds here)
					last = min(40, first+c.length/1000)
				}
				v := got.tracks[0].samples
				if len(v) == 0 || v[0] != fmt.Sprintf("%03d", first) || len(v) != int(last-first) {
					t.Errorf("video samples %v, want %d to %d", v, first, last-1)
				}
				checkRun(t, "video", v)
				// (the audio track, 38.4 seconds, ends before 38.999)
				if want := 2 - int(c.start/38400); len(got.tracks) != want {
					t.Fatalf("%d tracks, want %d", len(got.tracks), want)
				}
				if len(got.tracks) == 2 {
					checkRun(t, "audio", got.tracks[1].samples)
				}
			})
		}
	}
}

// checkRun checks that samples follow each other (sample bytes name
// their number).
func checkRun(t *testing.T, name string, s []string) {
	t.Helper()
	for i := 1; i < len(s); i++ {
		var a, b int
		fmt.Sscanf(s[i-1], "%d", &a)
		fmt.Sscanf(s[i], "%d", &b)
		if b != (a+1)%1000 {
			t.Errorf("%s samples not in order at %d: %v", name, i, s)
			return
		}
	}
}

// The refusals, each with nginx's error-log line.
func TestCutErrors(t *testing.T) {
	good := mp4gen.Build(mp4gen.Movie{Timescale: 1000, Tracks: []mp4gen.Track{video(10)}})
	moov := bytes.Index(good, []byte("moov")) - 4
	mdat := bytes.Index(good, []byte("mdat")) - 4
	set32 := func(b []byte, at int, v uint32) []byte {
		b = append([]byte{}, b...)
		binary.BigEndian.PutUint32(b[at:], v)
		return b
	}
	rename := func(b []byte, from, to string) []byte {
		return bytes.Replace(b, []byte(from), []byte(to), 1)
	}
	small := mp4.Config{BufferSize: 64, MaxBufferSize: 100}
	tests := []struct {
		name   string
		file   []byte
		start  uint64
		conf   mp4.Config
		want   string
		refuse bool
	}{
		{"start past the movie", good, 10001, mp4.DefaultConfig, `"/m.mp4" mp4 start time exceeds file duration`, true},
		{"truncated moov", good[:moov+100], 1000, mp4.DefaultConfig, `"/m.mp4" mp4 atom too large:` + fmt.Sprint(binary.BigEndian.Uint32(good[moov:])), true},
		{"truncated header", good[:moov+6], 1000, mp4.DefaultConfig, `"/m.mp4" mp4 file truncated`, true},
		{"zero-size moov", set32(good, moov, 0), 1000, mp4.DefaultConfig, `no mp4 trak atoms were found in "/m.mp4"`, true},
		{"atom of 3 bytes", set32(good, moov, 3), 1000, mp4.DefaultConfig, `"/m.mp4" mp4 atom is too small:3`, true},
		{"huge atom", set32(good, moov, 0xffffffff), 1000, mp4.DefaultConfig, `"/m.mp4" mp4 atom too large:4294967295`, true},
		{"moov over the maximum", good, 1000, small, `"/m.mp4" mp4 moov atom is too large:` +
			fmt.Sprint(binary.BigEndian.Uint32(good[moov:])-8) + `, you may want to increase mp4_max_buffer_size`, true},
		{"no mdat", good[:mdat], 1000, mp4.DefaultConfig, `no mp4 mdat atom was found in "/m.mp4"`, true},
		{"cmov", rename(good, "mvhd", "cmov"), 1000, mp4.DefaultConfig, `"/m.mp4" mp4 compressed moov atom (cmov) is not supported`, true},
		{"two ftyp", append(good[:32:32], good...), 1000, mp4.DefaultConfig, `duplicate mp4 ftyp atom in "/m.mp4"`, true},
		{"no stts", rename(good, "stts", "xxxx"), 1000, mp4.DefaultConfig, `no mp4 stts atoms were found in "/m.mp4"`, true},
		{"no stsc", rename(good, "stsc", "xxxx"), 1000, mp4.DefaultConfig, `no mp4 stsc atoms were found in "/m.mp4"`, true},
		// (no chunks: stsc, cut first, finds none)
		{"no stco", rename(good, "stco", "xxxx"), 1000, mp4.DefaultConfig, `start time is out mp4 stsc chunks in "/m.mp4"`, true},
		{"ftyp over the buffer", good, 1000, mp4.Config{BufferSize: 20, MaxBufferSize: 1 << 20}, `"/m.mp4" mp4 ftyp atom is too large:24`, true},
		{"whole movie, moov first", good, 0, mp4.DefaultConfig, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := mp4.Cut(bytes.NewReader(tt.file), int64(len(tt.file)), "/m.mp4", tt.start, 0, tt.conf)
			if !tt.refuse {
				if !errors.Is(err, mp4.ErrDeclined) {
					t.Fatalf("got %v, want the file as it is", err)
				}
				return
			}
			var e *mp4.Error
			if !errors.As(err, &e) {
				t.Fatalf("got %v, want a refusal", err)
			}
			if e.Msg != tt.want || e.Level != "error" {
				t.Errorf("got [%s] %s\nwant [error] %s", e.Level, e.Msg, tt.want)
			}
		})
	}
}

// A small mp4_buffer_size reads the file in more pieces and a moov above
// it in a buffer of its own: the answer is the same.
func TestCutBufferSizes(t *testing.T) {
	for _, mdatFirst := range []bool{false, true} {
		file := mp4gen.Build(mp4gen.Movie{Timescale: 1000, Tracks: []mp4gen.Track{video(30), audio(200)}, MdatFirst: mdatFirst, Extras: true})
		want := cut(t, file, 2500, 9000, mp4.DefaultConfig)
		for _, size := range []int64{40, 100, 1000, 4096} {
			got := cut(t, file, 2500, 9000, mp4.Config{BufferSize: size, MaxBufferSize: 1 << 20})
			if !bytes.Equal(got, want) {
				t.Errorf("mdat first %v, mp4_buffer_size %d: the answer differs", mdatFirst, size)
			}
		}
	}
}

func TestCutEmptyTables(t *testing.T) {
	// From 0.2 to 0.7 seconds the video (samples of a second) keeps no
	// sample: its stsc, stsz and stco tables are sent with no entries, as nginx
	// sends them, as empty buffers its output chain reports.
	file := mp4gen.Build(mp4gen.Movie{Timescale: 1000, Tracks: []mp4gen.Track{video(10), audio(300)}})
	mv, err := mp4.Cut(bytes.NewReader(file), int64(len(file)), "/m.mp4", 200, 500, mp4.DefaultConfig)
	if err != nil {
		t.Fatal(err)
	}
	var want []int64
	for _, name := range []string{"stsc", "stsz", "stco"} {
		at := bytes.Index(mv.Head, []byte(name)) + 12 // after the count
		if name == "stsz" {
			at += 4 // and the uniform size
		}
		want = append(want, int64(at))
	}
	if diff := cmp.Diff(want, mv.Empty); diff != "" {
		t.Errorf("empty buffers (-want +got):\n%s", diff)
	}
	got := parse(t, append(append([]byte{}, mv.Head...), file[mv.DataStart:mv.DataEnd]...))
	if n := len(got.tracks[0].samples); n != 0 {
		t.Errorf("video: %d samples, want none", n)
	}
	checkRun(t, "audio", got.tracks[1].samples)
}

// BenchmarkCut is one cut of a movie of two tracks (250 and 430
// samples) with nginx's default buffer.
func BenchmarkCut(b *testing.B) {
	file := mp4gen.Build(mp4gen.Movie{Timescale: 1000, Tracks: []mp4gen.Track{video(250), audio(430)}})
	r := bytes.NewReader(file)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := mp4.Cut(r, int64(len(file)), "/m.mp4", 2500, 3000, mp4.DefaultConfig); err != nil {
			b.Fatal(err)
		}
	}
}
