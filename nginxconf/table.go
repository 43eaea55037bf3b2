package nginxconf

import (
	"os"
	"os/user"
	"slices"
	"strconv"
	"strings"
)

// Context says which block a directive stands in, with bits that mirror
// nginx's NGX_*_CONF flags.
type Context uint32

const (
	MainConf Context = 1 << iota
	EventConf
	HTTPMainConf
	HTTPSrvConf
	HTTPLocConf
	HTTPUpsConf
	HTTPSifConf // "if" in server
	HTTPLifConf // "if" in location
	HTTPLmtConf // limit_except
	StreamMainConf
	StreamSrvConf
	StreamUpsConf
	MailMainConf
	MailSrvConf

	// AnyConf is every context (nginx's NGX_ANY_CONF: "include").
	AnyConf Context = 1<<iota - 1
)

// Args is a directive's argument-count spec, with nginx's NGX_CONF_* bit
// values: TakeN bits may be or-ed (Take12 is one or two arguments).
type Args uint32

const (
	NoArgs    Args = 0x1
	Take1     Args = 0x2
	Take2     Args = 0x4
	Take3     Args = 0x8
	Take4     Args = 0x10
	Take5     Args = 0x20
	Take6     Args = 0x40
	Take7     Args = 0x80
	Flag      Args = 0x200  // exactly one argument, "on" or "off"
	AnyArgs   Args = 0x400  // any count, checked by the handler
	OneOrMore Args = 0x800  // at least one
	TwoOrMore Args = 0x1000 // at least two

	Take12   = Take1 | Take2
	Take13   = Take1 | Take3
	Take23   = Take2 | Take3
	Take123  = Take1 | Take2 | Take3
	Take1234 = Take1 | Take2 | Take3 | Take4
)

// maxArgs is NGX_CONF_MAX_ARGS minus the name: more arguments than this
// are always "invalid number of arguments" unless the spec is open-ended.
const maxArgs = 7

// Allows reports whether n arguments satisfy the spec, as ngx_conf_handler
// decides it.
func (a Args) Allows(n int) bool {
	switch {
	case a&AnyArgs != 0:
		return true
	case a&Flag != 0:
		return n == 1
	case a&OneOrMore != 0:
		return n >= 1
	case a&TwoOrMore != 0:
		return n >= 2
	case n > maxArgs:
		return false
	}
	return a&(1<<n) != 0
}

// Slot is the kind of nginx's generic setter for a directive: it tells
// which value check -t does and whether a second occurrence in one block is
// "is duplicate". SlotCustom directives have a module-specific handler whose
// checks belong to the package that compiles them.
type Slot uint8

const (
	SlotCustom Slot = iota
	SlotFlag
	SlotStr
	SlotStrArray
	SlotKeyval
	SlotNum
	SlotSize
	SlotOff
	SlotMsec
	SlotSec
	SlotBufs
	SlotEnum
	SlotBitmask
	SlotPath
	SlotAccess
	SlotComplexValue     // ngx_http_set_complex_value_slot
	SlotComplexValueSize // ngx_http_set_complex_value_size_slot
	SlotComplexValueZero // ngx_http_set_complex_value_zero_slot
	SlotPredicate        // ngx_http_set_predicate_slot
	SlotTypes            // ngx_http_types_slot
	SlotUpstreamBind     // ngx_http_upstream_bind_set_slot
	SlotUpstreamParam    // ngx_http_upstream_param_set_slot
	SlotFileCache        // ngx_http_file_cache_set_slot
	SlotFileCacheValid   // ngx_http_file_cache_valid_set_slot
)

// slotHandlers names nginx's setter for each generic slot.
var slotHandlers = map[Slot]string{
	SlotFlag:             "ngx_conf_set_flag_slot",
	SlotStr:              "ngx_conf_set_str_slot",
	SlotStrArray:         "ngx_conf_set_str_array_slot",
	SlotKeyval:           "ngx_conf_set_keyval_slot",
	SlotNum:              "ngx_conf_set_num_slot",
	SlotSize:             "ngx_conf_set_size_slot",
	SlotOff:              "ngx_conf_set_off_slot",
	SlotMsec:             "ngx_conf_set_msec_slot",
	SlotSec:              "ngx_conf_set_sec_slot",
	SlotBufs:             "ngx_conf_set_bufs_slot",
	SlotEnum:             "ngx_conf_set_enum_slot",
	SlotBitmask:          "ngx_conf_set_bitmask_slot",
	SlotPath:             "ngx_conf_set_path_slot",
	SlotAccess:           "ngx_conf_set_access_slot",
	SlotComplexValue:     "ngx_http_set_complex_value_slot",
	SlotComplexValueSize: "ngx_http_set_complex_value_size_slot",
	SlotComplexValueZero: "ngx_http_set_complex_value_zero_slot",
	SlotPredicate:        "ngx_http_set_predicate_slot",
	SlotTypes:            "ngx_http_types_slot",
	SlotUpstreamBind:     "ngx_http_upstream_bind_set_slot",
	SlotUpstreamParam:    "ngx_http_upstream_param_set_slot",
	SlotFileCache:        "ngx_http_file_cache_set_slot",
	SlotFileCacheValid:   "ngx_http_file_cache_valid_set_slot",
}

