// Package mp4gen writes small synthetic MP4 movies with known sample
// tables, for the tests of package mp4 and the differential tests: ftyp,
// moov (mvhd, one trak per Track: tkhd, mdia with mdhd, hdlr, vmhd or
// smhd, dinf, stbl with stsd, stts, stss, ctts, stsc, stsz, stco or co64)
// and mdat holding each sample as bytes that name its track and number.
package mp4gen

import "encoding/binary"

// Track is one track's samples.
type Track struct {
	Video     bool     // vide with vmhd (else soun with smhd)
	Timescale uint32   // mdhd's
	Durations []uint32 // per sample, in Timescale units (stts in runs)
	Sizes     []uint32 // per sample, in bytes
	// UniformSize, when set, is every sample's size (stsz with no table;
	// Sizes is then ignored).
	UniformSize uint32
	Sync        []uint32 // 1-based sync samples (stss); nil: none
	Offsets     []uint32 // per sample composition offsets (ctts); nil: none
	// ChunkSamples is the samples of each chunk, the last repeated
	// until all samples are in chunks (stsc in runs).
	ChunkSamples []uint32
	Edit         bool // an edts/elst of its own (nginx drops it)
}

// Movie is what Build writes.
type Movie struct {
	Timescale uint32 // mvhd's
	Tracks    []Track
	Co64      bool // 64-bit chunk offsets
	V1        bool // version 1 mvhd, tkhd and mdhd (64-bit times)
	MdatFirst bool // mdat before moov (moov at the end)
	BigMdat   bool // mdat's header with a 64-bit size
	Extras    bool // free and udta atoms that nginx skips
	NoFtyp    bool
}

