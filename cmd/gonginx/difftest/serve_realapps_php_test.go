package difftest

import (
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/gonginx/gonginx/cmd/gonginx/difftest/harness"
)

// PHP applications' documented nginx sites (Moodle, Drupal, MediaWiki,
// phpMyAdmin, Joomla, Roundcube, Zabbix), served by both servers against
// one PHP-FPM: slash arguments through fastcgi_split_path_info,
// X-Accel-Redirect into an internal alias, short URLs, deny lists.

// compareH2C serves c again with its listens taking HTTP/2 with prior
// knowledge, each request a stream of its own connection.
func compareH2C(t *testing.T, c harness.Case, want, got harness.Impl) {
	t.Run("h2c", func(t *testing.T) {
		h2 := c
		h2.Config = testListen.ReplaceAllString(c.Config, "$1 http2")
		h2.Requests = overH2(c.Requests)
		harness.Compare(t, h2, want, got, serveAssets(t))
	})
}

// keptAlive is one connection that sends each request (GET, or POST when
// the target has a body after a space) and reads every answer: a browser
// moving through a site on one connection. The last closes it.
func keptAlive(name, host string, targets ...string) harness.Request {
	var parts []string
	for i, t := range targets {
		conn := ""
		if i == len(targets)-1 {
			conn = "Connection: close\r\n"
		}
		if target, body, ok := strings.Cut(t, " "); ok {
			parts = append(parts, "POST "+target+" HTTP/1.1\r\nHost: "+host+"\r\n"+conn+
				"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: "+strconv.Itoa(len(body))+"\r\n\r\n"+body)
			continue
		}
		parts = append(parts, "GET "+t+" HTTP/1.1\r\nHost: "+host+"\r\n"+conn+"\r\n")
	}
	r := serveRaw(name, parts...)
	r.Responses = len(targets)
	return r
}

// mdlUpload is a multipart upload of n bytes to Moodle's draft file area
// (the PHP app lists what it received).
func mdlUpload(name, host string, n int, expect bool) harness.Request {
	boundary := "----mdl"
	body := "--" + boundary + "\r\nContent-Disposition: form-data; name=\"itemid\"\r\n\r\n7\r\n" +
		"--" + boundary + "\r\nContent-Disposition: form-data; name=\"repo_upload_file\"; filename=\"notes.txt\"\r\n" +
		"Content-Type: text/plain\r\n\r\n" + strings.Repeat("moodle upload line\n", n/19+1)[:n] + "\r\n--" + boundary + "--\r\n"
	extra := []string{}
	if expect {
		extra = append(extra, "Expect: 100-continue")
	}
	return withBody(name, "POST", host, "/repository/repository_ajax.php?action=upload&a=upload", "multipart/form-data; boundary="+boundary, body, extra...)
}

// testListen is a listen of the test's port, either address family.
var testListen = regexp.MustCompile(`(listen\s+(?:127\.0\.0\.1|\[::1\]):\{\{PORT\}\})`)

// accelPHP answers with X-Accel-Redirect to the path in ?to=.
const accelPHP = `<?php header('X-Accel-Redirect: ' . $_GET['to']); header('Content-Type: application/pdf'); echo "ignored";`

