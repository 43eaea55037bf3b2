package nginxconf

import "strconv"

// pathUse is a directory nginx's ngx_add_path was given: by a *_temp_path
// (its levels), a *_cache_path (the cache is its data: no other may share
// the directory), or a module's default (no directive).
type pathUse struct {
	d      *Directive // nil: a default path
	levels [3]int
	cache  bool
}

// defaultTempPaths are the temp paths' compiled-in defaults (Debian's),
// in the order the modules' merges add them: the core module's, then
// proxy, fastcgi, uwsgi and scgi, each with its default levels.
var defaultTempPaths = []struct {
	directive, path string
	levels          [3]int
}{
	{"client_body_temp_path", "/var/lib/nginx/body", [3]int{}},
	{"proxy_temp_path", "/var/lib/nginx/proxy", [3]int{1, 2}},
	{"fastcgi_temp_path", "/var/lib/nginx/fastcgi", [3]int{1, 2}},
	{"uwsgi_temp_path", "/var/lib/nginx/uwsgi", [3]int{1, 2}},
	{"scgi_temp_path", "/var/lib/nginx/scgi", [3]int{1, 2}},
}

// tempPathLevels is a *_temp_path's levels (its arguments after the path).
func tempPathLevels(d *Directive) (l [3]int) {
	for i, a := range d.Args[1:] {
		if i < len(l) {
			l[i], _ = strconv.Atoi(a)
		}
	}
	return l
}

// addPath is ngx_add_path: a directory named again must be the same kind
// (two caches, or a cache and a temp path, may not share it) with the
// same levels. file:line is where nginx was reading, which some of its
// messages end with: the directive, or, for a default added by a merge,
// the http block's end.
func (s *blockState) addPath(path string, u pathUse, file string, line int) *Error {
	if s.paths == nil {
		s.paths = map[string]pathUse{}
	}
	prev, seen := s.paths[path]
	if !seen {
		s.paths[path] = u
		return nil
	}
	switch {
	case prev.cache || u.cache:
		prevFile, prevLine := "", 0
		if prev.d != nil {
			prevFile, prevLine = prev.d.File, prev.d.EndLine
		}
		return &Error{Msg: sprintf("the same path name %q used in %s:%d and in %s:%d", path, prevFile, prevLine, file, line)}
	case prev.levels == u.levels:
		return nil
	case u.d == nil && prev.d == nil:
		return &Error{Msg: sprintf("the default path name %q has the same name as another default path, but the different levels, you need to redefine one of them in http section", path)}
	case u.d == nil:
		return &Error{Msg: sprintf("the path name %q in %s:%d has the same name as default path, but the different levels, you need to define default path in http section", path, prev.d.File, prev.d.EndLine)}
	}
	return &Error{Msg: sprintf("the same path name %q in %s:%d has the different levels than in %s:%d", path, prev.d.File, prev.d.EndLine, file, line)}
}

// addDefaultTempPaths adds, as the modules' merges do at the http block's
// end, each default temp path some server takes: one whose http block
// and server block leave the directive unset.
func (p *parser) addDefaultTempPaths(view []*Directive, file string, line int) *Error {
	for _, dt := range defaultTempPaths {
		if hasDirective(view, dt.directive) {
			continue
		}
		for _, srv := range view {
			if srv.Name != "server" || hasDirective(srv.Block, dt.directive) {
				continue
			}
			if err := p.state.addPath(dt.path, pathUse{levels: dt.levels}, file, line); err != nil {
				return err
			}
			break
		}
	}
	return nil
}
