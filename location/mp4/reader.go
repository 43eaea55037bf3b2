// Package mp4 cuts an MP4 movie by time as nginx's mp4 module
// (ngx_http_mp4_module) does in Debian's 1.22.1, which carries upstream's
// later fixes: stsc chunks out of order refused and its sample counts in
// 64 bits (CVE-2024-7347), and a cut with no data, or a start at the end
// of stsz or stco, refused ("no data between start time and end time").
// It reads the top-level atoms (ftyp,
// moov, mdat), cuts each track's sample tables (stts, stss, ctts, stsc,
// stsz, stco/co64) to the samples from the start time to the end time,
// writes the new durations (mvhd, tkhd, mdhd) and an edit list for a start
// moved back to a key frame, and gives the new head (ftyp, moov, the mdat
// header) and the range of the file that follows it.
//
// It reads the file through a buffer of mp4_buffer_size bytes exactly as
// nginx does, so a file nginx finds truncated, too large or malformed is
// refused here with the same error-log line, and the tables are edited in
// place in that buffer, so the bytes answered are nginx's. Answering the
// request (ranges, ETag, HEAD) is package location's. The entry point is
// Cut.
package mp4

import (
	"errors"
	"fmt"
	"io"
	"math"
)

// Error is a refusal with nginx's error-log level and message; the
// request gets 500.
type Error struct {
	Level string // "error" or "crit"
	Msg   string
}

func (e *Error) Error() string { return e.Msg }

// ErrDeclined means nginx sends the file as it is: the moov atom comes
// before mdat and the whole movie was asked for.
var ErrDeclined = errors.New("mp4: send the file as it is")

// errSkipTrak is a track shorter than the start time (nginx's
// NGX_DECLINED below a trak atom): the track is left out.
var errSkipTrak = errors.New("mp4: track ends before the start")

// moovExcess is NGX_HTTP_MP4_MOOV_BUFFER_EXCESS: what is read past a moov
// that comes before mdat, to find mdat's header without another read.
const moovExcess = 4 * 1024

// movie is ngx_http_mp4_file_t: the buffer's state and what was read.
type movie struct {
	r    io.ReaderAt
	name string
	conf Config

	// buf is the buffer from its start to its end (buffer_start to
	// buffer_end), pos is buffer_pos in it; nil is nginx's NULL buffer.
	buf        []byte
	pos        int
	bufferSize int64
	// scratch is the memory reads reuse; dropped once it holds the moov
	// atom the answer is made of (nginx reads on past the atom).
	scratch []byte

	offset, end int64
	start       uint64 // milliseconds
	length      uint64 // milliseconds, 0: to the end
	timescale   uint32

	traks []*trak

	ftyp       []byte // the ftyp atom as sent (nil: none)
	moov       bool   // a moov atom was read
	mvhd       piece
	mdat       bool
	mdatLast   int64 // the file offset where mdat's data ends
	moovSize   uint64
	ftypSize   uint64
	contentLen int64
}

// piece is one ngx_buf_t of the answer: b[lo:hi] (b nil: absent).
type piece struct {
	b      []byte
	lo, hi int
}

func (p piece) bytes() []byte {
	lo, hi := max(p.lo, 0), min(p.hi, len(p.b))
	if lo >= hi {
		return nil
	}
	return p.b[lo:hi]
}

func (m *movie) errorf(format string, args ...any) error {
	return &Error{Level: "error", Msg: fmt.Sprintf(format, args...)}
}

// read makes size bytes from pos available, reading the next buffer at
// offset when they are not (ngx_http_mp4_read).
func (m *movie) read(size int64) error {
	if m.buf != nil && int64(m.pos)+size <= int64(len(m.buf)) {
		return nil
	}
	if m.offset+m.bufferSize > m.end {
		m.bufferSize = m.end - m.offset
	}
	if m.bufferSize < size {
		return m.errorf("\"%s\" mp4 file truncated", m.name)
	}
	var b []byte
	if int64(cap(m.scratch)) >= m.bufferSize {
		b = m.scratch[:m.bufferSize]
	} else {
		b = make([]byte, m.bufferSize)
		m.scratch = b
	}
	n, err := m.r.ReadAt(b, m.offset)
	if int64(n) != m.bufferSize {
		if err != nil && !errors.Is(err, io.EOF) {
			return &Error{Level: "crit", Msg: fmt.Sprintf("pread() \"%s\" failed (%v)", m.name, err)}
		}
		return &Error{Level: "crit", Msg: fmt.Sprintf("pread() read only %d of %d from \"%s\"", n, m.bufferSize, m.name)}
	}
	m.buf, m.pos = b, 0
	return nil
}

