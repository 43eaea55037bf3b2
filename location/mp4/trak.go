package mp4

// The atoms of moov: mvhd, the tracks and the boxes down to stbl's
// tables, each kept where it lies in the buffer (nginx's out[] of a trak).

// The pieces of a track in the order they are sent (NGX_HTTP_MP4_*_ATOM
// and _DATA).
const (
	atomTrak = iota
	atomTkhd
	atomEdts
	atomElst
	atomMdia
	atomMdhd
	atomHdlr
	atomMinf
	atomVmhd
	atomSmhd
	atomDinf
	atomStbl
	atomStsd
	atomStts
	dataStts
	atomStss
	dataStss
	atomCtts
	dataCtts
	atomStsc
	stscStart
	dataStsc
	stscEnd
	atomStsz
	dataStsz
	atomStco
	dataStco
	atomCo64
	dataCo64
	pieces
)

// trak is ngx_http_mp4_trak_t, its integers of nginx's widths.
type trak struct {
	timescale   uint32
	sttsEntries uint32
	stscEntries uint32
	stssEntries uint32
	cttsEntries uint32
	stszEntries uint32
	chunks      uint32

	startSample, endSample             uint64
	startChunk, endChunk               uint64
	startChunkSamples, endChunkSamples uint64
	startChunkSize, endChunkSize       uint64
	duration, prefix, movieDuration    uint64
	startOffset, endOffset             int64

	tkhdSize, mdhdSize, hdlrSize, vmhdSize, smhdSize, dinfSize uint64
	size                                                       uint64

	out [pieces]piece
	// edts is the edit list made for a start moved back to a key frame;
	// stscFirst and stscLast the stsc entries made for a cut chunk.
	edts      [8 + 36]byte
	stscFirst [12]byte
	stscLast  [12]byte
}

func (m *movie) last() *trak {
	if len(m.traks) == 0 {
		return &trak{} // not reached: the levels below moov are in a trak
	}
	return m.traks[len(m.traks)-1]
}

// setHeader writes size and name at the atom's header (nginx rewrites
// it, a 64-bit header included, as 32-bit).
func (m *movie) setHeader(h int, size uint64, name string) {
	if size != noSize {
		put32(m.buf, h, size)
	}
	copy(m.buf[h+4:h+8], name)
}

// noSize leaves the size field as it is (the boxes whose size is known
// only once their children are cut).
const noSize = ^uint64(0)

// times reads the timescale and duration of the mvhd or mdhd atom at h:
// 32-bit in a version 0 atom, 64-bit in a version 1 one, which needs at
// least min1 bytes of data.
func (m *movie) times(h int, dataSize, min1 uint64, atom string) (timescale uint32, duration uint64, err error) {
	b := m.buf
	if b[h+8] == 0 {
		return get32(b, h+20), uint64(get32(b, h+24)), nil
	}
	if dataSize < min1 {
		return 0, 0, m.errorf("\"%s\" mp4 %s atom too small", m.name, atom)
	}
	return get32(b, h+28), get64(b, h+32), nil
}

func (m *movie) readMvhd(dataSize uint64) error {
	if m.mvhd.b != nil {
		return m.errorf("duplicate mp4 mvhd atom in \"%s\"", m.name)
	}
	h := m.header()
	m.setHeader(h, noSize, "mvhd")
	// ngx_mp4_mvhd_atom_t is 108 bytes, the 64-bit one 120.
	if dataSize < 100 {
		return m.errorf("\"%s\" mp4 mvhd atom too small", m.name)
	}
	b := m.buf
	v1 := b[h+8] != 0
	timescale, duration, err := m.times(h, dataSize, 112, "mvhd")
	if err != nil {
		return err
	}
	m.timescale = timescale
	startTime := m.start * uint64(timescale) / 1000
	if duration < startTime {
		return m.errorf("\"%s\" mp4 start time exceeds file duration", m.name)
	}
	duration -= startTime
	if m.length != 0 {
		if lt := m.length * uint64(timescale) / 1000; duration > lt {
			duration = lt
		}
	}
	size := 8 + dataSize
	put32(b, h, size)
	if !v1 {
		put32(b, h+24, duration)
	} else {
		put64(b, h+32, duration)
	}
	m.mvhd = piece{b, h, h + int(size)}
	m.next(dataSize)
	return nil
}

