package nginxconf

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
)

// checkDirective validates one directive as nginx's ngx_conf_handler does,
// in document order, as soon as its arguments are read: known name, allowed
// in ctx, ";" versus "{", argument count, values of generic kinds, and
// duplicates among siblings already read in the same block. It returns the
// context of the directive's block contents, or 0 when that block holds raw
// "key value;" entries (map, types, geo, split_clients, ...) that are not
// checked as directives.
//
// Stub: accepts everything until the real table lands.
func checkDirective(d *Directive, ctx Context, isBlock bool, siblings []*Directive) (inner Context, err *Error) {
	switch d.Name {
	case "http":
		return HTTPMainConf, nil
	case "server":
		if ctx&HTTPMainConf != 0 {
			return HTTPSrvConf, nil
		}
	case "location":
		return HTTPLocConf, nil
	case "types", "map":
		return 0, nil
	}
	return ctx, nil
}