var slotNames = map[Slot]string{
	SlotCustom: "SlotCustom", SlotFlag: "SlotFlag", SlotStr: "SlotStr", SlotStrArray: "SlotStrArray",
	SlotKeyval: "SlotKeyval", SlotNum: "SlotNum", SlotSize: "SlotSize", SlotOff: "SlotOff",
	SlotMsec: "SlotMsec", SlotSec: "SlotSec", SlotBufs: "SlotBufs", SlotEnum: "SlotEnum",
	SlotBitmask: "SlotBitmask", SlotPath: "SlotPath", SlotAccess: "SlotAccess",
	SlotComplexValue: "SlotComplexValue", SlotComplexValueSize: "SlotComplexValueSize",
	SlotComplexValueZero: "SlotComplexValueZero", SlotPredicate: "SlotPredicate", SlotTypes: "SlotTypes",
	SlotUpstreamBind: "SlotUpstreamBind", SlotUpstreamParam: "SlotUpstreamParam",
	SlotFileCache: "SlotFileCache", SlotFileCacheValid: "SlotFileCacheValid",
}

func (s Slot) String() string { return slotNames[s] }

// checksDuplicate reports whether nginx's setter refuses a second value for
// the same conf field ("is duplicate").
func (s Slot) checksDuplicate() bool {
	switch s {
	case SlotFlag, SlotStr, SlotNum, SlotSize, SlotOff, SlotMsec, SlotSec, SlotBufs, SlotEnum,
		SlotPath, SlotAccess, SlotComplexValue, SlotComplexValueSize, SlotComplexValueZero,
		SlotUpstreamBind:
		return true
	}
	return false
}

// Command is one entry of nginx's directive table (an ngx_command_t).
// A name may have several entries: "listen" in http, stream and mail.
type Command struct {
	Name   string
	Module string // nginx module that defines it, e.g. "ngx_http_core_module"
	Ctx    Context
	Args   Args
	Block  bool // takes "{...}" (NGX_CONF_BLOCK)
	Slot   Slot
	Set    string // nginx's exported setter when Slot is SlotCustom, else ""
	// Field is shared by commands that set the same conf field; two of
	// them in one block are "is duplicate" when Slot checks it. 0: none.
	Field      int
	Values     []string  // allowed values of an enum or bitmask
	Bounds     *[2]int64 // a number's bounds; high -1 means no upper bound
	Deprecated string    // the replacement nginx names in its warning
	PostCheck  bool      // nginx runs a module-specific check after setting
	Dynamic    bool      // a dynamic module in Debian's build (stream, mail, geoip, ...)
}

var commandsByName = indexCommands()

func indexCommands() map[string][]*Command {
	m := make(map[string][]*Command, len(commandTable))
	for i := range commandTable {
		c := &commandTable[i]
		m[c.Name] = append(m[c.Name], c)
	}
	return m
}

// Lookup returns the table entries for a directive name, in nginx's module
// order; nil for an unknown name.
func Lookup(name string) []*Command { return commandsByName[name] }

// Commands returns the whole table, in nginx's module order. Callers must
// not modify it.
func Commands() []Command { return commandTable }

// in returns the entry nginx would pick for the looked-up name in ctx,
// whether it is in customDuplicates, and whether the name is known at all
// (info nil: unknown).
func (info *nameInfo) in(ctx Context) (cmd *Command, customDup, known bool) {
	if info == nil {
		return nil, false, false
	}
	for i, c := range info.cmds {
		if c.Ctx&ctx != 0 {
			return c, info.customDup[i], true
		}
	}
	return nil, false, true
}

// nameInfo is what the checks need about one directive name, computed
// once so that checking a directive builds no strings.
type nameInfo struct {
	cmds      []*Command
	customDup []bool   // per cmds entry: listed in customDuplicates
	keys      []dupKey // what a directive of this name leaves in its block
	// concerns marks the after-block checks a directive of this name can
	// affect (presence flags: a check none of whose directives were read
	// is skipped).
	concerns presence
}

// dupKey is what a directive already read in a block means for the
// duplicate checks of the directives after it: its name (name set), when
// some module refuses a second directive of that name, or a conf field
// (module and Field) that generic setters refuse to set twice.
type dupKey struct {
	name   string
	module string
	field  int
}

var infoByName = indexNames()

func indexNames() map[string]*nameInfo {
	m := make(map[string]*nameInfo, len(commandsByName))
	for name, cmds := range commandsByName {
		info := &nameInfo{cmds: cmds, customDup: make([]bool, len(cmds))}
		for i, c := range cmds {
			if customDuplicates[c.Module+" "+c.Name] {
				info.customDup[i] = true
				info.addKey(dupKey{name: name})
			}
		}
		for _, c := range cmds {
			if c.Field != 0 {
				info.addKey(dupKey{module: c.Module, field: c.Field})
			}
		}
		info.concerns = concernsOf(name)
		m[name] = info
	}
	return m
}

