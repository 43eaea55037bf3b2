package mp4_test

import (
	"encoding/binary"
	"testing"
)

// A reader of what Cut answers, independent of the package: the tables of
// each track and the first three bytes of each sample found through
// stsc, stco/co64 and stsz (mp4gen's samples start with their number).

type parsedMovie struct {
	mvhdDuration uint64
	tracks       []parsedTrack
}

type parsedTrack struct {
	tkhdDuration, mdhdDuration uint64
	elst                       []uint64 // duration, media time
	stts, stss, ctts, stsc     []uint32
	samples                    []string
}

func be32(b []byte) uint32 { return binary.BigEndian.Uint32(b) }
func be64(b []byte) uint64 { return binary.BigEndian.Uint64(b) }

// atoms calls f for each atom of b.
func atoms(t *testing.T, b []byte, f func(name string, data []byte)) {
	t.Helper()
	for len(b) >= 8 {
		size, hdr := uint64(be32(b)), 8
		if size == 1 {
			size, hdr = be64(b[8:]), 16
		}
		if size < uint64(hdr) || size > uint64(len(b)) {
			t.Fatalf("atom %q of %d bytes in %d", b[4:8], size, len(b))
		}
		f(string(b[4:8]), b[hdr:size])
		b = b[size:]
	}
	if len(b) != 0 {
		t.Fatalf("%d bytes after the atoms", len(b))
	}
}

func table(data []byte, width int) []uint32 {
	n := int(be32(data[4:]))
	out := []uint32{}
	for i := 0; i < n*width; i++ {
		out = append(out, be32(data[8+4*i:]))
	}
	return out
}

func parse(t *testing.T, file []byte) parsedMovie {
	t.Helper()
	var m parsedMovie
	atoms(t, file, func(name string, data []byte) {
		if name != "moov" {
			return
		}
		atoms(t, data, func(name string, data []byte) {
			switch name {
			case "mvhd":
				if data[0] == 0 {
					m.mvhdDuration = uint64(be32(data[16:]))
				} else {
					m.mvhdDuration = be64(data[24:])
				}
			case "trak":
				m.tracks = append(m.tracks, parseTrak(t, file, data))
			}
		})
	})
	return m
}

func parseTrak(t *testing.T, file, trak []byte) parsedTrack {
	var p parsedTrack
	var sizes []uint32
	var uniform uint32
	var offsets []uint64
	var walk func(name string, data []byte)
	walk = func(name string, data []byte) {
		switch name {
		case "mdia", "minf", "stbl", "edts":
			atoms(t, data, walk)
		case "tkhd":
			if data[0] == 0 {
				p.tkhdDuration = uint64(be32(data[20:]))
			} else {
				p.tkhdDuration = be64(data[28:])
			}
		case "mdhd":
			if data[0] == 0 {
				p.mdhdDuration = uint64(be32(data[16:]))
			} else {
				p.mdhdDuration = be64(data[24:])
			}
		case "elst":
			p.elst = []uint64{be64(data[8:]), be64(data[16:])}
		case "stts":
			p.stts = table(data, 2)
		case "stss":
			p.stss = table(data, 1)
		case "ctts":
			p.ctts = table(data, 2)
		case "stsc":
			p.stsc = table(data, 3)
		case "stsz":
			uniform = be32(data[4:])
			for i := 0; uniform == 0 && i < int(be32(data[8:])); i++ {
				sizes = append(sizes, be32(data[12+4*i:]))
			}
		case "stco":
			for _, o := range table(data, 1) {
				offsets = append(offsets, uint64(o))
			}
		case "co64":
			for i := 0; i < int(be32(data[4:])); i++ {
				offsets = append(offsets, be64(data[8+8*i:]))
			}
		}
	}
	atoms(t, trak, walk)
	// The samples, chunk by chunk.
	sample := 0
	for c := range offsets {
		n := 0
		for i := 0; i+2 < len(p.stsc); i += 3 {
			if int(p.stsc[i]) <= c+1 {
				n = int(p.stsc[i+1])
			}
		}
		off := offsets[c]
		for k := 0; k < n && (uniform != 0 || sample < len(sizes)); k++ {
			size := uniform
			if uniform == 0 {
				size = sizes[sample]
			}
			if off+3 > uint64(len(file)) {
				t.Fatalf("sample %d at %d past the end (%d)", sample, off, len(file))
			}
			p.samples = append(p.samples, string(file[off:off+3]))
			off += uint64(size)
			sample++
		}
	}
	return p
}