// Moodle's documented site (docs.moodle.org/en/Nginx): every script by
// "[^/]\.php(/|$)" with slash arguments split into PATH_INFO, files
// sent by X-Accel-Redirect from an internal alias of the data root,
// hidden files and the developer files answered 404.
func TestServeAppMoodle(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	fpm := startPHPFPM(t)
	content := fcgiParamsContent(t)
	content["moodle/index.php"] = phpApp
	content["moodle/pluginfile.php"] = phpApp
	content["moodle/theme/styles.php"] = phpApp
	content["moodle/vendor/autoload.php"] = phpApp
	content["moodle/sendfile.php"] = accelPHP
	content["moodle/repository/repository_ajax.php"] = phpApp
	content["moodle/composer.json"] = "{}\n"
	content["moodle/README.md"] = "readme\n"
	content["moodle/.git/config"] = "[core]\n"
	content["moodle/lib/requirejs/require.min.js"] = "require()\n"
	content["moodledata/filedir/ab/cd/abcd1234"] = "%PDF-1.4 stored file\n"
	c := harness.Case{Name: "moodle", Content: content, ErrorMessages: true,
		Config: `server {
    listen 127.0.0.1:{{PORT}};
    server_name moodle.example.com;
    root moodle;
    index index.php index.html;

    location ~ [^/]\.php(/|$) {
        fastcgi_split_path_info  ^(.+\.php)(/.+)$;
        fastcgi_index            index.php;
        fastcgi_pass             ` + fpm + `;
        include                  fastcgi_params;
        fastcgi_param   PATH_INFO       $fastcgi_path_info;
        fastcgi_param   SCRIPT_FILENAME $document_root$fastcgi_script_name;
    }

    location /dataroot/ {
        internal;
        alias moodledata/;
    }

    # Hide all dot files but allow "Well-Known URIs" as per RFC 5785
    location ~ /\.(?!well-known).* {
        return 404;
    }

    # This should be after the php fpm rule and very close to the last nginx ruleset.
    # Don't allow direct access to various internal files. See MDL-69333
    location ~ (/vendor/|/node_modules/|composer\.json|/readme|/README|readme\.txt|/upgrade\.txt|/UPGRADING\.md|db/install\.xml|/fixtures/|/behat/|phpunit\.xml|\.lock|environment\.xml) {
        deny all;
        return 404;
    }

    error_log stderr;
}
`}
	h := "moodle.example.com"
	c.Requests = []harness.Request{
		appGet("front page by index", h, "/"),
		appGet("slash arguments", h, "/pluginfile.php/12/mod_resource/content/1/Lecture%201.pdf?forcedownload=1"),
		appGet("theme styles", h, "/theme/styles.php/boost/1690000000_1/all"),
		appGet("a script with only a slash after it", h, "/pluginfile.php/"),
		appGet("a missing script", h, "/nope.php"),
		appGet("a missing script with a path", h, "/nope.php/a/b"),
		appGet("a file sent by X-Accel-Redirect", h, "/sendfile.php?to=/dataroot/filedir/ab/cd/abcd1234"),
		appGet("a file sent by X-Accel-Redirect with Range", h, "/sendfile.php?to=/dataroot/filedir/ab/cd/abcd1234", "Range: bytes=0-7"),
		appGet("a missing stored file", h, "/sendfile.php?to=/dataroot/filedir/none"),
		appGet("the data root asked for directly", h, "/dataroot/filedir/ab/cd/abcd1234"),
		appGet("git config hidden", h, "/.git/config"),
		appGet("composer.json hidden", h, "/composer.json"),
		appGet("README hidden", h, "/README.md"),
		appGet("a vendor script goes to PHP first", h, "/vendor/autoload.php"),
		appGet("a static script", h, "/lib/requirejs/require.min.js"),
		withBody("a login POST", "POST", h, "/login/index.php", "application/x-www-form-urlencoded", "username=a&password=b"),
		mdlUpload("a file upload of 100 kB, as curl sends it (Expect: 100-continue)", h, 100000, true),
		mdlUpload("a file upload of 20 kB to a temp file", h, 20000, false),
		keptAlive("a visit on one connection", h, "/", "/lib/requirejs/require.min.js", "/login/index.php username=a&password=b",
			"/sendfile.php?to=/dataroot/filedir/ab/cd/abcd1234", "/.git/config", "/pluginfile.php/1/a/b.pdf", "/nope.php", "/"),
	}
	harness.Compare(t, c, want, got, serveAssets(t))
	compareH2C(t, c, want, got)
}

