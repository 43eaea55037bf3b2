package nginxconf

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"unsafe"
)

// Load reads the configuration file confFile (nginx's -c) with its
// includes, checks every directive in document order and returns the
// tree. The error, if any, is the first one nginx would report, as an
// *Error; the Config is returned even then, holding the files read so far
// (for MarshalCrossplane).
//
// Paths. A relative confFile is relative to opt.Prefix when given (as
// nginx does), else to the working directory. ConfPrefix is the
// directory of confFile: include and other conf-relative names
// (ssl_certificate, ...) resolve against it (Config.ConfPath). Prefix is
// opt.Prefix when given, else ConfPrefix: prefix-relative names (root
// html, ...) resolve against it (Config.PrefixPath). nginx's compiled-in
// prefix (/usr/share/nginx/ on Debian) is not assumed: a config then runs
// the same wherever it is put.
//
// Fragments. When confFile has no top-level http or events block and its
// top level holds directives that are not main-context ones (server,
// upstream, map, ...), it is a conf.d fragment: it is loaded as Debian's
// stock nginx.conf includes it, inside
// "events {} http { types {...} default_type application/octet-stream; ... }"
// (Config.Fragment is true; errors still name the fragment's file and
// line). Its ConfPrefix is then the directory that a stock nginx.conf
// including it would live in: the parent of the fragment's directory
// when that is named conf.d, sites-enabled or sites-available (so
// "server.pem" in /etc/nginx/conf.d/default.conf is /etc/nginx/server.pem,
// as under nginx), else the fragment's own directory.
func Load(confFile string, opt Options) (*Config, error) {
	cfg := &Config{Passwords: opt.Passwords, PathMap: opt.PathMap, Lenient: opt.Lenient, PidCheck: opt.PidCheck}
	prefix := opt.Prefix
	if prefix != "" {
		prefix = absPath(prefix)
		if !strings.HasSuffix(prefix, "/") {
			prefix += "/"
		}
	}
	conf := confFile
	if !strings.HasPrefix(conf, "/") {
		if prefix != "" {
			conf = prefix + conf
		} else {
			conf = absPath(conf)
		}
	}
	cfg.ConfFile = conf
	cfg.ConfPrefix = conf[:strings.LastIndexByte(conf, '/')+1]
	cfg.Prefix = prefix

	l := &loader{cfg: cfg, index: map[string]int{}, snapshot: opt.Files}
	p := &parser{cfg: cfg, loader: l, comments: opt.Comments, handler: opt.Handler}
	p.state.nginxPrefix = opt.Prefix == ""
	text, rerr := l.read(conf)
	if rerr != nil {
		if cfg.Prefix == "" {
			cfg.Prefix = cfg.ConfPrefix
		}
		return cfg, rerr
	}
	cfg.Fragment = isFragment(text)
	if cfg.Fragment {
		cfg.ConfPrefix = fragmentConfPrefix(cfg.ConfPrefix)
	}
	if cfg.Prefix == "" {
		cfg.Prefix = cfg.ConfPrefix
	}

	root := p.newBuf(nil)
	var err *Error
	if opt.Globals != "" {
		src := &source{lex: newLexer(opt.Globals, 0), param: true}
		err = p.parseBlock(src, root, MainConf, topOfParam)
	}
	if err == nil && cfg.Fragment {
		err = p.loadFragment(root, conf)
	} else if err == nil {
		root.ensureSplit()
		_, err = p.parseFile(conf, root, MainConf)
	}
	_, cfg.Tree = root.close()
	if err != nil {
		return cfg, err
	}
	return cfg, nil
}

// ConfPath resolves a name relative to the conf prefix (include,
// ssl_certificate, auth_basic_user_file, ...).
func (c *Config) ConfPath(name string) string {
	if strings.HasPrefix(name, "/") {
		return name
	}
	return c.ConfPrefix + name
}

// PrefixPath resolves a name relative to the prefix (root, alias,
// error_log, pid, access_log, ...).
func (c *Config) PrefixPath(name string) string {
	if strings.HasPrefix(name, "/") {
		return name
	}
	return c.Prefix + name
}

func absPath(name string) string {
	if strings.HasPrefix(name, "/") {
		return name
	}
	wd, err := os.Getwd()
	if err != nil {
		return "/" + name
	}
	return strings.TrimSuffix(wd, "/") + "/" + name
}