func (n *nameInfo) addKey(k dupKey) {
	if !slices.Contains(n.keys, k) {
		n.keys = append(n.keys, k)
	}
}

// addDupKeys adds to seen, the keys of one block from mark on (each once,
// in the order first met), the keys of a directive named name. Keeping
// each key once bounds seen by the table's size, so checking a block's
// directives stays linear in the block's length.
func addDupKeys(seen []dupKey, mark int, name string) []dupKey {
	return addDupKeysInfo(seen, mark, infoByName[name])
}

// addDupKeysInfo is addDupKeys with the name already looked up.
func addDupKeysInfo(seen []dupKey, mark int, info *nameInfo) []dupKey {
	if info == nil {
		return seen
	}
	for _, k := range info.keys {
		if !slices.Contains(seen[mark:], k) {
			seen = append(seen, k)
		}
	}
	return seen
}

// blockContexts gives the context inside each block directive; a block
// directive missing here holds raw entries (map, types, geo, ...).
func innerContext(name string, ctx Context) Context {
	switch name {
	case "events":
		return EventConf
	case "http":
		return HTTPMainConf
	case "stream":
		return StreamMainConf
	case "mail":
		return MailMainConf
	case "server":
		switch ctx {
		case HTTPMainConf:
			return HTTPSrvConf
		case StreamMainConf:
			return StreamSrvConf
		case MailMainConf:
			return MailSrvConf
		}
	case "location":
		return HTTPLocConf
	case "if":
		if ctx == HTTPSrvConf {
			return HTTPSifConf
		}
		return HTTPLifConf
	case "upstream":
		if ctx == StreamMainConf {
			return StreamUpsConf
		}
		return HTTPUpsConf
	case "limit_except":
		return HTTPLmtConf
	}
	return 0
}

// checkDirective validates one directive as nginx's ngx_conf_handler does,
// in document order, as soon as its arguments are read: known name, allowed
// in ctx, ";" versus "{", argument count, values of generic kinds, and
// duplicates among siblings already read in the same block. It returns the
// context of the directive's block contents, or 0 when that block holds raw
// "key value;" entries (map, types, geo, split_clients, ...) that are not
// checked as directives.
//
// An error with Warn set is a warning nginx prints and goes on after (a
// deprecated directive); the caller records it and continues.
func checkDirective(d *Directive, ctx Context, isBlock bool, siblings []*Directive) (inner Context, err *Error) {
	var seen []dupKey
	for _, s := range siblings {
		if s != d {
			seen = addDupKeys(seen, 0, s.Name)
		}
	}
	return checkDirectiveSeen(d, ctx, isBlock, seen)
}

// checkDirectiveSeen is checkDirective with the siblings already read
// given by their duplicate keys (addDupKeys), as the parser keeps them.
func checkDirectiveSeen(d *Directive, ctx Context, isBlock bool, seen []dupKey) (inner Context, err *Error) {
	return checkDirectiveInfo(infoByName[d.Name], d, ctx, isBlock, seen)
}

// checkDirectiveInfo is checkDirectiveSeen with d's name already looked
// up (info is nil for an unknown name): the parser looks each name up
// once.
func checkDirectiveInfo(info *nameInfo, d *Directive, ctx Context, isBlock bool, seen []dupKey) (inner Context, err *Error) {
	cmd, customDup, known := info.in(ctx)
	if cmd == nil {
		if known {
			return 0, d.errorf("%q directive is not allowed here", d.Name)
		}
		return 0, d.errorf("unknown directive %q", d.Name)
	}
	if !cmd.Block && isBlock {
		return 0, d.errorf("directive %q is not terminated by \";\"", d.Name)
	}
	if cmd.Block && !isBlock {
		return 0, d.errorf("directive %q has no opening \"{\"", d.Name)
	}
	if !cmd.Args.Allows(len(d.Args)) {
		return 0, d.errorf("invalid number of arguments in %q directive", d.Name)
	}
	if err := checkDuplicate(cmd, customDup, d, seen); err != nil {
		return 0, err
	}
	if err := checkValue(cmd, d); err != nil {
		return 0, err
	}
	if cmd.Block {
		inner = innerContext(d.Name, ctx)
	}
	if cmd.Deprecated != "" {
		word := "deprecated"
		if cmd.Module == "ngx_http_v2_module" {
			word = "obsolete" // ngx_http_v2_obsolete: warns, sets nothing
		}
		w := d.errorf("the %q directive is "+word+", use the %q directive instead", d.Name, cmd.Deprecated)
		w.Warn = true
		return inner, w
	}
	return inner, nil
}

func (d *Directive) errorf(format string, args ...any) *Error {
	return &Error{Msg: sprintf(format, args...), File: d.File, Line: d.Line}
}

