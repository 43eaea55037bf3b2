package mp4

// Cutting a track's sample tables to the samples from the start time to
// the end: each table is cut at the start, then at the end, in place in
// the buffer, with nginx's integer widths (the products of two 32-bit
// values wrap at 32 bits as in C).

func (m *movie) updateStts(t *trak) error {
	d := &t.out[dataStts]
	if d.b == nil {
		return m.errorf("no mp4 stts atoms were found in \"%s\"", m.name)
	}
	if err := m.cropStts(t, true); err != nil {
		return err
	}
	if err := m.cropStts(t, false); err != nil {
		return err
	}
	size := 16 + uint64(d.hi-d.lo)
	t.size += size
	a := t.out[atomStts]
	put32(a.b, a.lo, size)
	put32(a.b, a.lo+12, uint64(t.sttsEntries))
	return nil
}

func (m *movie) cropStts(t *trak, start bool) error {
	var sec uint64
	switch {
	case start:
		sec = m.start
	case m.length != 0:
		sec = m.length
	default:
		return nil
	}
	d := &t.out[dataStts]
	b := d.b
	startTime := sec*uint64(t.timescale)/1000 + t.prefix
	entries := t.sttsEntries
	var startSample uint64
	var count, duration, rest uint32
	e := d.lo
	found := false
	for ; e < d.hi; e += 8 {
		count, duration = get32(b, e), get32(b, e+4)
		if startTime < uint64(count)*uint64(duration) {
			startSample += startTime / uint64(duration)
			rest = uint32(startTime / uint64(duration))
			found = true
			break
		}
		startSample += uint64(count)
		startTime -= uint64(count * duration)
		entries--
	}
	if !found {
		if start {
			return m.errorf("start time is out mp4 stts samples in \"%s\"", m.name)
		}
		t.endSample = t.startSample + startSample
		return nil
	}
	if !start {
		put32(b, e, uint64(rest))
		d.hi = e + 8
		t.sttsEntries -= entries - 1
		t.endSample = t.startSample + startSample
		return nil
	}
	keyPrefix := m.seekKeyFrame(t, uint32(startSample))
	startSample -= uint64(keyPrefix)
	for rest < keyPrefix {
		t.prefix += uint64(rest * duration)
		keyPrefix -= rest
		e -= 8
		if e < 0 {
			// (nginx reads on before its buffer: a sync sample 0)
			return m.errorf("start time is out mp4 stts samples in \"%s\"", m.name)
		}
		entries++
		count, duration = get32(b, e), get32(b, e+4)
		rest = count
	}
	t.prefix += uint64(keyPrefix * duration)
	t.duration += t.prefix
	rest -= keyPrefix
	put32(b, e, uint64(count-rest))
	d.lo = e
	t.sttsEntries = entries
	t.startSample = startSample
	return nil
}

// seekKeyFrame is how many samples before startSample (0-based) the
// last sync sample at or before it is, with mp4_start_key_frame on.
func (m *movie) seekKeyFrame(t *trak, startSample uint32) uint32 {
	if !m.conf.StartKeyFrame {
		return 0
	}
	d := t.out[dataStss]
	if d.b == nil {
		return 0
	}
	startSample++ // sync samples count from 1
	var keyPrefix uint32
	for e := d.lo; e < d.hi; e += 4 {
		sample := get32(d.b, e)
		if sample > startSample {
			break
		}
		keyPrefix = startSample - sample
	}
	return keyPrefix
}

func (m *movie) updateStss(t *trak) {
	d := &t.out[dataStss]
	if d.b == nil {
		return
	}
	m.cropStss(t, true)
	m.cropStss(t, false)
	if t.stssEntries != 0 {
		startSample := uint32(t.startSample)
		for e := d.lo; e < d.hi; e += 4 {
			put32(d.b, e, uint64(get32(d.b, e)-startSample))
		}
	}
	size := 16 + uint64(d.hi-d.lo)
	if t.stssEntries == 0 {
		t.out[dataStss].b = nil
	}
	t.size += size
	a := t.out[atomStss]
	put32(a.b, a.lo, size)
	put32(a.b, a.lo+12, uint64(t.stssEntries))
}

func (m *movie) cropStss(t *trak, start bool) {
	var startSample uint32
	switch {
	case start:
		startSample = uint32(t.startSample + 1)
	case m.length != 0:
		startSample = uint32(t.endSample + 1)
	default:
		return
	}
	d := &t.out[dataStss]
	entries := t.stssEntries
	e := d.lo
	for ; e < d.hi; e += 4 {
		if get32(d.b, e) >= startSample {
			break
		}
		entries--
	}
	if start {
		d.lo = e
		t.stssEntries = entries
	} else {
		d.hi = e
		t.stssEntries -= entries
	}
}

func (m *movie) updateCtts(t *trak) {
	d := &t.out[dataCtts]
	if d.b == nil {
		return
	}
	m.cropCtts(t, true)
	m.cropCtts(t, false)
	if t.cttsEntries == 0 {
		t.out[atomCtts].b, t.out[dataCtts].b = nil, nil
		return
	}
	size := 16 + uint64(d.hi-d.lo)
	t.size += size
	a := t.out[atomCtts]
	put32(a.b, a.lo, size)
	put32(a.b, a.lo+12, uint64(t.cttsEntries))
}