// Drupal's recipe from nginx.com: favicon and robots quiet, text files
// and dotted paths to .php refused, private files 403, a front
// controller by try_files, update.php by a quoted regex, the split path
// checked by try_files $fastcgi_script_name, image styles through
// @rewrite, index.php/ paths redirected with 307 by an "if" at server level.
func TestServeAppDrupalRecipe(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	fpm := startPHPFPM(t)
	content := fcgiParamsContent(t)
	content["drupal/index.php"] = phpApp
	content["drupal/update.php"] = phpApp
	content["drupal/core/install.php"] = phpApp
	content["drupal/robots.txt"] = "User-agent: *\n"
	content["drupal/CHANGELOG.txt"] = "Drupal 10\n"
	content["drupal/sites/default/files/pic.png"] = "PNG"
	content["drupal/sites/default/files/evil.php"] = "<?php echo 'evil';"
	content["drupal/sites/default/private/secret.txt"] = "secret\n"
	content["drupal/sites/default/settings.php"] = "<?php echo 'settings';"
	content["drupal/core/misc/drupal.js"] = "Drupal={}\n"
	content["drupal/modules/custom/x.module"] = "<?php\n"
	content["drupal/composer.json"] = "{}\n"
	content["drupal/.well-known/security.txt"] = "Contact: x\n"
	content["drupal/.htaccess"] = "deny\n"
	c := harness.Case{Name: "drupal", Content: content, ErrorMessages: true, Clock: harness.ClockRelative,
		Config: `server {
    listen 127.0.0.1:{{PORT}};
    server_name drupal.example.com;
    root drupal;

    location = /favicon.ico {
        log_not_found off;
        access_log off;
    }

    location = /robots.txt {
        allow all;
        log_not_found off;
        access_log off;
    }

    location ~* \.(txt|log)$ {
        deny all;
    }

    location ~ \..*/.*\.php$ {
        return 403;
    }

    location ~ ^/sites/.*/private/ {
        return 403;
    }

    # Block access to scripts in site files directory
    location ~ ^/sites/[^/]+/files/.*\.php$ {
        deny all;
    }

    # Allow "Well-Known URIs" as per RFC 5785
    location ~* ^/.well-known/ {
        allow all;
    }

    # Block access to "hidden" files and directories whose names begin with a
    # period. This includes directories used by version control systems such
    # as Subversion or Git to store control files.
    location ~ (^|/)\. {
        return 403;
    }

    location / {
        try_files $uri /index.php?$query_string; # For Drupal >= 7
    }

    location @rewrite {
        rewrite ^ /index.php; # For Drupal >= 10
    }

    # Don't allow direct access to PHP files in the vendor directory.
    location ~ /vendor/.*\.php$ {
        deny all;
        return 404;
    }

    # Protect files and directories from prying eyes.
    location ~* \.(engine|inc|install|make|module|profile|po|sh|.*sql|theme|twig|tpl(\.php)?|xtmpl|yml)(~|\.sw[op]|\.bak|\.orig|\.save)?$|^(\.(?!well-known).*|Entries.*|Repository|Root|Tag|Template|composer\.(json|lock)|web\.config)$|^#.*#$|\.php(~|\.sw[op]|\.bak|\.orig|\.save)$ {
        deny all;
        return 404;
    }

    location ~ '\.php$|^/update.php' {
        fastcgi_split_path_info ^(.+?\.php)(|/.*)$;
        # Ensure the php file exists. Mitigates CVE-2019-11043
        try_files $fastcgi_script_name =404;
        include fastcgi_params;
        # Block httpoxy attacks. See https://httpoxy.org/.
        fastcgi_param HTTP_PROXY "";
        fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;
        fastcgi_param PATH_INFO $fastcgi_path_info;
        fastcgi_param QUERY_STRING $query_string;
        fastcgi_intercept_errors on;
        fastcgi_pass ` + fpm + `;
    }

    # Fighting with Styles? This little gem is amazing.
    location ~ ^/sites/.*/files/styles/ { # For Drupal >= 7
        try_files $uri @rewrite;
    }

    # Handle private files through Drupal. Private file's path can come
    # with a language prefix.
    location ~ ^(/[a-z\-]+)?/system/files/ { # For Drupal >= 7
        try_files $uri /index.php?$query_string;
    }

    location ~* \.(js|css|png|jpg|jpeg|gif|ico|svg)$ {
        try_files $uri @rewrite;
        expires max;
        log_not_found off;
    }

    # Enforce clean URLs
    # Removes index.php from urls like www.example.com/index.php/my-page --> www.example.com/my-page
    # Could be done with 301 for permanent or other redirect codes.
    if ($request_uri ~* "^(.*/)index\.php/(.*)") {
        return 307 $1$2;
    }

    error_log stderr;
}
`}
	h := "drupal.example.com"
	c.Requests = []harness.Request{
		appGet("front page", h, "/"),
		appGet("a node", h, "/node/1?destination=x"),
		appGet("favicon missing", h, "/favicon.ico"),
		appGet("robots", h, "/robots.txt"),
		appGet("changelog denied", h, "/CHANGELOG.txt"),
		appGet("a dotted path to php", h, "/a.b/c.php"),
		appGet("a private file", h, "/sites/default/private/secret.txt"),
		appGet("a script in files", h, "/sites/default/files/evil.php"),
		appGet("a public image", h, "/sites/default/files/pic.png"),
		appGet("an image style made by Drupal", h, "/sites/default/files/styles/thumb/public/pic.png?itok=abc"),
		appGet("well-known", h, "/.well-known/security.txt"),
		appGet("htaccess", h, "/.htaccess"),
		appGet("a module file", h, "/modules/custom/x.module"),
		appGet("composer.json has no leading match", h, "/composer.json"),
		appGet("update.php with a path", h, "/update.php/selection?op=1"),
		appGet("core install", h, "/core/install.php?rewrite=ok"),
		appGet("a missing php", h, "/missing.php"),
		appGet("settings.php", h, "/sites/default/settings.php"),
		appGet("private files through Drupal with a language prefix", h, "/fr/system/files/doc.pdf?x=1"),
		appGet("a core script with expires max", h, "/core/misc/drupal.js"),
		appGet("a missing script through @rewrite", h, "/core/misc/none.js"),
		appGet("index.php path redirected by the server if", h, "/index.php/node/1?x=1"),
		appGet("an app status through intercept", h, "/index.php?a=status"),
		withBody("a form post", "POST", h, "/user/login", "application/x-www-form-urlencoded", "name=a&pass=b"),
		keptAlive("a visit on one connection", h, "/node/1", "/core/misc/drupal.js", "/sites/default/files/pic.png",
			"/user/login name=a&pass=b", "/CHANGELOG.txt", "/index.php/node/2", "/core/misc/none.js", "/missing.php", "/"),
	}
	harness.Compare(t, c, want, got, serveAssets(t))
	compareH2C(t, c, want, got)
}