// customDuplicates are directives with module-specific handlers that
// refuse a second occurrence in one block whatever its value, found by
// running nginx 1.22 on each (TestProbeCustomDuplicates).
var customDuplicates = map[string]bool{
	"ngx_core_module worker_processes": true, "ngx_core_module worker_priority": true,
	"ngx_core_module worker_cpu_affinity": true, "ngx_core_module user": true,
	"ngx_events_module events": true, "ngx_http_module http": true,
	"ngx_stream_module stream": true, "ngx_mail_module mail": true,
	"ngx_event_core_module worker_connections": true, "ngx_event_core_module use": true,
	"ngx_http_core_module root": true, "ngx_http_core_module alias": true,
	"ngx_http_core_module aio": true, "ngx_http_core_module directio": true,
	"ngx_http_core_module keepalive_timeout": true, "ngx_http_core_module internal": true,
	"ngx_http_core_module open_file_cache": true, "ngx_http_core_module resolver": true,
	"ngx_http_core_module disable_symlinks": true, "ngx_http_core_module limit_except": true,
	"ngx_http_log_module open_log_file_cache": true, "ngx_http_try_files_module try_files": true,
	"ngx_http_auth_request_module auth_request": true, "ngx_http_auth_basic_module auth_basic_user_file": true,
	"ngx_http_realip_module real_ip_header": true, "ngx_http_ssl_module ssl": true,
	"ngx_http_ssl_module ssl_ocsp_cache": true,
	"ngx_http_proxy_module proxy_pass":   true, "ngx_http_proxy_module proxy_store": true,
	"ngx_http_proxy_module proxy_cache": true, "ngx_http_proxy_module proxy_cache_key": true,
	"ngx_http_fastcgi_module fastcgi_pass": true, "ngx_http_fastcgi_module fastcgi_store": true,
	"ngx_http_fastcgi_module fastcgi_cache": true, "ngx_http_fastcgi_module fastcgi_cache_key": true,
	"ngx_http_uwsgi_module uwsgi_pass": true, "ngx_http_uwsgi_module uwsgi_store": true,
	"ngx_http_uwsgi_module uwsgi_cache": true, "ngx_http_uwsgi_module uwsgi_cache_key": true,
	"ngx_http_scgi_module scgi_pass": true, "ngx_http_scgi_module scgi_store": true,
	"ngx_http_scgi_module scgi_cache": true, "ngx_http_scgi_module scgi_cache_key": true,
	"ngx_http_grpc_module grpc_pass": true, "ngx_http_memcached_module memcached_pass": true,
	"ngx_http_upstream_keepalive_module keepalive": true,
	"ngx_http_charset_filter_module charset":       true, "ngx_http_charset_filter_module source_charset": true,
	"ngx_http_userid_filter_module userid_expires": true, "ngx_http_userid_filter_module userid_mark": true,
	"ngx_http_headers_filter_module expires": true,
	"ngx_mail_core_module resolver":          true, "ngx_mail_ssl_module ssl": true, "ngx_mail_ssl_module starttls": true,
	"ngx_stream_core_module resolver": true, "ngx_stream_log_module open_log_file_cache": true,
	"ngx_stream_proxy_module proxy_pass": true, "ngx_stream_proxy_module proxy_bind": true,
	"ngx_stream_proxy_module proxy_upload_rate": true, "ngx_stream_proxy_module proxy_download_rate": true,
	"ngx_stream_proxy_module proxy_ssl_name": true, "ngx_stream_proxy_module proxy_ssl_certificate": true,
	"ngx_stream_proxy_module proxy_ssl_certificate_key": true, "ngx_stream_ssl_module ssl_alpn": true,
	"ngx_stream_return_module return": true,
}

// checkDuplicate refuses a second directive of a name in customDuplicates
// or a second value for a conf field that cmd's generic setter owns. seen
// holds the keys of the siblings read before d (addDupKeys).
func checkDuplicate(cmd *Command, customDup bool, d *Directive, seen []dupKey) *Error {
	if customDup {
		for _, s := range seen {
			if s.name == "" {
				continue
			}
			if s.name == d.Name {
				return d.errorf("%q directive is duplicate", d.Name)
			}
			// root and alias share one field and say which came first.
			if (d.Name == "root" || d.Name == "alias") && (s.name == "root" || s.name == "alias") && cmd.Module == "ngx_http_core_module" {
				return d.errorf("%q directive is duplicate, %q directive was specified earlier", d.Name, s.name)
			}
		}
	}
	if cmd.Slot.checksDuplicate() && cmd.Field != 0 {
		for _, s := range seen {
			if s.name == "" && s.field == cmd.Field && s.module == cmd.Module {
				return d.errorf("%q directive is duplicate", d.Name)
			}
		}
	}
	return nil
}

