package http2

import "golang.org/x/net/http2"

// checkHead refuses a frame whose header nginx's state handler for its
// type refuses (ngx_http_v2_state_data, _headers, _priority,
// _rst_stream, _settings, _ping, _goaway, _window_update), in their
// order, with their info lines and codes: the Framer refuses most of
// these too, but says nothing, and takes a HEADERS frame with no block.
// first is a padded DATA or HEADERS frame's pad length, else -1.
func (c *Conn) checkHead(fh http2.FrameHeader, first int) error {
	n := int64(fh.Length)
	size := func(what string) error {
		c.logInfo("client sent " + what)
		return http2.ConnectionError(http2.ErrCodeFrameSize)
	}
	ident := func(typ string) error {
		c.logInfo("client sent " + typ + " frame with incorrect identifier")
		return http2.ConnectionError(http2.ErrCodeProtocol)
	}
	switch {
	case c.block.active && fh.Type != http2.FrameContinuation:
		c.logInfo("client sent inappropriate frame while CONTINUATION was expected")
		return http2.ConnectionError(http2.ErrCodeProtocol)
	case c.block.active && fh.StreamID != c.lastID: // the block's HEADERS set lastID
		return ident("CONTINUATION")
	case !c.block.active && fh.Type == http2.FrameContinuation:
		c.logInfo("client sent unexpected CONTINUATION frame")
		return http2.ConnectionError(http2.ErrCodeProtocol)
	}
	switch fh.Type {
	case http2.FrameData:
		if fh.Flags.Has(http2.FlagDataPadded) {
			if n == 0 {
				return size("padded DATA frame with incorrect length: 0")
			}
			if first >= 0 && int64(first) >= n {
				c.logInfo("client sent padded DATA frame with incorrect length: " + num(n) + ", padding: " + num(int64(first)))
				return http2.ConnectionError(http2.ErrCodeProtocol)
			}
		}
		if fh.StreamID == 0 {
			return ident("DATA")
		}
	case http2.FrameHeaders:
		var fixed int64
		if fh.Flags.Has(http2.FlagHeadersPadded) {
			fixed++
		}
		if fh.Flags.Has(http2.FlagHeadersPriority) {
			fixed += 5
		}
		if n < fixed {
			return size("HEADERS frame with incorrect length " + num(n))
		}
		if n == fixed {
			return size("HEADERS frame with empty header block")
		}
		if first >= 0 && int64(first) > n-fixed {
			c.logInfo("client sent padded HEADERS frame with incorrect length: " + num(n-fixed) + ", padding: " + num(int64(first)))
			return http2.ConnectionError(http2.ErrCodeProtocol)
		}
		if fh.StreamID == 0 {
			c.logInfo("client sent HEADERS frame with incorrect identifier 0, the last was " + num(int64(c.lastID)))
			return http2.ConnectionError(http2.ErrCodeProtocol)
		}
	case http2.FramePriority:
		if n != 5 {
			return size("PRIORITY frame with incorrect length " + num(n))
		}
		if fh.StreamID == 0 {
			return ident("PRIORITY")
		}
	case http2.FrameRSTStream:
		if n != 4 {
			return size("RST_STREAM frame with incorrect length " + num(n))
		}
		if fh.StreamID == 0 {
			return ident("RST_STREAM")
		}
	case http2.FrameSettings:
		if fh.StreamID != 0 {
			return ident("SETTINGS")
		}
		if fh.Flags == http2.FlagSettingsAck && n != 0 {
			return size("SETTINGS frame with the ACK flag and nonzero length")
		}
		if n%6 != 0 {
			return size("SETTINGS frame with incorrect length " + num(n))
		}
	case http2.FramePing:
		if n != 8 {
			return size("PING frame with incorrect length " + num(n))
		}
		if fh.StreamID != 0 {
			return ident("PING")
		}
	case http2.FrameGoAway:
		if n < 8 {
			return size("GOAWAY frame with incorrect length " + num(n))
		}
		if fh.StreamID != 0 {
			return ident("GOAWAY")
		}
	case http2.FrameWindowUpdate:
		if n != 4 {
			return size("WINDOW_UPDATE frame with incorrect length " + num(n))
		}
	}
	return nil
}

// checkWindowSetting logs a SETTINGS frame's INITIAL_WINDOW_SIZE above
// the largest window as nginx does, with its value: the framer refuses
// that frame before onSettings sees it. The settings before it are
// checked in order as nginx's loop does: an earlier bad one is
// onSettings' to log.
func (c *Conn) checkWindowSetting(n int) error {
	p, _ := c.br.Peek(n)
	for ; len(p) >= 6; p = p[6:] {
		id := http2.SettingID(p[0])<<8 | http2.SettingID(p[1])
		v := uint32(p[2])<<24 | uint32(p[3])<<16 | uint32(p[4])<<8 | uint32(p[5])
		switch {
		case id == http2.SettingInitialWindowSize && v > maxWindow:
			c.logInfo("client sent SETTINGS frame with incorrect INITIAL_WINDOW_SIZE value " + num(int64(v)))
			return http2.ConnectionError(http2.ErrCodeFlowControl)
		case id == http2.SettingMaxFrameSize && (v < defaultFrameSize || v > maxFrameSize),
			id == http2.SettingEnablePush && v > 1:
			return nil
		}
	}
	return nil
}
