package nginxconf

import "strings"

// Directive is one directive of a configuration, with where it was written.
type Directive struct {
	Name string   // "server", "listen", ...; "#" for a comment when Options.Comments
	Args []string // arguments with quotes removed and escapes resolved, as nginx sees them
	File string   // absolute path of the file it was read from
	Line int      // line of its name token (1-based)
	// EndLine is the line of the ";" or "{" that ended the directive:
	// nginx reports errors about a directive at that line.
	EndLine int
	// Block holds the directives inside "{...}". It is nil when the
	// directive ended with ";" and non-nil (maybe empty) when it had a block.
	Block []*Directive
	// Includes lists indexes into Config.Files for an "include" directive
	// (crossplane's shape). The included directives are also spliced into
	// the parent block in Config.Tree.
	Includes []int
	Comment  string // text after '#' when Name == "#"
	// Quoted reports, per argument, whether it was written in quotes; the
	// formatter and a few checks (an "if" operand) need it. It is nil when
	// no argument was quoted: use IsQuoted.
	Quoted []bool
	// NameQuoted is true when the name itself was written in quotes.
	NameQuoted bool
}

// IsQuoted reports whether argument i was written in quotes.
func (d *Directive) IsQuoted(i int) bool { return i < len(d.Quoted) && d.Quoted[i] }

// HasBlock reports whether the directive was written with "{...}".
func (d *Directive) HasBlock() bool { return d.Block != nil }

// File is one file read while loading, in the order nginx reads them.
type File struct {
	Path string       // absolute path
	Data []byte       // bytes as read (for -T); read-only: directive strings share them
	Tree []*Directive // its own directives; include directives are not expanded here
}

// Config is a loaded configuration.
type Config struct {
	ConfFile   string // absolute path of the -c file
	Prefix     string // nginx's prefix (-p), with a trailing slash
	ConfPrefix string // directory of ConfFile, with a trailing slash
	// Fragment is true when ConfFile holds http-level directives (a conf.d
	// file with top-level server blocks): it was loaded as a stock
	// nginx.conf includes it inside http {}.
	Fragment bool
	Files    []*File
	// Tree is the main context with includes expanded (and, for a
	// fragment, wrapped in events{} and http{}).
	Tree     []*Directive
	Warnings []*Error // "[warn]" lines, in order
	// Passwords holds each ssl_password_file's passwords by resolved
	// path, read once where the directive is parsed, as nginx reads it (a
	// named pipe can be read only once).
	Passwords map[string][]string
	// PathMap and Lenient are Options', for -t away from the server.
	PathMap []PathMapping
	Lenient bool
	// PidCheck is Options'.
	PidCheck bool
	// Paths are the temp and cache directories Check made or found
	// (ngx_create_paths), which a master run as root gives to the
	// workers' user.
	Paths []string
}

// Options are the command-line settings that affect loading.
type Options struct {
	Prefix   string // -p; "" means the default prefix
	Globals  string // -g directives, parsed as if at the top of the main context
	Comments bool   // keep '#' comments as "#" directives (JSON dump, formatter)
	// Passwords are ssl_password_file contents already read by this
	// start or reload (a named pipe can be read only once, and a worker
	// gets its master's): Load takes a file from here when it is there,
	// and adds the files it reads.
	Passwords map[string][]string
	// Files, when set, are the configuration files by absolute path (a
	// master's Config.Files handed to its worker): they are read from
	// here and include patterns match these paths instead of the disk, so
	// a worker loads the very bytes its master checked, even after the
	// files changed on disk.
	Files map[string][]byte
	// PathMap reads the configuration's paths under a prefix from another
	// directory (gonginx -t --map /etc/nginx=./nginx, in a checkout);
	// messages keep the configuration's own paths.
	PathMap []PathMapping
	// Lenient makes a missing include target a warning (the file is
	// taken as empty), for -t away from the server.
	Lenient bool
	// Handler, when set, checks each directive as it is read, after the
	// table's checks and before its block or include: what nginx's
	// directive handlers refuse (a listen's parameters, a location's
	// regex) is then reported before any later line's error, as nginx
	// does. The packages that give directives their meaning provide it.
	Handler func(d *Directive, ctx Context) *Error
	// PidCheck makes Check open the "pid" directive's file, created if
	// missing, before the temp paths: nginx -t does (ngx_create_pidfile
	// in ngx_init_cycle); a start writes it only after it forks.
	PidCheck bool
}

// Error is a configuration error or warning in nginx's wording. Error()
// reads as nginx prints it after the "[emerg] " level: "msg in file:line",
// or just "msg" when the error has no place (e.g. unknown "x" variable).
type Error struct {
	Msg  string
	File string
	Line int
	Warn bool // a warning ("[warn]") rather than an error ("[emerg]")
	Crit bool // nginx logs it at "[crit]" (a failed read of a file)
	// Silent: nginx fails with no line of its own (a directive handler
	// returning NGX_CONF_ERROR unlogged); only "test failed" is said.
	Silent bool
}

// PathMapping is one --map: paths under From are read under To.
type PathMapping struct{ From, To string }

// MapPath is where path is read on this machine.
func (c *Config) MapPath(path string) string { return mapPath(c.PathMap, path, false) }

// mapPath moves path from the longest matching From prefix to its To
// (to=false) or back (to=true), on path-element boundaries.
func mapPath(maps []PathMapping, path string, back bool) string {
	best, bestLen := "", -1
	for _, m := range maps {
		from, to := m.From, m.To
		if back {
			from, to = to, from
		}
		from = strings.TrimSuffix(from, "/")
		if (path == from || strings.HasPrefix(path, from+"/")) && len(from) > bestLen {
			best, bestLen = strings.TrimSuffix(to, "/")+path[len(from):], len(from)
		}
	}
	if bestLen < 0 {
		return path
	}
	return best
}

// ReportLine is the line nginx names in an error about d: the line of
// its ";" or "{", where nginx's reader stands when the handler runs (a
// directive missing its ";" runs on into the next line's); the name's
// line for a directive made up without one.
func (d *Directive) ReportLine() int {
	if d.EndLine > 0 {
		return d.EndLine
	}
	return d.Line
}