func box(name string, parts ...[]byte) []byte {
	n := 8
	for _, p := range parts {
		n += len(p)
	}
	b := make([]byte, 8, n)
	binary.BigEndian.PutUint32(b, uint32(n))
	copy(b[4:], name)
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

func u32(vs ...uint32) []byte {
	b := make([]byte, 4*len(vs))
	for i, v := range vs {
		binary.BigEndian.PutUint32(b[4*i:], v)
	}
	return b
}

func u64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

func u16(v uint16) []byte { return binary.BigEndian.AppendUint16(nil, v) }

var matrix = u32(0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)

// chunk is one chunk's samples of one track.
type chunk struct{ first, n int }

func (t *Track) size(i int) uint32 {
	if t.UniformSize != 0 {
		return t.UniformSize
	}
	return t.Sizes[i]
}

func (t *Track) chunks() []chunk {
	var cs []chunk
	for s, k := 0, 0; s < len(t.Durations); k++ {
		n := int(t.ChunkSamples[min(k, len(t.ChunkSamples)-1)])
		n = min(n, len(t.Durations)-s)
		cs = append(cs, chunk{s, n})
		s += n
	}
	return cs
}

func (t *Track) duration() uint64 {
	var d uint64
	for _, v := range t.Durations {
		d += uint64(v)
	}
	return d
}

// Sample is the bytes of sample i (0-based) of track k.
func Sample(k, i int, size uint32) []byte {
	b := make([]byte, size)
	for j := range b {
		b[j] = byte('a' + k)
	}
	for j, c := range []byte{byte('0' + i/100%10), byte('0' + i/10%10), byte('0' + i%10)} {
		if j < len(b) {
			b[j] = c
		}
	}
	return b
}

// Build writes the movie.
func Build(m Movie) []byte {
	var ftyp []byte
	if !m.NoFtyp {
		ftyp = box("ftyp", []byte("isom"), u32(0x200), []byte("isomiso2avc1mp41"))
	}
	mdatHeader := 8
	if m.BigMdat {
		mdatHeader = 16
	}
	// The moov's size does not depend on the offsets: build it once to
	// learn where mdat's data starts, then again with the offsets.
	moov := m.moov(nil)
	dataStart := len(ftyp) + mdatHeader
	if !m.MdatFirst {
		dataStart += len(moov)
	}
	if m.Extras {
		dataStart += 16 // the free atom before mdat
	}
	var data []byte
	offsets := make([][]uint64, len(m.Tracks))
	chunks := make([][]chunk, len(m.Tracks))
	most := 0
	for k := range m.Tracks {
		chunks[k] = m.Tracks[k].chunks()
		most = max(most, len(chunks[k]))
	}
	// Chunks interleaved: the first of each track, then the second...
	for c := 0; c < most; c++ {
		for k := range m.Tracks {
			if c >= len(chunks[k]) {
				continue
			}
			offsets[k] = append(offsets[k], uint64(dataStart+len(data)))
			ch := chunks[k][c]
			for i := ch.first; i < ch.first+ch.n; i++ {
				data = append(data, Sample(k, i, m.Tracks[k].size(i))...)
			}
		}
	}
	moov = m.moov(offsets)
	var mdat []byte
	if m.BigMdat {
		mdat = append(u32(1), "mdat"...)
		mdat = append(mdat, u64(uint64(16+len(data)))...)
		mdat = append(mdat, data...)
	} else {
		mdat = box("mdat", data)
	}
	out := append([]byte{}, ftyp...)
	if m.MdatFirst {
		if m.Extras {
			out = append(out, box("free", make([]byte, 8))...)
		}
		out = append(out, mdat...)
		return append(out, moov...)
	}
	out = append(out, moov...)
	if m.Extras {
		out = append(out, box("free", make([]byte, 8))...)
	}
	return append(out, mdat...)
}

func (m *Movie) moov(offsets [][]uint64) []byte {
	var longest uint64
	var traks [][]byte
	for k := range m.Tracks {
		t := &m.Tracks[k]
		d := t.duration() * uint64(m.Timescale) / uint64(t.Timescale)
		longest = max(longest, d)
		var offs []uint64
		if offsets != nil {
			offs = offsets[k]
		} else {
			offs = make([]uint64, len(t.chunks()))
		}
		traks = append(traks, m.trak(k, d, offs))
	}
	var mvhd []byte
	if m.V1 {
		mvhd = box("mvhd", u32(1<<24), u64(1), u64(2), u32(m.Timescale), u64(longest))
	} else {
		mvhd = box("mvhd", u32(0), u32(1, 2, m.Timescale, uint32(longest)))
	}
	mvhd = append(mvhd, u32(0x10000)...)
	mvhd = append(mvhd, u16(0x100)...)
	mvhd = append(mvhd, make([]byte, 10)...)
	mvhd = append(mvhd, matrix...)
	mvhd = append(mvhd, make([]byte, 24)...)
	mvhd = append(mvhd, u32(uint32(len(m.Tracks)+1))...)
	binary.BigEndian.PutUint32(mvhd, uint32(len(mvhd)))
	parts := [][]byte{mvhd}
	if m.Extras {
		parts = append(parts, box("udta", box("free", []byte("skipped by nginx"))))
	}
	parts = append(parts, traks...)
	return box("moov", parts...)
}

func (m *Movie) trak(k int, movieDuration uint64, offs []uint64) []byte {
	t := &m.Tracks[k]
	id := uint32(k + 1)
	var tkhd, mdhd []byte
	if m.V1 {
		tkhd = box("tkhd", u32(1<<24|3), u64(1), u64(2), u32(id, 0), u64(movieDuration))
		mdhd = box("mdhd", u32(1<<24), u64(1), u64(2), u32(t.Timescale), u64(t.duration()), u16(0x55c4), u16(0))
	} else {
		tkhd = box("tkhd", u32(3, 1, 2, id, 0, uint32(movieDuration)))
		mdhd = box("mdhd", u32(0, 1, 2, t.Timescale, uint32(t.duration())), u16(0x55c4), u16(0))
	}
	volume, w, h := uint16(0x100), uint32(0), uint32(0)
	if t.Video {
		volume, w, h = 0, 320<<16, 240<<16
	}
	tkhd = append(tkhd, make([]byte, 8)...)
	tkhd = append(tkhd, u16(0)...)
	tkhd = append(tkhd, u16(0)...)
	tkhd = append(tkhd, u16(volume)...)
	tkhd = append(tkhd, u16(0)...)
	tkhd = append(tkhd, matrix...)
	tkhd = append(tkhd, u32(w, h)...)
	binary.BigEndian.PutUint32(tkhd, uint32(len(tkhd)))

	handler, media, entry := "soun", box("smhd", u32(0, 0)), box("mp4a", make([]byte, 28))
	if t.Video {
		handler, media, entry = "vide", box("vmhd", u32(1), make([]byte, 8)), box("avc1", make([]byte, 78))
	}
	hdlr := box("hdlr", u32(0, 0), []byte(handler), make([]byte, 12), []byte("gen\x00"))
	dinf := box("dinf", box("dref", u32(0, 1), box("url ", u32(1))))
	stbl := [][]byte{box("stsd", u32(0, 1), entry), m.stts(t)}
	if t.Sync != nil {
		stbl = append(stbl, box("stss", u32(0, uint32(len(t.Sync))), u32(t.Sync...)))
	}
	if t.Offsets != nil {
		stbl = append(stbl, ctts(t))
	}
	stbl = append(stbl, stsc(t))
	if t.UniformSize != 0 {
		stbl = append(stbl, box("stsz", u32(0, t.UniformSize, uint32(len(t.Durations)))))
	} else {
		stbl = append(stbl, box("stsz", u32(0, 0, uint32(len(t.Sizes))), u32(t.Sizes...)))
	}
	if m.Co64 {
		var tab []byte
		for _, o := range offs {
			tab = append(tab, u64(o)...)
		}
		stbl = append(stbl, box("co64", u32(0, uint32(len(offs))), tab))
	} else {
		tab := make([]uint32, len(offs))
		for i, o := range offs {
			tab[i] = uint32(o)
		}
		stbl = append(stbl, box("stco", u32(0, uint32(len(offs))), u32(tab...)))
	}
	minf := box("minf", media, dinf, box("stbl", stbl...))
	parts := [][]byte{tkhd}
	if t.Edit {
		parts = append(parts, box("edts", box("elst", u32(0, 1, uint32(movieDuration), 0, 0x10000))))
	}
	parts = append(parts, box("mdia", mdhd, hdlr, minf))
	return box("trak", parts...)
}

// runs compresses values into (count, value) pairs.
func runs(vs []uint32) []uint32 {
	var out []uint32
	for i := 0; i < len(vs); {
		j := i
		for j < len(vs) && vs[j] == vs[i] {
			j++
		}
		out = append(out, uint32(j-i), vs[i])
		i = j
	}
	return out
}

func (m *Movie) stts(t *Track) []byte {
	r := runs(t.Durations)
	return box("stts", u32(0, uint32(len(r)/2)), u32(r...))
}

func ctts(t *Track) []byte {
	r := runs(t.Offsets)
	return box("ctts", u32(0, uint32(len(r)/2)), u32(r...))
}

func stsc(t *Track) []byte {
	var tab []uint32
	prev := uint32(0)
	for i, c := range t.chunks() {
		if i == 0 || uint32(c.n) != prev {
			tab = append(tab, uint32(i+1), uint32(c.n), 1)
			prev = uint32(c.n)
		}
	}
	return box("stsc", u32(0, uint32(len(tab)/3)), u32(tab...))
}