// checkValue runs the value checks of nginx's generic setter for cmd.
func checkValue(cmd *Command, d *Directive) *Error {
	invalid := func() *Error { return d.errorf("%q directive invalid value", d.Name) }
	a := d.Args
	switch cmd.Slot {
	case SlotFlag:
		if !strings.EqualFold(a[0], "on") && !strings.EqualFold(a[0], "off") {
			return d.errorf("invalid value %q in %q directive, it must be \"on\" or \"off\"", a[0], d.Name)
		}
	case SlotNum:
		n, ok := ParseNumber(a[0])
		if !ok {
			return d.errorf("%q directive invalid number", d.Name)
		}
		if b := cmd.Bounds; b != nil {
			if b[1] == -1 && n < b[0] {
				return d.errorf("value must be equal to or greater than %d", b[0])
			}
			if b[1] != -1 && (n < b[0] || n > b[1]) {
				return d.errorf("value must be between %d and %d", b[0], b[1])
			}
		}
	case SlotSize:
		if _, ok := ParseSize(a[0]); !ok {
			return invalid()
		}
	case SlotOff:
		if _, ok := ParseOffset(a[0]); !ok {
			return invalid()
		}
	case SlotMsec:
		if _, ok := ParseTime(a[0], false); !ok {
			return invalid()
		}
	case SlotSec:
		if _, ok := ParseTime(a[0], true); !ok {
			return invalid()
		}
	case SlotBufs:
		if n, ok := ParseNumber(a[0]); !ok || n == 0 {
			return invalid()
		}
		if n, ok := ParseSize(a[1]); !ok || n == 0 {
			return invalid()
		}
	case SlotEnum:
		if !containsFold(cmd.Values, a[0]) {
			return d.errorf("invalid value %q", a[0])
		}
	case SlotBitmask:
		for i, v := range a {
			if !containsFold(cmd.Values, v) {
				return d.errorf("invalid value %q", v)
			}
			for _, p := range a[:i] {
				if strings.EqualFold(p, v) {
					w := d.errorf("duplicate value %q", v)
					w.Warn = true
					return w
				}
			}
		}
	case SlotPath:
		total := 0
		for _, v := range a[1:] {
			n, ok := ParseNumber(v)
			if !ok || n == 0 || n > 2 {
				return invalid()
			}
			total += int(n)
		}
	case SlotComplexValueSize:
		if !strings.Contains(a[0], "$") {
			if _, ok := ParseSize(a[0]); !ok {
				return invalid()
			}
		}
	case SlotFileCacheValid:
		last := a[len(a)-1]
		if _, ok := ParseTime(last, true); !ok {
			return d.errorf("invalid time value %q", last)
		}
		for _, v := range a[:len(a)-1] {
			if v == "any" {
				continue
			}
			if n, ok := ParseNumber(v); !ok || n < 100 || n > 599 {
				return d.errorf("invalid status %q", v)
			}
		}
	case SlotAccess:
		for _, v := range a {
			who, right, ok := strings.Cut(v, ":")
			if !ok || (who != "user" && who != "group" && who != "all") || (right != "r" && right != "rw") {
				return d.errorf("invalid value %q", v)
			}
		}
	}
	if cmd.PostCheck {
		return postCheck(d)
	}
	switch cmd.Slot {
	case SlotCustom:
		return customCheck(cmd, d)
	case SlotUpstreamParam:
		// ngx_http_upstream_param_set_slot
		if len(a) == 3 && a[2] != "if_not_empty" {
			return d.errorf("invalid parameter %q", a[2])
		}
	case SlotUpstreamBind:
		return checkBind(d)
	}
	return nil
}