func (m *movie) cropCtts(t *trak, start bool) {
	var startSample uint32
	switch {
	case start:
		startSample = uint32(t.startSample + 1)
	case m.length != 0:
		startSample = uint32(t.endSample - t.startSample + 1)
	default:
		return
	}
	d := &t.out[dataCtts]
	entries := t.cttsEntries
	for e := d.lo; e < d.hi; e += 8 {
		count := get32(d.b, e)
		if startSample <= count {
			rest := startSample - 1
			if start {
				put32(d.b, e, uint64(count-rest))
				d.lo = e
				t.cttsEntries = entries
			} else {
				put32(d.b, e, uint64(rest))
				d.hi = e + 8
				t.cttsEntries -= entries - 1
			}
			return
		}
		startSample -= count
		entries--
	}
	if start {
		d.lo = d.hi
		t.cttsEntries = 0
	}
}

func (m *movie) updateStsc(t *trak) error {
	d := &t.out[dataStsc]
	if d.b == nil {
		return m.errorf("no mp4 stsc atoms were found in \"%s\"", m.name)
	}
	if t.stscEntries == 0 {
		return m.errorf("zero number of entries in stsc atom in \"%s\"", m.name)
	}
	if err := m.cropStsc(t, true); err != nil {
		return err
	}
	if err := m.cropStsc(t, false); err != nil {
		return err
	}
	for e := d.lo; e < d.hi; e += 12 {
		put32(d.b, e, uint64(get32(d.b, e)-uint32(t.startChunk)))
	}
	size := 16 + uint64(t.stscEntries)*12
	t.size += size
	a := t.out[atomStsc]
	put32(a.b, a.lo, size)
	put32(a.b, a.lo+12, uint64(t.stscEntries))
	return nil
}

func (m *movie) cropStsc(t *trak, start bool) error {
	entries := uint64(t.stscEntries - 1)
	var startSample, samples uint32
	switch {
	case start:
		startSample = uint32(t.startSample)
	case m.length != 0:
		startSample = uint32(t.endSample - t.startSample)
		if f := t.out[stscStart]; f.b != nil {
			samples = get32(f.b, f.lo+4)
			entries--
			if samples > startSample {
				samples = startSample
				put32(f.b, f.lo+4, uint64(samples))
			}
			startSample -= samples
		}
	default:
		return nil
	}
	d := &t.out[dataStsc]
	b := d.b
	e := d.lo
	chunk, samples, id := get32(b, e), get32(b, e+4), get32(b, e+8)
	var prevSamples, nextChunk uint32
	e += 12
	found := false
	for ; e < d.hi; e += 12 {
		nextChunk = get32(b, e)
		if nextChunk < chunk {
			return m.errorf("unordered mp4 stsc chunks in \"%s\"", m.name)
		}
		if n := uint64(nextChunk-chunk) * uint64(samples); uint64(startSample) < n {
			found = true
			break
		} else {
			startSample -= uint32(n)
		}
		prevSamples = samples
		chunk, samples, id = nextChunk, get32(b, e+4), get32(b, e+8)
		entries--
	}
	if !found {
		nextChunk = t.chunks + 1
		if uint64(startSample) > uint64(nextChunk-chunk)*uint64(samples) {
			which := "end"
			if start {
				which = "start"
			}
			return m.errorf("%s time is out mp4 stsc chunks in \"%s\"", which, m.name)
		}
	}
	entries++
	e -= 12
	if samples == 0 {
		return m.errorf("zero number of samples in \"%s\"", m.name)
	}
	targetChunk := uint64(chunk-1) + uint64(startSample/samples)
	chunkSamples := uint64(startSample % samples)
	if start {
		d.lo = e
		t.stscEntries = uint32(entries)
		t.startChunk = targetChunk
		t.startChunkSamples = chunkSamples
		put32(b, e, t.startChunk+1)
		samples -= uint32(chunkSamples)
	} else {
		if startSample != 0 {
			d.hi = e + 12
			t.stscEntries -= uint32(entries - 1)
			t.endChunkSamples = uint64(samples)
		} else {
			d.hi = e
			t.stscEntries -= uint32(entries)
			t.endChunkSamples = uint64(prevSamples)
		}
		if chunkSamples != 0 {
			t.endChunk = targetChunk + 1
			t.endChunkSamples = chunkSamples
		} else {
			t.endChunk = targetChunk
		}
		samples = uint32(chunkSamples)
		nextChunk = chunk + 1
	}
	switch {
	case chunkSamples != 0 && uint64(nextChunk)-targetChunk == 2:
		put32(b, e+4, uint64(samples))
	case chunkSamples != 0 && start:
		f := t.stscFirst[:]
		put32(f, 0, 1)
		put32(f, 4, uint64(samples))
		put32(f, 8, uint64(id))
		t.out[stscStart] = piece{f, 0, 12}
		put32(b, e, t.startChunk+2)
		t.stscEntries++
	case chunkSamples != 0:
		f := t.stscLast[:]
		put32(f, 0, t.endChunk-t.startChunk)
		put32(f, 4, uint64(samples))
		put32(f, 8, uint64(id))
		t.out[stscEnd] = piece{f, 0, 12}
		t.stscEntries++
	}
	return nil
}