func (m *movie) readTrak(dataSize uint64) error {
	t := &trak{}
	m.traks = append(m.traks, t)
	h := m.header()
	m.setHeader(h, noSize, "trak")
	t.out[atomTrak] = piece{m.buf, h, h + 8}
	atomEnd, fileEnd := m.pos+int(dataSize), m.offset+int64(dataSize)
	err := m.readAtoms(levelTrak, dataSize)
	if err == errSkipTrak {
		m.traks = m.traks[:len(m.traks)-1]
		m.pos, m.offset = atomEnd, fileEnd
		return nil
	}
	return err
}

// cutDuration is a track's or its media's duration from the start time
// for at most the length; skip when it ends at or before the start.
func (m *movie) cutDuration(duration uint64, timescale uint32) (uint64, bool) {
	startTime := m.start * uint64(timescale) / 1000
	if duration <= startTime {
		return 0, false
	}
	duration -= startTime
	if m.length != 0 {
		if lt := m.length * uint64(timescale) / 1000; duration > lt {
			duration = lt
		}
	}
	return duration, true
}

func (m *movie) readTkhd(dataSize uint64) error {
	h := m.header()
	b := m.buf
	m.setHeader(h, noSize, "tkhd")
	// ngx_mp4_tkhd_atom_t is 92 bytes, the 64-bit one 104.
	if dataSize < 84 {
		return m.errorf("\"%s\" mp4 tkhd atom too small", m.name)
	}
	v1 := b[h+8] != 0
	var duration uint64
	if !v1 {
		duration = uint64(get32(b, h+28))
	} else {
		if dataSize < 96 {
			return m.errorf("\"%s\" mp4 tkhd atom too small", m.name)
		}
		duration = get64(b, h+36)
	}
	duration, ok := m.cutDuration(duration, m.timescale)
	if !ok {
		return errSkipTrak
	}
	size := 8 + dataSize
	t := m.last()
	if t.out[atomTkhd].b != nil {
		return m.errorf("duplicate mp4 tkhd atom in \"%s\"", m.name)
	}
	t.tkhdSize, t.movieDuration = size, duration
	put32(b, h, size)
	if !v1 {
		put32(b, h+28, duration)
	} else {
		put64(b, h+36, duration)
	}
	t.out[atomTkhd] = piece{b, h, h + int(size)}
	m.next(dataSize)
	return nil
}

// readBox reads a box whose children are read at level (mdia, minf,
// stbl): its header is sent with the size of what is kept of them.
func (m *movie) readBox(dataSize uint64, at int, name string, level int) error {
	h := m.header()
	m.setHeader(h, noSize, name)
	t := m.last()
	if t.out[at].b != nil {
		return m.errorf("duplicate mp4 %s atom in \"%s\"", name, m.name)
	}
	t.out[at] = piece{m.buf, h, h + 8}
	return m.readAtoms(level, dataSize)
}

func (m *movie) readMdia(dataSize uint64) error {
	return m.readBox(dataSize, atomMdia, "mdia", levelMdia)
}

func (m *movie) readMinf(dataSize uint64) error {
	return m.readBox(dataSize, atomMinf, "minf", levelMinf)
}

func (m *movie) readStbl(dataSize uint64) error {
	return m.readBox(dataSize, atomStbl, "stbl", levelStbl)
}

func (m *movie) readMdhd(dataSize uint64) error {
	h := m.header()
	b := m.buf
	m.setHeader(h, noSize, "mdhd")
	// ngx_mp4_mdhd_atom_t is 32 bytes, the 64-bit one 44.
	if dataSize < 24 {
		return m.errorf("\"%s\" mp4 mdhd atom too small", m.name)
	}
	timescale, duration, err := m.times(h, dataSize, 36, "mdhd")
	if err != nil {
		return err
	}
	duration, ok := m.cutDuration(duration, timescale)
	if !ok {
		return errSkipTrak
	}
	size := 8 + dataSize
	t := m.last()
	if t.out[atomMdhd].b != nil {
		return m.errorf("duplicate mp4 mdhd atom in \"%s\"", m.name)
	}
	t.mdhdSize, t.timescale, t.duration = size, timescale, duration
	put32(b, h, size)
	t.out[atomMdhd] = piece{b, h, h + int(size)}
	m.next(dataSize)
	return nil
}