// customCheck runs the pure value checks of a few module handlers that
// configs often get wrong, with the messages nginx 1.22 prints (each
// observed with nginx -t). Checks that need meaning (listen, locations,
// upstreams, variables) live in the packages that compile the directive.
func customCheck(cmd *Command, d *Directive) *Error {
	a := d.Args
	// d.Name is cmd.Name; the module tells same-named entries apart.
	switch m := cmd.Module; {
	case d.Name == "worker_processes" && m == "ngx_core_module":
		if _, ok := ParseNumber(a[0]); !ok && a[0] != "auto" {
			return d.errorf("%q directive invalid value", d.Name)
		}
	case d.Name == "worker_priority" && m == "ngx_core_module":
		v := a[0]
		if v != "" && (v[0] == '-' || v[0] == '+') {
			v = v[1:]
		}
		if _, ok := ParseNumber(v); !ok {
			return d.errorf("%q directive invalid number", d.Name)
		}
	case d.Name == "worker_cpu_affinity" && m == "ngx_core_module":
		return checkCPUAffinity(d)
	case d.Name == "worker_connections" && m == "ngx_event_core_module":
		if _, ok := ParseNumber(a[0]); !ok {
			return d.errorf("invalid number %q", a[0])
		}
	case d.Name == "use" && m == "ngx_event_core_module":
		if a[0] != "epoll" && a[0] != "poll" && a[0] != "select" {
			return d.errorf("invalid event type %q", a[0])
		}
	case d.Name == "keepalive_timeout" && m == "ngx_http_core_module":
		if _, ok := ParseTime(a[0], false); !ok {
			return d.errorf("%q directive invalid value", d.Name)
		}
		if len(a) == 2 {
			if _, ok := ParseTime(a[1], true); !ok {
				return d.errorf("%q directive invalid value", d.Name)
			}
		}
	case d.Name == "user" && m == "ngx_core_module":
		return checkUser(d)
	default:
		return moreChecks(cmd, d)
	case d.Name == "try_files" && m == "ngx_http_try_files_module":
		// ngx_http_core_try_files: a last "=code" must be a number <= 999.
		if last := a[len(a)-1]; strings.HasPrefix(last, "=") {
			if n, ok := ParseNumber(last[1:]); !ok || n > 999 {
				return d.errorf("invalid code %q", last)
			}
		}
	case d.Name == "error_page" && m == "ngx_http_core_module":
		return checkErrorPage(d)
	case d.Name == "server_name" && m == "ngx_http_core_module":
		for _, v := range a {
			if v != "" && (v[0] == '*' && (len(v) < 3 || v[1] != '.') || v[0] == '.' && len(v) < 2) {
				return d.errorf("server name %q is invalid", v)
			}
		}
	case d.Name == "geo" && (m == "ngx_http_geo_module" || m == "ngx_stream_geo_module"):
		for _, v := range a {
			if err := checkVarName(d, v); err != nil {
				return err
			}
		}
	case d.Name == "split_clients" && (m == "ngx_http_split_clients_module" || m == "ngx_stream_split_clients_module"):
		if a[1] == "$" {
			return d.errorf("invalid variable name %q", a[1])
		}
		return checkVarName(d, a[1])
	case d.Name == "error_log" && (m == "ngx_core_module" || m == "ngx_errlog_module" || m == "ngx_http_core_module" ||
		m == "ngx_stream_core_module" || m == "ngx_mail_core_module"):
		if err := checkSyslog(d, a[0]); err != nil {
			return err
		}
		return checkLogLevels(d)
	case d.Name == "ssl_session_cache" && (m == "ngx_http_ssl_module" || m == "ngx_stream_ssl_module" ||
		m == "ngx_mail_ssl_module"):
		for _, v := range a {
			if !validSessionCache(v) {
				return d.errorf("invalid session cache %q", v)
			}
		}
	}
	return nil
}

// checkCPUAffinity checks the masks as ngx_set_cpu_affinity reads them:
// "auto" first (then at most one mask), each mask of '0' and '1' read
// from its last character, spaces skipped.
func checkCPUAffinity(d *Directive) *Error {
	masks := d.Args
	if masks[0] == "auto" {
		if len(masks) > 2 {
			return d.errorf("invalid number of arguments in %q directive", d.Name)
		}
		masks = masks[1:]
	}
	for _, m := range masks {
		if len(m) > 1024 {
			return d.errorf(`"worker_cpu_affinity" supports up to 1024 CPUs only`)
		}
		for j := len(m) - 1; j >= 0; j-- {
			if c := m[j]; c != ' ' && c != '0' && c != '1' {
				return d.errorf("invalid character %q in \"worker_cpu_affinity\"", string(c))
			}
		}
	}
	return nil
}

// checkCachePath checks the parameters of a *_cache_path directive as
// ngx_http_file_cache_set_slot does; each message quotes the parameter.
func checkCachePath(d *Directive) *Error {
	zone := false
	for _, v := range d.Args[1:] {
		key, val, hasEq := strings.Cut(v, "=")
		if !hasEq {
			return d.errorf("invalid parameter %q", v)
		}
		ok := true
		switch key {
		case "levels":
			if !validLevels(val) {
				return d.errorf(`invalid "levels" %q`, v)
			}
			continue
		case "use_temp_path":
			if val != "on" && val != "off" {
				return d.errorf(`invalid use_temp_path value %q, it must be "on" or "off"`, v)
			}
			continue
		case "keys_zone":
			name, size, found := strings.Cut(val, ":")
			n, okN := ParseSize(size)
			if !found || !okN {
				return d.errorf("invalid keys zone size %q", v)
			}
			if n < 8192 {
				return d.errorf("keys zone %q is too small", v)
			}
			zone = zone || name != ""
			continue
		case "inactive", "manager_sleep", "manager_threshold", "loader_sleep", "loader_threshold":
			_, ok = ParseTime(val, key == "inactive")
		case "max_size", "min_free":
			_, ok = ParseOffset(val)
		case "loader_files", "manager_files":
			_, ok = ParseNumber(val)
		default:
			return d.errorf("invalid parameter %q", v)
		}
		if !ok {
			return d.errorf("invalid "+key+" value %q", v)
		}
	}
	if !zone {
		return d.errorf(`%q must have "keys_zone" parameter`, d.Name)
	}
	return nil
}

// validLevels reports whether "1:2"-style cache levels are one to three
// digits 1 or 2 separated by colons.
func validLevels(v string) bool {
	parts := strings.Split(v, ":")
	if len(parts) > 3 {
		return false
	}
	for _, p := range parts {
		if p != "1" && p != "2" {
			return false
		}
	}
	return true
}

