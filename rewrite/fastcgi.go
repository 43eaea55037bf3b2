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
	if rx.pcre != nil {
		m, err := rx.pcre.FindStringMatch(string(subject))
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

func fastcgiScriptName(s *State, dst []byte) []byte {
	if s.Req == nil {
		return dst
	}
	script, _ := s.FastCGI.split(s.Req.URI)
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
	_, pi := s.FastCGI.split(s.Req.URI)
	return append(dst, pi...)
}