// MediaWiki's recommended site (mediawiki.org Manual:Short URL/Nginx):
// the entry points by a regex of names, images served but deleted ones
// denied, resources with "try_files $uri 404" (a fallback URI, not a
// code), /wiki/ rewritten with a named capture, / redirected, all else 404.
func TestServeAppMediaWiki(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	fpm := startPHPFPM(t)
	content := fcgiParamsContent(t)
	content["wiki/w/index.php"] = phpApp
	content["wiki/w/load.php"] = phpApp
	content["wiki/w/api.php"] = phpApp
	content["wiki/w/rest.php"] = phpApp
	content["wiki/w/LocalSettings.php"] = "<?php echo 'settings';"
	content["wiki/w/images/a/ab/Pic.png"] = "PNG"
	content["wiki/w/images/deleted/x.png"] = "DELETED"
	content["wiki/w/images/6/64/Favicon.ico"] = "ICO"
	content["wiki/w/resources/assets/logo.svg"] = "<svg/>"
	content["wiki/w/skins/Vector/x.css"] = "body{}\n"
	content["wiki/w/COPYING"] = "GPL\n"
	content["wiki/robots.txt"] = "User-agent: *\n"
	c := harness.Case{Name: "mediawiki", Content: content, ErrorMessages: true, Clock: harness.ClockRelative,
		Config: `server {
	listen 127.0.0.1:{{PORT}};
	server_name wiki.example.com;
	root wiki;

	# Location for the wiki's entry points
	location ~ ^/w/(index|load|api|thumb|opensearch_desc|rest|img_auth)\.php$ {
		include fastcgi_params;
		fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;
		fastcgi_pass ` + fpm + `;
	}

	# Images
	location /w/images {
		# Separate location for images/ so .php execution won't apply
	}
	location /w/images/deleted {
		# Deny access to deleted images folder
		deny all;
	}
	# MediaWiki assets (usually images)
	location ~ ^/w/resources/(assets|lib|src) {
		try_files $uri 404;
		add_header Cache-Control "public";
		expires 7d;
	}
	# Assets, scripts and styles from skins and extensions
	location ~ ^/w/(skins|extensions)/.+\.(css|js|gif|jpg|jpeg|png|svg|wasm|ttf|woff|woff2)$ {
		try_files $uri 404;
		add_header Cache-Control "public";
		expires 7d;
	}
	# Favicon
	location = /favicon.ico {
		alias wiki/w/images/6/64/Favicon.ico;
		add_header Cache-Control "public";
		expires 7d;
	}

	# License and credits files
	location ~ ^/w/(COPYING|CREDITS)$ {
		default_type text/plain;
	}

	# Handling for the article path (pretty URLs)
	location /wiki/ {
		rewrite ^/wiki/(?<pagename>.*)$ /w/index.php;
	}

	# Allow robots.txt in case you have one
	location = /robots.txt {
	}
	# Explicit access to the root website, redirect to main page (adapt as needed)
	location = / {
		return 301 /wiki/Main_Page;
	}

	# Every other entry point will be disallowed.
	# Add specific rules for other entry points/images as needed above this
	location / {
		return 404;
	}

	error_log stderr;
}
`}
	h := "wiki.example.com"
	c.Requests = []harness.Request{
		appGet("root", h, "/"),
		appGet("main page", h, "/wiki/Main_Page"),
		appGet("a page with an encoded title and a query", h, "/wiki/Caf%C3%A9_(disambiguation)?action=history"),
		appGet("a page with a slash", h, "/wiki/Help:Contents/Editing"),
		appGet("load.php", h, "/w/load.php?modules=startup&only=scripts&skin=vector"),
		withBody("api POST", "POST", h, "/w/api.php", "application/x-www-form-urlencoded", "action=query&format=json"),
		appGet("rest.php with a path is not an entry point", h, "/w/rest.php/v1/page/Main_Page"),
		appGet("LocalSettings refused", h, "/w/LocalSettings.php"),
		appGet("an image", h, "/w/images/a/ab/Pic.png"),
		appGet("a deleted image", h, "/w/images/deleted/x.png"),
		appGet("a missing image", h, "/w/images/none.png"),
		appGet("a resource", h, "/w/resources/assets/logo.svg"),
		appGet("a missing resource falls back to the URI 404", h, "/w/resources/assets/none.svg"),
		appGet("a skin style", h, "/w/skins/Vector/x.css"),
		appGet("a missing skin style", h, "/w/skins/Vector/none.css"),
		appGet("favicon by alias", h, "/favicon.ico"),
		appGet("COPYING as text", h, "/w/COPYING"),
		appGet("robots", h, "/robots.txt"),
		appGet("anything else", h, "/w/includes/Setup.php"),
	}
	harness.Compare(t, c, want, got, serveAssets(t))
	compareH2C(t, c, want, got)
}