// checkErrorPage checks "error_page code ... [=[response]] uri" as
// ngx_http_core_error_page does, before it compiles the uri.
func checkErrorPage(d *Directive) *Error {
	a := d.Args
	codes := a[:len(a)-1]
	if o := codes[len(codes)-1]; strings.HasPrefix(o, "=") {
		if len(codes) == 1 {
			return d.errorf("invalid value %q", o)
		}
		if _, ok := ParseNumber(o[1:]); len(o) > 1 && !ok {
			return d.errorf("invalid value %q", o)
		}
		codes = codes[:len(codes)-1]
	}
	for _, c := range codes {
		n, ok := ParseNumber(c)
		if !ok || n == 499 {
			return d.errorf("invalid value %q", c)
		}
		if n < 300 || n > 599 {
			return d.errorf("value %q must be between 300 and 599", c)
		}
	}
	return nil
}

// checkUser looks up the user and group as ngx_set_user does when run as
// root; nginx names the failing libc call. The group defaults to the
// user's name (Debian has no "nobody" group, so "user nobody;" fails).
// As a non-root user nginx only warns that the directive is ignored.
func checkUser(d *Directive) *Error {
	a := d.Args
	if os.Geteuid() != 0 {
		e := d.errorf(`the "user" directive makes sense only if the master process runs with super-user privileges, ignored`)
		e.Warn = true
		return e
	}
	if _, err := user.Lookup(a[0]); err != nil {
		return d.errorf("getpwnam(%q) failed", a[0])
	}
	group := a[0]
	if len(a) == 2 {
		group = a[1]
	}
	if _, err := user.LookupGroup(group); err != nil {
		return d.errorf("getgrnam(%q) failed", group)
	}
	return nil
}

