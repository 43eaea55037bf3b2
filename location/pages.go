package location

// Version is the server version shown in error pages and the Server header.
const Version = "gonginx/0.1.0"

// pageSpec is one of nginx's built-in error pages
// (ngx_http_special_response.c): the title, and for the 49x codes the
// status actually sent and an extra line.
type pageSpec struct {
	title string // "404 Not Found"
	h1    string // "" means the title
	extra string // second <center> line (494..497)
	sent  int    // status sent on the wire (400 for 494..497)
}

var pageSpecs = map[int]pageSpec{
	301: {title: "301 Moved Permanently"},
	302: {title: "302 Found"},
	303: {title: "303 See Other"},
	307: {title: "307 Temporary Redirect"},
	308: {title: "308 Permanent Redirect"},
	400: {title: "400 Bad Request"},
	401: {title: "401 Authorization Required"},
	402: {title: "402 Payment Required"},
	403: {title: "403 Forbidden"},
	404: {title: "404 Not Found"},
	405: {title: "405 Not Allowed"},
	406: {title: "406 Not Acceptable"},
	408: {title: "408 Request Time-out"},
	409: {title: "409 Conflict"},
	410: {title: "410 Gone"},
	411: {title: "411 Length Required"},
	412: {title: "412 Precondition Failed"},
	413: {title: "413 Request Entity Too Large"},
	414: {title: "414 Request-URI Too Large"},
	415: {title: "415 Unsupported Media Type"},
	416: {title: "416 Requested Range Not Satisfiable"},
	421: {title: "421 Misdirected Request"},
	429: {title: "429 Too Many Requests"},
	494: {title: "400 Request Header Or Cookie Too Large", h1: "400 Bad Request", extra: "Request Header Or Cookie Too Large", sent: 400},
	495: {title: "400 The SSL certificate error", h1: "400 Bad Request", extra: "The SSL certificate error", sent: 400},
	496: {title: "400 No required SSL certificate was sent", h1: "400 Bad Request", extra: "No required SSL certificate was sent", sent: 400},
	497: {title: "400 The plain HTTP request was sent to HTTPS port", h1: "400 Bad Request", extra: "The plain HTTP request was sent to HTTPS port", sent: 400},
	500: {title: "500 Internal Server Error"},
	501: {title: "501 Not Implemented"},
	502: {title: "502 Bad Gateway"},
	503: {title: "503 Service Temporarily Unavailable"},
	504: {title: "504 Gateway Time-out"},
	505: {title: "505 HTTP Version Not Supported"},
	507: {title: "507 Insufficient Storage"},
}

// pages holds every built-in page rendered once, for both server_tokens
// settings, so answering an error copies bytes and formats nothing.
type pages struct {
	withVersion map[int][]byte
	bare        map[int][]byte
}

var builtinPages = buildPages()

func buildPages() *pages {
	p := &pages{withVersion: map[int][]byte{}, bare: map[int][]byte{}}
	for code, s := range pageSpecs {
		p.withVersion[code] = renderPage(s, Version)
		p.bare[code] = renderPage(s, "gonginx")
	}
	return p
}

func renderPage(s pageSpec, tail string) []byte {
	h1 := s.h1
	if h1 == "" {
		h1 = s.title
	}
	b := []byte("<html>\r\n<head><title>" + s.title + "</title></head>\r\n<body>\r\n<center><h1>" + h1 + "</h1></center>\r\n")
	if s.extra != "" {
		b = append(b, "<center>"+s.extra+"</center>\r\n"...)
	}
	b = append(b, "<hr><center>"+tail+"</center>\r\n</body>\r\n</html>\r\n"...)
	return b
}

// DefaultPage returns nginx's built-in body for code (nil when nginx sends
// none) and the status to put on the wire.
func DefaultPage(code int, serverTokens bool) (body []byte, sent int) {
	s, ok := pageSpecs[code]
	if !ok {
		return nil, code
	}
	sent = code
	if s.sent != 0 {
		sent = s.sent
	}
	if serverTokens {
		return builtinPages.withVersion[code], sent
	}
	return builtinPages.bare[code], sent
}