// phpMyAdmin under /phpmyadmin from a shared root with nested regex
// locations (its Debian-era recipe, a try_files guard on scripts),
// /phpMyAdmin sent there by rewrite ... last; Joomla's site with both
// fastcgi_params and fastcgi.conf included (each parameter twice) and
// scripts under its upload folders refused with their own error page;
// Roundcube's deny list.
func TestServeAppPHPAdminSites(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	fpm := startPHPFPM(t)
	content := fcgiParamsContent(t)
	content["share/phpmyadmin/index.php"] = phpApp
	content["share/phpmyadmin/js/app.js"] = "pma()\n"
	content["share/phpmyadmin/setup/index.php"] = phpApp
	content["joomla/index.php"] = phpApp
	content["joomla/images/up.php"] = "<?php echo 'up';"
	content["joomla/images/logo.png"] = "PNG"
	content["joomla/403_error.html"] = "<h1>no</h1>\n"
	content["joomla/media/doc.pdf"] = "%PDF"
	content["roundcube/index.php"] = phpApp
	content["roundcube/README"] = "readme\n"
	content["roundcube/config/config.inc.php"] = "<?php echo 'secret';"
	content["roundcube/.htaccess"] = "x\n"
	content["roundcube/skins/elastic/styles.css"] = "b{}\n"
	c := harness.Case{Name: "php admin sites", Content: content, ErrorMessages: true, Clock: harness.ClockRelative,
		Config: `server {
    listen 127.0.0.1:{{PORT}};
    server_name admin.example.com;
    root html;

    location /phpmyadmin {
        root share/;
        index index.php index.html index.htm;
        location ~ ^/phpmyadmin/(.+\.php)$ {
            try_files $uri =404;
            root share/;
            fastcgi_pass ` + fpm + `;
            fastcgi_index index.php;
            fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;
            include fastcgi_params;
        }
        location ~* ^/phpmyadmin/(.+\.(jpg|jpeg|gif|css|png|js|ico|html|xml|txt))$ {
            root share/;
        }
    }
    location /phpMyAdmin {
        rewrite ^/* /phpmyadmin last;
    }
    error_log stderr;
}

server {
    listen 127.0.0.1:{{PORT}};
    server_name joomla.example.com;
    root joomla;
    index index.php index.html index.htm default.html default.htm;

    location / {
        try_files $uri $uri/ /index.php?$args;
    }

    # deny running scripts inside writable directories
    location ~* /(images|cache|media|logs|tmp)/.*\.(php|pl|py|jsp|asp|sh|cgi)$ {
        return 403;
        error_page 403 /403_error.html;
    }

    location ~ \.php$ {
        fastcgi_pass  ` + fpm + `;
        fastcgi_index index.php;
        include fastcgi_params;
        fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;
        include fastcgi.conf;
    }

    # caching of files
    location ~* \.(ico|pdf|flv)$ {
        expires 1y;
    }

    location ~* \.(js|css|png|jpg|jpeg|gif|swf|xml|txt)$ {
        expires 14d;
    }
}

server {
    listen 127.0.0.1:{{PORT}};
    server_name mail.example.com;
    root roundcube;
    index index.php;

    location ~ ^/(README|INSTALL|LICENSE|CHANGELOG|UPGRADING)$ {
        deny all;
    }
    location ~ ^/(bin|SQL|config|temp|logs)/ {
        deny all;
    }
    location ~ /\. {
        deny all;
        access_log off;
        log_not_found off;
    }
    location ~ \.php$ {
        include fastcgi_params;
        fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;
        fastcgi_pass ` + fpm + `;
    }
}
`}
	a, j, m := "admin.example.com", "joomla.example.com", "mail.example.com"
	c.Requests = []harness.Request{
		appGet("pma without the slash", a, "/phpmyadmin"),
		appGet("pma index", a, "/phpmyadmin/"),
		appGet("pma script", a, "/phpmyadmin/index.php?route=/server/databases"),
		appGet("pma setup", a, "/phpmyadmin/setup/index.php"),
		appGet("pma missing script", a, "/phpmyadmin/nope.php"),
		appGet("pma static", a, "/phpmyadmin/js/app.js"),
		appGet("pma missing static", a, "/phpmyadmin/js/none.js"),
		appGet("the capitalized path", a, "/phpMyAdmin/index.php"),
		appGet("joomla home", j, "/"),
		appGet("joomla SEF url", j, "/component/content/article/1?Itemid=2"),
		appGet("joomla script in images", j, "/images/up.php"),
		appGet("joomla image", j, "/images/logo.png"),
		appGet("joomla pdf", j, "/media/doc.pdf"),
		appGet("joomla admin", j, "/administrator/"),
		appGet("roundcube", m, "/?_task=mail"),
		appGet("roundcube README", m, "/README"),
		appGet("roundcube config", m, "/config/config.inc.php"),
		appGet("roundcube htaccess", m, "/.htaccess"),
		appGet("roundcube skin", m, "/skins/elastic/styles.css"),
	}
	harness.Compare(t, c, want, got, serveAssets(t))
	compareH2C(t, c, want, got)
}