// readKept reads an atom sent as it is (hdlr, dinf), counting its size.
func (m *movie) readKept(size *uint64, at int, name string) func(uint64) error {
	return func(dataSize uint64) error {
		h := m.header()
		n := 8 + dataSize
		m.setHeader(h, n, name)
		t := m.last()
		if t.out[at].b != nil {
			return m.errorf("duplicate mp4 %s atom in \"%s\"", name, m.name)
		}
		t.out[at] = piece{m.buf, h, h + int(n)}
		if at == atomHdlr {
			*size = n
		} else {
			*size += n
		}
		m.next(dataSize)
		return nil
	}
}

// readMediaHeader reads vmhd or smhd: a track has one of them.
func (m *movie) readMediaHeader(at int, name string) func(uint64) error {
	return func(dataSize uint64) error {
		h := m.header()
		n := 8 + dataSize
		m.setHeader(h, n, name)
		t := m.last()
		if t.out[atomVmhd].b != nil || t.out[atomSmhd].b != nil {
			return m.errorf("duplicate mp4 vmhd/smhd atom in \"%s\"", m.name)
		}
		t.out[at] = piece{m.buf, h, h + int(n)}
		if at == atomVmhd {
			t.vmhdSize += n
		} else {
			t.smhdSize += n
		}
		m.next(dataSize)
		return nil
	}
}

func (m *movie) readStsd(dataSize uint64) error {
	h := m.header()
	n := 8 + dataSize
	m.setHeader(h, n, "stsd")
	if dataSize < 16 {
		return m.errorf("\"%s\" mp4 stsd atom too small", m.name)
	}
	t := m.last()
	if t.out[atomStsd].b != nil {
		return m.errorf("duplicate mp4 stsd atom in \"%s\"", m.name)
	}
	t.out[atomStsd] = piece{m.buf, h, h + int(n)}
	t.size += n
	m.next(dataSize)
	return nil
}

// readTable reads a full box with an entry count and a table of entries
// of entrySize bytes (stts, stss, ctts, stsc, stco, co64).
func (m *movie) readTable(at, data int, name string, entrySize uint64, count *uint32) func(uint64) error {
	return func(dataSize uint64) error {
		h := m.header()
		b := m.buf
		m.setHeader(h, noSize, name)
		if dataSize < 8 {
			return m.errorf("\"%s\" mp4 %s atom too small", m.name, name)
		}
		entries := get32(b, h+12)
		t := m.last()
		// stss and ctts check for a duplicate before the table's size,
		// the others after it.
		early := at == atomStss || at == atomCtts
		dup := func() error {
			switch {
			case (at == atomStco || at == atomCo64) && (t.out[atomStco].b != nil || t.out[atomCo64].b != nil):
				return m.errorf("duplicate mp4 stco/co64 atom in \"%s\"", m.name)
			case at != atomStco && at != atomCo64 && t.out[at].b != nil:
				return m.errorf("duplicate mp4 %s atom in \"%s\"", name, m.name)
			}
			return nil
		}
		if early {
			if err := dup(); err != nil {
				return err
			}
			*count = entries
		}
		if 8+uint64(entries)*entrySize > dataSize {
			return m.errorf("\"%s\" mp4 %s atom too small", m.name, name)
		}
		if !early {
			if err := dup(); err != nil {
				return err
			}
			*count = entries
		}
		table := h + 16
		t.out[at] = piece{b, h, table}
		t.out[data] = piece{b, table, table + int(uint64(entries)*entrySize)}
		m.next(dataSize)
		return nil
	}
}

func (m *movie) readStsz(dataSize uint64) error {
	h := m.header()
	b := m.buf
	m.setHeader(h, noSize, "stsz")
	if dataSize < 12 {
		return m.errorf("\"%s\" mp4 stsz atom too small", m.name)
	}
	uniform, entries := get32(b, h+12), get32(b, h+16)
	t := m.last()
	if t.out[atomStsz].b != nil {
		return m.errorf("duplicate mp4 stsz atom in \"%s\"", m.name)
	}
	t.stszEntries = entries
	table := h + 20
	t.out[atomStsz] = piece{b, h, table}
	if uniform == 0 {
		if 12+uint64(entries)*4 > dataSize {
			return m.errorf("\"%s\" mp4 stsz atom too small", m.name)
		}
		t.out[dataStsz] = piece{b, table, table + int(entries)*4}
	} else {
		// All samples of one size: sent as it is (nginx's "TODO: chunk
		// samples": the cut ignores samples within the first chunk).
		n := 8 + dataSize
		put32(b, h, n)
		t.size += n
	}
	m.next(dataSize)
	return nil
}