// fragmentConfPrefix maps the directory of a fragment to the conf prefix
// a stock nginx.conf including it would have.
func fragmentConfPrefix(dir string) string {
	trimmed := strings.TrimSuffix(dir, "/")
	switch filepath.Base(trimmed) {
	case "conf.d", "sites-enabled", "sites-available":
		parent := trimmed[:strings.LastIndexByte(trimmed, '/')+1]
		if parent != "" {
			return parent
		}
	}
	return dir
}

// loadFragment wraps the fragment conf into events{} and http{} the way
// Debian's stock nginx.conf includes conf.d/*.conf.
func (p *parser) loadFragment(root *blockBuf, conf string) *Error {
	events := p.synthetic("events")
	if _, err := p.check(events, MainConf, true, root); err != nil {
		return err
	}
	events.Block = []*Directive{}
	root.push(events, events)

	http := p.synthetic("http")
	inner, err := p.check(http, MainConf, true, root)
	if err != nil {
		return err
	}
	hb := p.newBuf(nil)
	types := p.synthetic("types")
	if _, err := p.check(types, inner, true, hb); err != nil {
		return err
	}
	types.Block = builtinTypes(p)
	hb.push(types, types)
	dt := p.synthetic("default_type", "application/octet-stream")
	if _, err := p.check(dt, inner, false, hb); err != nil {
		return err
	}
	hb.push(dt, dt)
	hb.ensureSplit()
	// The stock nginx.conf's types are the http level's list: a types
	// block or an include of mime.types in the fragment warns of each
	// extension listed again, as under nginx.
	if !p.unchecked {
		stock := &typesCheck{ext: map[string]string{}}
		for _, t := range builtinMIMETypes {
			for _, e := range t.Exts {
				stock.ext[strings.ToLower(e)] = t.Type
			}
		}
		p.typesLevels = append(p.typesLevels, stock)
		defer func() { p.typesLevels = p.typesLevels[:len(p.typesLevels)-1] }()
	}
	_, err = p.parseFile(conf, hb, inner)
	_, http.Block = hb.close()
	root.push(http, http)
	if err == nil && !p.unchecked && p.present&presImplicitUps != 0 {
		// As at the close of a written http block: the *_pass hosts are
		// resolved before any server is merged (before certificates).
		err = checkImplicitUpstreams(http.Block, p.lookupHost)
	}
	return err
}

// synthetic makes a directive that no file holds (File "" and Line 0).
func (p *parser) synthetic(name string, args ...string) *Directive {
	d := p.newDirective()
	d.Name = name
	d.Args = args
	return d
}

// check runs checkDirective against buf's directives and files warnings.
func (p *parser) check(d *Directive, ctx Context, isBlock bool, buf *blockBuf) (Context, *Error) {
	inner, err := checkDirectiveSeen(d, ctx, isBlock, buf.seenKeys())
	if err != nil {
		atEnd(err, d)
		if !err.Warn {
			return 0, err
		}
		p.cfg.Warnings = append(p.cfg.Warnings, err)
	}
	return inner, nil
}

// mainContextNames are the directives nginx 1.22 allows in the main
// context. A top level with other names (and no http/events) is a conf.d
// fragment.
var mainContextNames = map[string]bool{
	"daemon": true, "master_process": true, "timer_resolution": true, "pid": true,
	"lock_file": true, "worker_processes": true, "debug_points": true, "user": true,
	"worker_priority": true, "worker_cpu_affinity": true, "worker_rlimit_nofile": true,
	"worker_rlimit_core": true, "worker_shutdown_timeout": true, "working_directory": true,
	"env": true, "load_module": true, "error_log": true, "events": true, "http": true,
	"stream": true, "mail": true, "google_perftools_profiles": true, "thread_pool": true,
	"ssl_engine": true, "pcre_jit": true, "include": true,
}