// next is ngx_mp4_atom_next: past n bytes, in the buffer and the file.
func (m *movie) next(n uint64) {
	if n > uint64(len(m.buf)-m.pos) {
		m.pos = len(m.buf)
	} else {
		m.pos += int(n)
	}
	m.offset += int64(n)
}

// header is where the atom whose data starts at pos has its (32-bit)
// header: nginx writes the atom's new size and name there.
func (m *movie) header() int { return m.pos - 8 }

// Atom levels, each with the atoms nginx reads at it.
const (
	levelFile = iota
	levelMoov
	levelTrak
	levelMdia
	levelMinf
	levelStbl
)

// readAtoms reads the atoms of dataSize bytes from offset at one level
// (ngx_http_mp4_read_atom).
func (m *movie) readAtoms(level int, dataSize uint64) error {
	end := m.offset + int64(dataSize)
	for m.offset < end {
		if err := m.read(4); err != nil {
			return err
		}
		size := uint64(get32(m.buf, m.pos))
		headerSize := uint64(8)
		if size == 0 {
			return nil // "mp4 atom end"
		}
		if size < 8 {
			if size != 1 {
				return m.errorf("\"%s\" mp4 atom is too small:%d", m.name, size)
			}
			if err := m.read(16); err != nil {
				return err
			}
			size, headerSize = get64(m.buf, m.pos+8), 16
			if size < 16 {
				return m.errorf("\"%s\" mp4 atom is too small:%d", m.name, size)
			}
		}
		if err := m.read(8); err != nil {
			return err
		}
		name := string(m.buf[m.pos+4 : m.pos+8])
		if size > uint64(math.MaxInt64-m.offset) || m.offset+int64(size) > end {
			return m.errorf("\"%s\" mp4 atom too large:%d", m.name, size)
		}
		handler := m.handler(level, name)
		if handler == nil {
			m.next(size)
			continue
		}
		m.next(headerSize)
		if err := handler(size - headerSize); err != nil {
			return err
		}
	}
	return nil
}

func (m *movie) handler(level int, name string) func(uint64) error {
	switch level {
	case levelFile:
		switch name {
		case "ftyp":
			return m.readFtyp
		case "moov":
			return m.readMoov
		case "mdat":
			return m.readMdat
		}
	case levelMoov:
		switch name {
		case "mvhd":
			return m.readMvhd
		case "trak":
			return m.readTrak
		case "cmov":
			return func(uint64) error {
				return m.errorf("\"%s\" mp4 compressed moov atom (cmov) is not supported", m.name)
			}
		}
	case levelTrak:
		switch name {
		case "tkhd":
			return m.readTkhd
		case "mdia":
			return m.readMdia
		}
	case levelMdia:
		switch name {
		case "mdhd":
			return m.readMdhd
		case "hdlr":
			return m.readKept(&m.last().hdlrSize, atomHdlr, "hdlr")
		case "minf":
			return m.readMinf
		}
	case levelMinf:
		switch name {
		case "vmhd":
			return m.readMediaHeader(atomVmhd, "vmhd")
		case "smhd":
			return m.readMediaHeader(atomSmhd, "smhd")
		case "dinf":
			return m.readKept(&m.last().dinfSize, atomDinf, "dinf")
		case "stbl":
			return m.readStbl
		}
	case levelStbl:
		switch name {
		case "stsd":
			return m.readStsd
		case "stts":
			return m.readTable(atomStts, dataStts, "stts", 8, &m.last().sttsEntries)
		case "stss":
			return m.readTable(atomStss, dataStss, "stss", 4, &m.last().stssEntries)
		case "ctts":
			return m.readTable(atomCtts, dataCtts, "ctts", 8, &m.last().cttsEntries)
		case "stsc":
			return m.readTable(atomStsc, dataStsc, "stsc", 12, &m.last().stscEntries)
		case "stsz":
			return m.readStsz
		case "stco":
			return m.readTable(atomStco, dataStco, "stco", 4, &m.last().chunks)
		case "co64":
			return m.readTable(atomCo64, dataCo64, "co64", 8, &m.last().chunks)
		}
	}
	return nil
}

