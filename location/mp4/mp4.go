package mp4

import (
	"io"
	"math"
)

// Config is a location's mp4_buffer_size, mp4_max_buffer_size and
// mp4_start_key_frame.
type Config struct {
	BufferSize    int64
	MaxBufferSize int64
	StartKeyFrame bool
}

// DefaultConfig is nginx's: 512k, 10m, off.
var DefaultConfig = Config{BufferSize: 512 << 10, MaxBufferSize: 10 << 20}

// Movie is the answer to a cut: Head (ftyp, the new moov, mdat's header),
// then the file from DataStart to DataEnd. ContentLength is the length
// nginx announces (the sum of the atoms' sizes).
type Movie struct {
	Head               []byte
	DataStart, DataEnd int64
	ContentLength      int64
	// Empty holds where in the body each table cut to nothing lies:
	// nginx sends it as an empty buffer, which its output chain logs.
	Empty []int64
}

// ParseTime reads a start or end argument as ngx_http_mp4_atofp: seconds
// with a dot, in milliseconds; digits past the third decimal are checked
// and dropped; -1 when it is not such a number (or too large).
func ParseTime(v []byte) int64 {
	if len(v) == 0 {
		return -1
	}
	const cutoff, cutlim = math.MaxInt64 / 10, math.MaxInt64 % 10
	var value int64
	point, dot := 3, 0
	for _, c := range v {
		if c == '.' {
			if dot != 0 {
				return -1
			}
			dot = 1
			continue
		}
		if c < '0' || c > '9' {
			return -1
		}
		if point == 0 {
			continue
		}
		if value >= cutoff && (value > cutoff || int64(c-'0') > cutlim) {
			return -1
		}
		value = value*10 + int64(c-'0')
		point -= dot
	}
	for ; point > 0; point-- {
		if value > cutoff {
			return -1
		}
		value *= 10
	}
	return value
}

// Cut reads the movie of size bytes in r (name is the path the error
// messages give) and cuts it to start milliseconds on, for length
// milliseconds (0: to the end), as ngx_http_mp4_process. The error is
// ErrDeclined (send the file as it is) or an *Error.
func Cut(r io.ReaderAt, size int64, name string, start, length uint64, conf Config) (*Movie, error) {
	m := &movie{r: r, name: name, conf: conf, end: size, start: start, length: length,
		bufferSize: conf.BufferSize}
	if err := m.readAtoms(levelFile, uint64(size)); err != nil {
		return nil, err
	}
	if len(m.traks) == 0 {
		return nil, m.errorf("no mp4 trak atoms were found in \"%s\"", m.name)
	}
	if !m.mdat {
		return nil, m.errorf("no mp4 mdat atom was found in \"%s\"", m.name)
	}
	if m.mvhd.b != nil {
		m.moovSize += uint64(m.mvhd.hi - m.mvhd.lo)
	}
	startOffset, endOffset := m.end, int64(0)
	for _, t := range m.traks {
		if err := m.updateTrak(t); err != nil {
			return nil, err
		}
		m.moovSize += t.size
		startOffset = min(startOffset, t.startOffset)
		endOffset = max(endOffset, t.endOffset)
	}
	if endOffset <= startOffset {
		return nil, m.errorf("no data between start time and end time in \"%s\"", m.name)
	}
	m.moovSize += 8
	m.contentLen += int64(m.moovSize)
	if startOffset >= m.mdatLast {
		return nil, m.errorf("start time is out mp4 mdat atom in \"%s\"", m.name)
	}
	// mdat's header: 64-bit when the data does not fit a 32-bit size.
	var mdat [16]byte
	dataSize := uint64(endOffset - startOffset)
	mdatHeader := 8
	if dataSize > 0xffffffff-8 {
		mdatHeader = 16
		put32(mdat[:], 0, 1)
		put64(mdat[:], 8, 16+dataSize)
	} else {
		put32(mdat[:], 0, 8+dataSize)
	}
	copy(mdat[4:], "mdat")
	m.contentLen += int64(mdatHeader) + int64(dataSize)
	adjustment := int64(m.ftypSize+m.moovSize) + int64(mdatHeader) - startOffset
	for _, t := range m.traks {
		adjustChunks(t, adjustment)
	}
	mv := &Movie{DataStart: startOffset, DataEnd: endOffset, ContentLength: m.contentLen}
	mv.Head, mv.Empty = m.head(mdat[:mdatHeader])
	return mv, nil
}

// updateTrak cuts one track's tables and sizes its boxes, in nginx's
// order (ngx_http_mp4_process's loop).
func (m *movie) updateTrak(t *trak) error {
	if err := m.updateStts(t); err != nil {
		return err
	}
	m.updateStss(t)
	m.updateCtts(t)
	if err := m.updateStsc(t); err != nil {
		return err
	}
	if err := m.updateStsz(t); err != nil {
		return err
	}
	var err error
	if t.out[dataCo64].b != nil {
		err = m.updateChunks(t, atomCo64, dataCo64, "co64", 8)
	} else {
		err = m.updateChunks(t, atomStco, dataStco, "stco", 4)
	}
	if err != nil {
		return err
	}
	t.size += 8
	setSize(t.out[atomStbl], t.size)
	t.size += 8 + t.vmhdSize + t.smhdSize + t.dinfSize
	setSize(t.out[atomMinf], t.size)
	if md := t.out[atomMdhd]; md.b != nil {
		if md.b[md.lo+8] == 0 {
			put32(md.b, md.lo+24, t.duration)
		} else {
			put64(md.b, md.lo+32, t.duration)
		}
		t.size += t.mdhdSize
	}
	t.size += t.hdlrSize
	t.size += 8
	setSize(t.out[atomMdia], t.size)
	t.size += t.tkhdSize
	if t.prefix != 0 {
		// An edit list that starts the track at the sample asked for,
		// the samples back to the key frame before it skipped.
		e := t.edts[:]
		put32(e, 0, 8+36)
		copy(e[4:], "edts")
		l := e[8:]
		put32(l, 0, 36)
		copy(l[4:], "elst")
		l[8], l[9], l[10], l[11] = 1, 0, 0, 0
		put32(l, 12, 1)
		put64(l, 16, t.movieDuration)
		put64(l, 24, t.prefix)
		l[32], l[33], l[34], l[35] = 0, 1, 0, 0
		t.out[atomEdts] = piece{e, 0, 8}
		t.out[atomElst] = piece{e, 8, 44}
		t.size += 8 + 36
	}
	t.size += 8
	setSize(t.out[atomTrak], t.size)
	return nil
}

func setSize(p piece, size uint64) {
	if p.b != nil {
		put32(p.b, p.lo, size)
	}
}

// head joins what is sent before the file's data.
func (m *movie) head(mdat []byte) ([]byte, []int64) {
	n := len(m.ftyp) + 8 + len(mdat) + len(m.mvhd.bytes())
	for _, t := range m.traks {
		for _, p := range t.out {
			n += len(p.bytes())
		}
	}
	h := make([]byte, 0, n)
	h = append(h, m.ftyp...)
	var moov [8]byte
	put32(moov[:], 0, m.moovSize)
	copy(moov[4:], "moov")
	h = append(h, moov[:]...)
	if m.mvhd.b != nil {
		h = append(h, m.mvhd.bytes()...)
	}
	var empty []int64
	for _, t := range m.traks {
		for _, p := range t.out {
			if p.b != nil {
				if len(p.bytes()) == 0 {
					empty = append(empty, int64(len(h)))
				}
				h = append(h, p.bytes()...)
			}
		}
	}
	return append(h, mdat...), empty
}