func (m *movie) updateStsz(t *trak) error {
	d := &t.out[dataStsz]
	if d.b == nil {
		return nil
	}
	entries := uint64(t.stszEntries)
	if t.startSample >= entries {
		return m.errorf("start time is out mp4 stsz samples in \"%s\"", m.name)
	}
	entries -= t.startSample
	d.lo += int(t.startSample * 4)
	for p := max(d.lo-int(min(t.startChunkSamples, 1<<32))*4, 0); p < d.lo; p += 4 {
		t.startChunkSize += uint64(get32(d.b, p))
	}
	if t.startChunkSize > uint64(m.end) {
		return m.errorf("too large mp4 start samples size in \"%s\"", m.name)
	}
	if m.length != 0 {
		if t.endSample-t.startSample > entries {
			return m.errorf("end time is out mp4 stsz samples in \"%s\"", m.name)
		}
		entries = t.endSample - t.startSample
		d.hi = d.lo + int(entries*4)
		for p := max(d.hi-int(min(t.endChunkSamples, 1<<32))*4, 0); p < d.hi; p += 4 {
			t.endChunkSize += uint64(get32(d.b, p))
		}
		if t.endChunkSize > uint64(m.end) {
			return m.errorf("too large mp4 end samples size in \"%s\"", m.name)
		}
	}
	size := 20 + uint64(d.hi-d.lo)
	t.size += size
	a := t.out[atomStsz]
	put32(a.b, a.lo, size)
	put32(a.b, a.lo+16, entries)
	return nil
}

// updateChunks cuts stco (width 4) or co64 (width 8): the first chunk
// kept starts at the start sample, the last ends after the end sample.
func (m *movie) updateChunks(t *trak, at, data int, name string, width int) error {
	d := &t.out[data]
	if d.b == nil {
		return m.errorf("no mp4 %s atoms were found in \"%s\"", name, m.name)
	}
	if t.startChunk >= uint64(t.chunks) {
		return m.errorf("start time is out mp4 %s chunks in \"%s\"", name, m.name)
	}
	get := func(i int) uint64 {
		if width == 4 {
			return uint64(get32(d.b, i))
		}
		return get64(d.b, i)
	}
	tooLarge := func(off, size uint64) bool {
		if off > uint64(m.end)-size {
			return true
		}
		return width == 4 && off+size > 0xffffffff
	}
	d.lo += int(t.startChunk) * width
	off, size := get(d.lo), t.startChunkSize
	if tooLarge(off, size) {
		return m.errorf("too large chunk offset in \"%s\"", m.name)
	}
	t.startOffset = int64(off + size)
	if width == 4 {
		put32(d.b, d.lo, uint64(t.startOffset))
	} else {
		put64(d.b, d.lo, uint64(t.startOffset))
	}
	var entries uint64
	if m.length != 0 {
		if t.endChunk > uint64(t.chunks) {
			return m.errorf("end time is out mp4 %s chunks in \"%s\"", name, m.name)
		}
		entries = t.endChunk - t.startChunk
		if width == 4 {
			entries = uint64(uint32(entries))
		}
		// (an end chunk before the start one: nginx reads past its
		// buffer; here the table stops at the buffer's end)
		d.hi = min(d.lo+int(entries)*width, len(d.b))
		if entries != 0 {
			off, size = get(d.hi-width), t.endChunkSize
			if tooLarge(off, size) {
				return m.errorf("too large chunk offset in \"%s\"", m.name)
			}
			t.endOffset = int64(off + size)
		}
	} else {
		entries = uint64(t.chunks) - t.startChunk
		if width == 4 {
			entries = uint64(uint32(entries))
		}
		t.endOffset = m.mdatLast
	}
	if entries == 0 {
		t.startOffset, t.endOffset = m.end, 0
	}
	n := 16 + uint64(d.hi-d.lo)
	t.size += n
	a := t.out[at]
	put32(a.b, a.lo, n)
	put32(a.b, a.lo+12, entries)
	return nil
}

// adjustChunks moves every chunk offset kept by the change of the
// data's place in the answer (32-bit offsets wrap as nginx's do).
func adjustChunks(t *trak, adjustment int64) {
	if d := t.out[dataCo64]; d.b != nil {
		for e := d.lo; e < d.hi; e += 8 {
			put64(d.b, e, get64(d.b, e)+uint64(adjustment))
		}
		return
	}
	d := t.out[dataStco]
	for e := d.lo; e < d.hi; e += 4 {
		put32(d.b, e, uint64(get32(d.b, e)+uint32(int32(adjustment))))
	}
}
