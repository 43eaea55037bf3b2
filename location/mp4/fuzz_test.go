package mp4_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/gonginx/gonginx/location/mp4"
	"github.com/gonginx/gonginx/location/mp4/mp4gen"
)

// FuzzCut feeds the atom reader and the table cutting any bytes: no
// panic, no endless loop, and an answer's data range lies in the file.
func FuzzCut(f *testing.F) {
	for _, m := range []mp4gen.Movie{
		{Timescale: 1000, Tracks: []mp4gen.Track{video(12), audio(40)}},
		{Timescale: 600, Tracks: []mp4gen.Track{video(8)}, Co64: true, V1: true, MdatFirst: true, Extras: true},
		{Timescale: 90000, Tracks: []mp4gen.Track{audio(20)}, BigMdat: true, NoFtyp: true},
	} {
		f.Add(mp4gen.Build(m), uint32(1500), uint32(0), uint16(0), true)
		f.Add(mp4gen.Build(m), uint32(0), uint32(2500), uint16(100), false)
	}
	f.Fuzz(func(t *testing.T, file []byte, start, length uint32, buffer uint16, keyFrame bool) {
		conf := mp4.Config{BufferSize: 512 << 10, MaxBufferSize: 64 << 10, StartKeyFrame: keyFrame}
		if buffer != 0 {
			conf.BufferSize = int64(buffer)
		}
		mv, err := mp4.Cut(bytes.NewReader(file), int64(len(file)), "/f.mp4", uint64(start), uint64(length), conf)
		var e *mp4.Error
		switch {
		case errors.Is(err, mp4.ErrDeclined), errors.As(err, &e):
			return
		case err != nil:
			t.Fatalf("error %v is neither a refusal nor the file as it is", err)
		}
		if mv.DataStart < 0 || mv.DataStart >= mv.DataEnd || mv.DataEnd > int64(len(file)) {
			t.Fatalf("data %d-%d of a file of %d", mv.DataStart, mv.DataEnd, len(file))
		}
	})
}