// isFragment reports whether text is a conf.d fragment: no top-level
// http or events block, some top-level directive nginx knows that is not
// a main-context one, and none that only a main file holds. A misspelt
// "events" or "http" (an unknown name) is no sign of a fragment, and a
// load_module or worker_processes says the file is a whole nginx.conf:
// nginx's own error then comes first, not one of the wrapping.
func isFragment(text string) bool {
	lex := newLexer(text, fileTokenLimit)
	depth, words, httpLevel, mainOnly := 0, 0, false, false
	for {
		t := lex.Next()
		switch t.Kind {
		case TokEOF, TokError:
			return httpLevel && !mainOnly
		case TokWord:
			if words == 0 && depth == 0 {
				switch {
				case t.Val == "http" || t.Val == "events":
					return false
				case t.Val == "include" || t.Val == "error_log":
				case mainContextNames[t.Val]:
					mainOnly = true
				case len(Lookup(t.Val)) > 0:
					httpLevel = true
				}
			}
			words++
		case TokSemicolon:
			words = 0
		case TokLBrace:
			depth++
			words = 0
		case TokRBrace:
			depth--
			words = 0
		}
	}
}

// loader reads files once each and keeps them in Config.Files.
type loader struct {
	cfg      *Config
	index    map[string]int // path → index in cfg.Files
	texts    []string       // file contents as strings, by index
	snapshot map[string][]byte
}

// readFile reads path from the disk, or from the snapshot when there is one.
func (l *loader) readFile(path string) ([]byte, error) {
	if l.snapshot == nil {
		return os.ReadFile(l.cfg.MapPath(path))
	}
	if data, ok := l.snapshot[path]; ok {
		return data, nil
	}
	return nil, &fs.PathError{Op: "open", Path: path, Err: syscall.ENOENT}
}

// exists is os.Stat's success, in the snapshot when there is one.
func (l *loader) exists(path string) error {
	if l.snapshot == nil {
		_, err := os.Stat(l.cfg.MapPath(path))
		return err
	}
	_, err := l.readFile(path)
	return err
}

// glob expands an include pattern over the disk or the snapshot.
func (l *loader) glob(pattern string) []string {
	if l.snapshot == nil {
		if len(l.cfg.PathMap) == 0 {
			return globFiles(pattern)
		}
		found := globFiles(l.cfg.MapPath(pattern))
		for i, f := range found {
			found[i] = mapPath(l.cfg.PathMap, f, true)
		}
		return found
	}
	want := strings.Split(strings.TrimPrefix(pattern, "/"), "/")
	var found []string
	for path := range l.snapshot {
		got := strings.Split(strings.TrimPrefix(path, "/"), "/")
		if len(got) != len(want) {
			continue
		}
		ok := true
		for i, part := range want {
			ok = ok && globElement(part, got[i])
		}
		if ok {
			found = append(found, path)
		}
	}
	sort.Strings(found)
	return found
}

// globElement matches one path element as globFiles does.
func globElement(part, name string) bool {
	if !strings.ContainsAny(part, "*?[") {
		return part == name
	}
	if name == "" || name[0] == '.' && part[0] != '.' {
		return false
	}
	ok, err := filepath.Match(part, name)
	if err != nil {
		return part == name
	}
	return ok
}

// read returns the contents of path, reading it on first use.
func (l *loader) read(path string) (string, *Error) {
	if i, ok := l.index[path]; ok {
		return l.texts[i], nil
	}
	data, err := l.readFile(path)
	if err != nil {
		return "", fileError(path, err)
	}
	l.index[path] = len(l.cfg.Files)
	l.cfg.Files = append(l.cfg.Files, &File{Path: path, Data: data})
	// Tokens are substrings of the file's text. The text shares the
	// bytes of File.Data (no copy of a large config); File.Data is never
	// written after this.
	l.texts = append(l.texts, unsafe.String(unsafe.SliceData(data), len(data)))
	return l.texts[len(l.texts)-1], nil
}

// fileError words a failed open or read as nginx does.
func fileError(path string, err error) *Error {
	var pe *fs.PathError
	op := "open"
	if errors.As(err, &pe) && pe.Op == "read" {
		return &Error{Msg: `pread() "` + path + `" failed ` + errnoText(err), Crit: true}
	}
	return &Error{Msg: op + `() "` + path + `" failed ` + errnoText(err)}
}

// errnoText is ErrnoText in parentheses, as nginx's messages have it.
func errnoText(err error) string { return "(" + ErrnoText(err) + ")" }

