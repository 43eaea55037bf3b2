package nginxconf

// builtinMIMETypes is the "types" block of Debian's /etc/nginx/mime.types
// (nginx 1.22), which the stock nginx.conf includes in http{}. A conf.d
// fragment is loaded inside it (see Load). Order is the file's.
var builtinMIMETypes = [...]struct {
	Type string
	Exts []string
}{
	{"text/html", []string{"html", "htm", "shtml"}},
	{"text/css", []string{"css"}},
	{"text/xml", []string{"xml"}},
	{"image/gif", []string{"gif"}},
	{"image/jpeg", []string{"jpeg", "jpg"}},
	{"application/javascript", []string{"js"}},
	{"application/atom+xml", []string{"atom"}},
	{"application/rss+xml", []string{"rss"}},
	{"text/mathml", []string{"mml"}},
	{"text/plain", []string{"txt"}},
	{"text/vnd.sun.j2me.app-descriptor", []string{"jad"}},
	{"text/vnd.wap.wml", []string{"wml"}},
	{"text/x-component", []string{"htc"}},
	{"image/avif", []string{"avif"}},
	{"image/png", []string{"png"}},
	{"image/svg+xml", []string{"svg", "svgz"}},
	{"image/tiff", []string{"tif", "tiff"}},
	{"image/vnd.wap.wbmp", []string{"wbmp"}},
	{"image/webp", []string{"webp"}},
	{"image/x-icon", []string{"ico"}},
	{"image/x-jng", []string{"jng"}},
	{"image/x-ms-bmp", []string{"bmp"}},
	{"font/woff", []string{"woff"}},
	{"font/woff2", []string{"woff2"}},
	{"application/java-archive", []string{"jar", "war", "ear"}},
	{"application/json", []string{"json"}},
	{"application/mac-binhex40", []string{"hqx"}},
	{"application/msword", []string{"doc"}},
	{"application/pdf", []string{"pdf"}},
	{"application/postscript", []string{"ps", "eps", "ai"}},
	{"application/rtf", []string{"rtf"}},
	{"application/vnd.apple.mpegurl", []string{"m3u8"}},
	{"application/vnd.google-earth.kml+xml", []string{"kml"}},
	{"application/vnd.google-earth.kmz", []string{"kmz"}},
	{"application/vnd.ms-excel", []string{"xls"}},
	{"application/vnd.ms-fontobject", []string{"eot"}},
	{"application/vnd.ms-powerpoint", []string{"ppt"}},
	{"application/vnd.oasis.opendocument.graphics", []string{"odg"}},
	{"application/vnd.oasis.opendocument.presentation", []string{"odp"}},
	{"application/vnd.oasis.opendocument.spreadsheet", []string{"ods"}},
	{"application/vnd.oasis.opendocument.text", []string{"odt"}},
	{"application/vnd.openxmlformats-officedocument.presentationml.presentation", []string{"pptx"}},
	{"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", []string{"xlsx"}},
	{"application/vnd.openxmlformats-officedocument.wordprocessingml.document", []string{"docx"}},
	{"application/vnd.wap.wmlc", []string{"wmlc"}},
	{"application/wasm", []string{"wasm"}},
	{"application/x-7z-compressed", []string{"7z"}},
	{"application/x-cocoa", []string{"cco"}},
	{"application/x-java-archive-diff", []string{"jardiff"}},
	{"application/x-java-jnlp-file", []string{"jnlp"}},
	{"application/x-makeself", []string{"run"}},
	{"application/x-perl", []string{"pl", "pm"}},
	{"application/x-pilot", []string{"prc", "pdb"}},
	{"application/x-rar-compressed", []string{"rar"}},
	{"application/x-redhat-package-manager", []string{"rpm"}},
	{"application/x-sea", []string{"sea"}},
	{"application/x-shockwave-flash", []string{"swf"}},
	{"application/x-stuffit", []string{"sit"}},
	{"application/x-tcl", []string{"tcl", "tk"}},
	{"application/x-x509-ca-cert", []string{"der", "pem", "crt"}},
	{"application/x-xpinstall", []string{"xpi"}},
	{"application/xhtml+xml", []string{"xhtml"}},
	{"application/xspf+xml", []string{"xspf"}},
	{"application/zip", []string{"zip"}},
	{"application/octet-stream", []string{"bin", "exe", "dll"}},
	{"application/octet-stream", []string{"deb"}},
	{"application/octet-stream", []string{"dmg"}},
	{"application/octet-stream", []string{"iso", "img"}},
	{"application/octet-stream", []string{"msi", "msp", "msm"}},
	{"audio/midi", []string{"mid", "midi", "kar"}},
	{"audio/mpeg", []string{"mp3"}},
	{"audio/ogg", []string{"ogg"}},
	{"audio/x-m4a", []string{"m4a"}},
	{"audio/x-realaudio", []string{"ra"}},
	{"video/3gpp", []string{"3gpp", "3gp"}},
	{"video/mp2t", []string{"ts"}},
	{"video/mp4", []string{"mp4"}},
	{"video/mpeg", []string{"mpeg", "mpg"}},
	{"video/quicktime", []string{"mov"}},
	{"video/webm", []string{"webm"}},
	{"video/x-flv", []string{"flv"}},
	{"video/x-m4v", []string{"m4v"}},
	{"video/x-mng", []string{"mng"}},
	{"video/x-ms-asf", []string{"asx", "asf"}},
	{"video/x-ms-wmv", []string{"wmv"}},
	{"video/x-msvideo", []string{"avi"}},
}

// builtinTypes returns the built-in types as raw "type ext...;" entries,
// as the types block of mime.types reads.
func builtinTypes(p *parser) []*Directive {
	block := make([]*Directive, len(builtinMIMETypes))
	for i, t := range builtinMIMETypes {
		d := p.newDirective()
		d.Name = t.Type
		d.Args = t.Exts
		block[i] = d
	}
	return block
}
