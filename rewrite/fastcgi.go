package rewrite

// FastCGISplit is a location's fastcgi_split_path_info and fastcgi_index,
// which $fastcgi_script_name and $fastcgi_path_info read for the
// location the request runs in (ngx_http_fastcgi_split).
type FastCGISplit struct {
	Regex *Regex // nil: no fastcgi_split_path_info
	Index string // fastcgi_index
}

// split returns the script name and path info of uri: the regex's two
// captures when it matches, else the whole URI and no path info.
func (f *FastCGISplit) split(uri []byte) (script, pathInfo []byte) {
	if f == nil || f.Regex == nil {
		return uri, nil
	}
	var caps [6]int
	if !f.Regex.submatch(uri, caps[:0]) {
		return uri, nil
	}
	return uri[caps[2]:caps[3]], uri[caps[4]:caps[5]]
}

// submatch matches subject without touching the request's captures, as
// ngx_regex_exec does, filling dst with the first three groups' offsets.
func (rx *Regex) submatch(subject []byte, dst []int) bool {
	var loc []int
	if re := rx.backtracking(subject); re != nil {
		m, err := re.FindStringMatch(string(subject))
		if err != nil || m == nil {
			return false
		}
		for n := 0; n <= 2; n++ {
			g := m.GroupByNumber(n)
			if g == nil || len(g.Captures) == 0 {
				loc = append(loc, 0, 0)
				continue
			}
			i, l := g.ByteRange()
			loc = append(loc, i, i+l)
		}
	} else {
		loc = rx.re.FindSubmatchIndex(subject)
		if loc == nil {
			return false
		}
	}
	for i := 0; i < 6; i++ {
		v := 0
		if i < len(loc) && loc[i] >= 0 {
			v = loc[i]
		}
		dst = append(dst, v)
	}
	return true
}

// fcgiMemoURI is the longest URI whose split fcgiSplitMemo keeps.
const fcgiMemoURI = 128

// fcgiSplitMemo is the last split a State made with a regex, so that one
// request's $fastcgi_script_name and $fastcgi_path_info run the regex
// once (Debian's fastcgi-php.conf and fastcgi.conf evaluate them four
// times), as nginx keeps the split in its module's context. Its key is
// the location's split and the URI's bytes, kept inline: a copy of the
// State is a copy of the memo, nothing shared.
type fcgiSplitMemo struct {
	f                *FastCGISplit
	n                uint8 // the URI's length (0: none kept)
	script, pathInfo [2]uint8
	uri              [fcgiMemoURI]byte
}

// fastcgiSplit is s.FastCGI's split of the request's URI, through s's memo.
func (s *State) fastcgiSplit() (script, pathInfo []byte) {
	f, uri := s.FastCGI, s.Req.URI
	if f == nil || f.Regex == nil {
		return uri, nil
	}
	m := &s.fcgiMemo
	if m.f == f && int(m.n) == len(uri) && len(uri) > 0 && string(m.uri[:m.n]) == string(uri) {
		return uri[m.script[0]:m.script[1]], uri[m.pathInfo[0]:m.pathInfo[1]]
	}
	script, pathInfo = f.split(uri)
	if len(uri) == 0 || len(uri) > fcgiMemoURI {
		return script, pathInfo
	}
	// Both alias uri: their places in it are what is kept.
	m.f, m.n = f, uint8(len(uri))
	copy(m.uri[:], uri)
	m.script = placeIn(uri, script)
	m.pathInfo = placeIn(uri, pathInfo)
	return script, pathInfo
}

// placeIn is where sub, a part of b (or nil), starts and ends in b.
func placeIn(b, sub []byte) [2]uint8 {
	if len(sub) == 0 {
		return [2]uint8{}
	}
	at := cap(b) - cap(sub)
	return [2]uint8{uint8(at), uint8(at + len(sub))}
}

func fastcgiScriptName(s *State, dst []byte) []byte {
	if s.Req == nil {
		return dst
	}
	script := s.Req.URI
	if s.FastCGI != nil {
		script, _ = s.fastcgiSplit()
	}
	dst = append(dst, script...)
	if len(script) > 0 && script[len(script)-1] == '/' && s.FastCGI != nil {
		dst = append(dst, s.FastCGI.Index...)
	}
	return dst
}

func fastcgiPathInfo(s *State, dst []byte) []byte {
	if s.Req == nil {
		return dst
	}
	if s.FastCGI == nil {
		return dst // no fastcgi_split_path_info: no path info
	}
	_, pi := s.fastcgiSplit()
	return append(dst, pi...)
}