// ErrnoText renders err as nginx prints an errno, "2: No such file or
// directory" (glibc's message starts with a capital, Go's does not); an
// error that is not an errno is its text.
func ErrnoText(err error) string {
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return err.Error()
	}
	msg := errno.Error()
	if msg != "" {
		msg = strings.ToUpper(msg[:1]) + msg[1:]
	}
	return strconv.Itoa(int(errno)) + ": " + msg
}

// parseFile reads path and parses its directives in ctx into the block
// into (whose expanded view receives them). It returns the file's index.
func (p *parser) parseFile(path string, into *blockBuf, ctx Context) (int, *Error) {
	text, err := p.loader.read(path)
	if err != nil {
		return -1, err
	}
	idx := p.loader.index[path]
	fb := p.newBuf(into)
	src := &source{lex: newLexer(text, fileTokenLimit), path: path}
	err = p.parseBlock(src, fb, ctx, topOfFile)
	own, _ := fb.close()
	if p.cfg.Files[idx].Tree == nil {
		// The first reading is the file's own tree (crossplane lists a
		// file included twice once).
		p.cfg.Files[idx].Tree = own
	}
	return idx, err
}

// maxIncludeDepth bounds include nesting: nginx has no limit and
// crashes on a cycle; no real configuration nests this deep.
const maxIncludeDepth = 64

// include follows an include directive: a file, or a glob pattern whose
// matches are read in sorted order (a pattern matching nothing is fine,
// a missing plain file is an error). The included directives are spliced
// into buf's expanded view.
func (p *parser) include(src *source, buf *blockBuf, ctx Context, d *Directive) *Error {
	name := p.cfg.ConfPath(d.Args[0])
	buf.pushInclude(d)
	var paths []string
	glob := strings.ContainsAny(name, "*?[") && p.rawBlock != "geo" // geo's include reads the name as is
	if glob {
		paths = p.loader.glob(name)
	} else {
		paths = []string{name}
	}
	d.Includes = make([]int, 0, len(paths))
	for _, path := range paths {
		if err := p.loader.exists(path); err != nil && !glob {
			if p.cfg.Lenient && errors.Is(err, fs.ErrNotExist) {
				p.cfg.Warnings = append(p.cfg.Warnings, &Error{Msg: fileError(path, err).Msg + ", taken as empty (--lenient)",
					File: src.path, Line: d.EndLine, Warn: true})
				continue
			}
			e := fileError(path, err)
			if src.param {
				e.Msg += " in command line"
			} else {
				e.File, e.Line = src.path, d.EndLine
			}
			return e
		}
		if p.includeDepth >= maxIncludeDepth {
			return &Error{Msg: "include of \"" + path + "\" nested more than " + strconv.Itoa(maxIncludeDepth) + " deep (an include cycle?)",
				File: src.path, Line: d.EndLine}
		}
		p.includeDepth++
		idx, err := p.parseFile(path, buf, ctx)
		p.includeDepth--
		if idx >= 0 {
			d.Includes = append(d.Includes, idx)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// globFiles expands pattern as glob(3) does for nginx: each path element
// matched against directory entries, names starting with '.' only when
// the pattern element does, results sorted bytewise.
func globFiles(pattern string) []string {
	parts := strings.Split(strings.TrimPrefix(pattern, "/"), "/")
	found := []string{"/"}
	for i, part := range parts {
		last := i == len(parts)-1
		var next []string
		for _, dir := range found {
			if !strings.ContainsAny(part, "*?[") {
				path := dir + part
				if _, err := os.Lstat(path); err == nil || (!last && part == "") {
					if !last {
						path += "/"
					}
					next = append(next, path)
				}
				continue
			}
			entries, err := os.ReadDir(dir)
			if err != nil {
				continue
			}
			for _, e := range entries {
				n := e.Name()
				if n[0] == '.' && part[0] != '.' {
					continue
				}
				ok, err := filepath.Match(part, n)
				if err != nil {
					ok = part == n
				}
				if !ok {
					continue
				}
				path := dir + n
				if !last {
					if fi, err := os.Stat(path); err != nil || !fi.IsDir() {
						continue
					}
					path += "/"
				}
				next = append(next, path)
			}
		}
		found = next
	}
	sort.Strings(found)
	return found
}
