package nginxconf

import (
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
	if cmd.Deprecated != "" && cmd.Args == Flag && !strings.EqualFold(d.Args[0], "on") && !strings.EqualFold(d.Args[0], "off") {
		// ngx_http_ssl_enable sets the flag before it warns.
		return 0, d.errorf("invalid value %q in %q directive, it must be \"on\" or \"off\"", d.Args[0], d.Name)
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
	"ngx_http_ssl_module ssl_ocsp_cache": true, "ngx_http_ssl_module ssl_password_file": true,
	"ngx_stream_ssl_module ssl_password_file": true, "ngx_mail_ssl_module ssl_password_file": true,
	"ngx_http_proxy_module proxy_pass": true, "ngx_http_proxy_module proxy_store": true,
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