func (m *movie) readFtyp(dataSize uint64) error {
	if dataSize > 1024 || uint64(len(m.buf)-m.pos) < dataSize {
		return m.errorf("\"%s\" mp4 ftyp atom is too large:%d", m.name, dataSize)
	}
	if m.ftyp != nil {
		return m.errorf("duplicate mp4 ftyp atom in \"%s\"", m.name)
	}
	size := 8 + int(dataSize)
	// Copied: only the moov atom stays in the buffer.
	m.ftyp = make([]byte, size)
	put32(m.ftyp, 0, uint64(size))
	copy(m.ftyp[4:], "ftyp")
	copy(m.ftyp[8:], m.buf[m.pos:m.pos+int(dataSize)])
	m.ftypSize = uint64(size)
	m.contentLen = int64(size)
	m.next(dataSize)
	return nil
}

func (m *movie) readMoov(dataSize uint64) error {
	noMdat := !m.mdat
	if noMdat && m.start == 0 && m.length == 0 {
		return ErrDeclined // the file as it is: moov first, all of it asked
	}
	if m.moov {
		return m.errorf("duplicate mp4 moov atom in \"%s\"", m.name)
	}
	if dataSize > uint64(m.bufferSize) {
		if dataSize > uint64(m.conf.MaxBufferSize) {
			return m.errorf("\"%s\" mp4 moov atom is too large:%d, you may want to increase mp4_max_buffer_size",
				m.name, dataSize)
		}
		m.buf, m.pos = nil, 0
		m.bufferSize = int64(dataSize)
		if noMdat {
			m.bufferSize += moovExcess
		}
	}
	if err := m.read(int64(dataSize)); err != nil {
		return err
	}
	m.moov = true
	err := m.readAtoms(levelMoov, dataSize)
	m.scratch = nil
	if noMdat {
		// What follows in the buffer is read from next when a whole
		// excess is there; a later read takes moovExcess bytes.
		m.bufferSize = moovExcess
		if m.pos+moovExcess > len(m.buf) {
			m.buf, m.pos = nil, 0
		}
	} else {
		m.offset = m.end // nothing after moov is read
	}
	return err
}

func (m *movie) readMdat(dataSize uint64) error {
	if m.mdat {
		return m.errorf("duplicate mp4 mdat atom in \"%s\"", m.name)
	}
	m.mdat = true
	m.mdatLast = m.offset + int64(dataSize)
	if len(m.traks) > 0 {
		m.offset = m.end // the tracks are read: nothing more to read
	} else {
		m.next(dataSize)
	}
	return nil
}

func get32(b []byte, i int) uint32 {
	if i < 0 || i+4 > len(b) {
		return 0
	}
	return uint32(b[i])<<24 | uint32(b[i+1])<<16 | uint32(b[i+2])<<8 | uint32(b[i+3])
}

func get64(b []byte, i int) uint64 {
	if i < 0 || i+8 > len(b) {
		return 0
	}
	return uint64(get32(b, i))<<32 | uint64(get32(b, i+4))
}

// put32 stores the low 32 bits of v (nginx's ngx_mp4_set_32value).
func put32(b []byte, i int, v uint64) {
	if i < 0 || i+4 > len(b) {
		return
	}
	b[i], b[i+1], b[i+2], b[i+3] = byte(v>>24), byte(v>>16), byte(v>>8), byte(v)
}

func put64(b []byte, i int, v uint64) {
	put32(b, i, v>>32)
	put32(b, i+4, v)
}