// checkLogLevels checks error_log's levels as ngx_log_set_levels does:
// one of the error levels, or any debug_* levels (a --with-debug build).
func checkLogLevels(d *Directive) *Error {
	errLevels := []string{"emerg", "alert", "crit", "error", "warn", "notice", "info", "debug"}
	debugLevels := []string{"debug_core", "debug_alloc", "debug_mutex", "debug_event", "debug_http", "debug_mail", "debug_stream"}
	haveErr, haveDebug := false, false
	for _, v := range d.Args[1:] {
		switch {
		case contains(errLevels, v):
			if haveErr || haveDebug {
				return d.errorf("duplicate log level %q", v)
			}
			haveErr = true
		case contains(debugLevels, v):
			if haveErr {
				return d.errorf("invalid log level %q", v)
			}
			haveDebug = true
		default:
			return d.errorf("invalid log level %q", v)
		}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// validSessionCache reports whether v is off, none, builtin[:N] or
// shared:NAME:SIZE.
func validSessionCache(v string) bool {
	switch v {
	case "off", "none", "builtin":
		return true
	}
	if n, ok := strings.CutPrefix(v, "builtin:"); ok {
		_, ok := ParseNumber(n)
		return ok
	}
	if rest, ok := strings.CutPrefix(v, "shared:"); ok {
		name, size, ok := strings.Cut(rest, ":")
		if !ok || name == "" {
			return false
		}
		n, ok := ParseSize(size)
		return ok && n > 0
	}
	return false
}

// postCheck runs the module-specific checks nginx's post handlers do on a
// generic slot's value (the value itself already parsed).
func postCheck(d *Directive) *Error {
	size := func() int64 { n, _ := ParseSize(d.Args[0]); return n }
	switch d.Name {
	case "gzip_window", "gzip_hash":
		allowed, top := "512, 1k, 2k, 4k, 8k, 16k, or 32k", int64(32<<10)
		if d.Name == "gzip_hash" {
			allowed, top = "512, 1k, 2k, 4k, 8k, 16k, 32k, 64k, or 128k", 128<<10
		}
		n := size()
		if n < 512 || n > top || n&(n-1) != 0 {
			return d.errorf("%q directive must be "+allowed, d.Name)
		}
	case "connection_pool_size", "request_pool_size", "http2_pool_size":
		n := size()
		if n < 112 {
			return d.errorf("the pool size must be no less than 112")
		}
		if n%16 != 0 {
			return d.errorf("the pool size must be a multiple of 16")
		}
	case "send_lowat", "proxy_send_lowat", "fastcgi_send_lowat":
		w := d.errorf("%q is not supported, ignored", d.Name)
		w.Warn = true
		return w
	case "http2_recv_buffer_size":
		if size() <= 32 {
			return d.errorf("%q directive value is too small", d.Name)
		}
	case "http2_body_preread_size":
		if size() > 1<<31-1 {
			return d.errorf("the maximum body preread buffer size is 2147483647")
		}
	case "http2_streams_index_size":
		if n, _ := ParseNumber(d.Args[0]); n&(n-1) != 0 {
			return d.errorf("%q directive must be a power of two", d.Name)
		}
	case "proxy_cache_path", "fastcgi_cache_path", "uwsgi_cache_path", "scgi_cache_path":
		return checkCachePath(d)
	case "http2_chunk_size":
		if size() == 0 {
			return d.errorf("the http2 chunk size cannot be zero")
		}
	}
	return nil
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

// ParseNumber parses a non-negative decimal as nginx's ngx_atoi does.
func ParseNumber(s string) (int64, bool) {
	if s == "" {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		if n > (1<<63-1-int64(c-'0'))/10 {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// ParseSize parses a size as nginx's ngx_parse_size does: digits with an
// optional k/K or m/M suffix (nginx 1.22 has no g for sizes).
func ParseSize(s string) (int64, bool) {
	if s != "" && (s[len(s)-1] == 'g' || s[len(s)-1] == 'G') {
		return 0, false
	}
	return parseScaled(s)
}

// ParseOffset parses an offset as nginx's ngx_parse_offset does: a size
// that may also end in g/G.
func ParseOffset(s string) (int64, bool) { return parseScaled(s) }

func parseScaled(s string) (int64, bool) {
	if s == "" {
		return 0, false
	}
	scale := int64(1)
	switch s[len(s)-1] {
	case 'k', 'K':
		scale = 1 << 10
	case 'm', 'M':
		scale = 1 << 20
	case 'g', 'G':
		scale = 1 << 30
	}
	if scale != 1 {
		s = s[:len(s)-1]
	}
	n, ok := ParseNumber(s)
	if !ok || n > (1<<63-1)/scale {
		return 0, false
	}
	return n * scale, true
}

// ParseTime parses a time as nginx's ngx_parse_time does and returns
// milliseconds (isSec false) or seconds (isSec true). Units y M w d h m s
// come in decreasing order, each at most once; ms only for milliseconds, y
// and M only for seconds; spaces may follow a unit; a space after a bare
// number ends it as seconds; a bare number is seconds.
func ParseTime(s string, isSec bool) (int64, bool) {
	const (
		stStart = iota
		stYear
		stMonth
		stWeek
		stDay
		stHour
		stMin
		stSec
		stMsec
	)
	const maxInt = int64(1<<63 - 1)
	var value, total int64
	valid := false
	step := stStart
	if !isSec {
		step = stMonth
	}
	for i := 0; i < len(s); {
		c := s[i]
		if c >= '0' && c <= '9' {
			if value > (maxInt-int64(c-'0'))/10 {
				return 0, false
			}
			value = value*10 + int64(c-'0')
			valid = true
			i++
			continue
		}
		i++
		var st int
		var scale int64
		switch c {
		case 'y':
			st, scale = stYear, 60*60*24*365
			if step > stStart {
				return 0, false
			}
		case 'M':
			st, scale = stMonth, 60*60*24*30
		case 'w':
			st, scale = stWeek, 60*60*24*7
		case 'd':
			st, scale = stDay, 60*60*24
		case 'h':
			st, scale = stHour, 60*60
		case 'm':
			if i < len(s) && s[i] == 's' {
				if isSec || step >= stMsec {
					return 0, false
				}
				i++
				st, scale = stMsec, 1
				break
			}
			st, scale = stMin, 60
		case 's', ' ':
			st, scale = stSec, 1
		default:
			return 0, false
		}
		if st != stYear && st != stMsec && step >= st {
			return 0, false
		}
		step = st
		maxv := maxInt / scale
		if st != stMsec && !isSec {
			scale *= 1000
			maxv /= 1000
		}
		if value > maxv {
			return 0, false
		}
		value *= scale
		if total > maxInt-value {
			return 0, false
		}
		total += value
		value = 0
		for i < len(s) && s[i] == ' ' {
			i++
		}
	}
	if !valid {
		return 0, false
	}
	if !isSec {
		if value > maxInt/1000 {
			return 0, false
		}
		value *= 1000
	}
	if total > maxInt-value {
		return 0, false
	}
	return total + value, true
}

func sprintf(format string, args ...any) string {
	// Only %q (nginx's "%s" in double quotes, bytes verbatim), %s and %d
	// are used.
	var b strings.Builder
	ai := 0
	for i := 0; i < len(format); i++ {
		c := format[i]
		if c != '%' || i+1 >= len(format) {
			b.WriteByte(c)
			continue
		}
		i++
		switch format[i] {
		case 'q':
			b.WriteByte('"')
			b.WriteString(args[ai].(string))
			b.WriteByte('"')
		case 's':
			b.WriteString(args[ai].(string))
		case 'd':
			switch v := args[ai].(type) {
			case uint32:
				b.WriteString(strconv.FormatUint(uint64(v), 10))
			case int:
				b.WriteString(strconv.Itoa(v))
			default:
				b.WriteString(strconv.FormatInt(v.(int64), 10))
			}
		default:
			b.WriteByte('%')
			b.WriteByte(format[i])
			continue
		}
		ai++
	}
	return b.String()
}

// commands is Lookup for a name already looked up (nil info: none).
func (info *nameInfo) commands() []*Command {
	if info == nil {
		return nil
	}
	return info.cmds
}
