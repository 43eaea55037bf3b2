package difftest

import (
	"testing"

	"github.com/gonginx/gonginx/cmd/gonginx/difftest/harness"
)

// magentoSample is Magento 2's nginx.conf.sample (its 2.0 form), which a
// server includes after setting $MAGE_ROOT and $MAGE_MODE: a root and
// an alias from a variable, "if" with rewrite ... last in nested regex
// locations, PHP_VALUE with \n escapes in a quoted string.
const magentoSample = `root $MAGE_ROOT/pub;

index index.php;
autoindex off;
charset off;

location /setup {
    root $MAGE_ROOT;
    location ~ ^/setup/index.php {
        fastcgi_pass   fastcgi_backend;
        fastcgi_index  index.php;
        fastcgi_param  SCRIPT_FILENAME  $document_root$fastcgi_script_name;
        include        fastcgi_params;
    }

    location ~ ^/setup/(?!pub/). {
        deny all;
    }

    location ~ ^/setup/pub/ {
        add_header X-Frame-Options "SAMEORIGIN";
    }
}

location / {
    try_files $uri $uri/ /index.php?$args;
}

location /pub {
    location ~ ^/pub/media/(downloadable|customer|import|theme_customization/.*\.xml) {
        deny all;
    }
    alias $MAGE_ROOT/pub;
    add_header X-Frame-Options "SAMEORIGIN";
}

location /static/ {
    if ($MAGE_MODE = "production") {
        expires max;
    }
    location ~* \.(ico|jpg|jpeg|png|gif|svg|js|css|swf|eot|ttf|otf|woff|woff2)$ {
        add_header Cache-Control "public";
        add_header X-Frame-Options "SAMEORIGIN";
        expires +1y;

        if (!-f $request_filename) {
            rewrite ^/static/(version\d*/)?(.*)$ /static.php?resource=$2 last;
        }
    }
    location ~* \.(zip|gz|gzip|bz2|csv|xml)$ {
        add_header Cache-Control "no-store";
        add_header X-Frame-Options "SAMEORIGIN";
        expires    off;

        if (!-f $request_filename) {
           rewrite ^/static/(version\d*/)?(.*)$ /static.php?resource=$2 last;
        }
    }
    if (!-f $request_filename) {
        rewrite ^/static/(version\d*/)?(.*)$ /static.php?resource=$2 last;
    }
    add_header X-Frame-Options "SAMEORIGIN";
}

location /media/ {
    try_files $uri $uri/ /get.php?$args;

    location ~ ^/media/theme_customization/.*\.xml {
        deny all;
    }

    location ~* \.(ico|jpg|jpeg|png|gif|svg|js|css|swf|eot|ttf|otf|woff|woff2)$ {
        add_header Cache-Control "public";
        add_header X-Frame-Options "SAMEORIGIN";
        expires +1y;
        try_files $uri $uri/ /get.php?$args;
    }
    add_header X-Frame-Options "SAMEORIGIN";
}

location /media/customer/ {
    deny all;
}

location ~ cron\.php {
    deny all;
}

location ~ (index|get|static|report|404|503)\.php$ {
    try_files $uri =404;
    fastcgi_pass   fastcgi_backend;
    fastcgi_buffers 1024 4k;

    fastcgi_param  PHP_FLAG  "session.auto_start=off \n suhosin.session.cryptua=off";
    fastcgi_param  PHP_VALUE "memory_limit=768M \n max_execution_time=600";
    fastcgi_read_timeout 600s;
    fastcgi_connect_timeout 600s;
    fastcgi_param  MAGE_MODE $MAGE_MODE;

    fastcgi_index  index.php;
    fastcgi_param  SCRIPT_FILENAME  $document_root$fastcgi_script_name;
    include        fastcgi_params;
}
`

func TestServeAppMagento(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	fcgi := startFCGIServer(t)
	content := fcgiParamsContent(t)
	content["nginx.conf.sample"] = magentoSample
	for _, f := range []string{"pub/index.php", "pub/get.php", "pub/static.php", "pub/cron.php",
		"setup/index.php", "setup/pub/app.js", "setup/config.php"} {
		content["mage/"+f] = "<?php\n"
	}
	content["mage/pub/static/frontend/theme/en_US/css/styles.css"] = "body{}\n"
	content["mage/pub/static/frontend/theme/en_US/data.csv"] = "a,b\n"
	content["mage/pub/media/catalog/product/p.jpg"] = "JPEG"
	content["mage/pub/media/customer/secret.txt"] = "secret\n"
	content["mage/pub/media/theme_customization/x.xml"] = "<x/>\n"
	c := harness.Case{Name: "magento", Content: content, Clock: harness.ClockRelative,
		Config: `upstream fastcgi_backend {
    server ` + fcgi.addr() + `;
}
server {
    listen 127.0.0.1:{{PORT}};
    server_name shop.example.com;
    set $MAGE_ROOT mage;
    set $MAGE_MODE production;
    include nginx.conf.sample;
}
`}
	h := "shop.example.com"
	c.Requests = []harness.Request{
		appGet("a category page", h, "/women/tops.html?color=red"),
		appGet("home", h, "/"),
		appGet("a static css (version stripped, file exists)", h, "/static/version1700000000/frontend/theme/en_US/css/styles.css"),
		appGet("a static css on disk", h, "/static/frontend/theme/en_US/css/styles.css"),
		appGet("a static css to static.php", h, "/static/version1/frontend/theme/en_US/css/missing.css"),
		appGet("a static csv on disk", h, "/static/frontend/theme/en_US/data.csv"),
		appGet("a static csv to static.php", h, "/static/frontend/theme/en_US/none.csv"),
		appGet("a static other to static.php", h, "/static/frontend/theme/en_US/requirejs-config"),
		appGet("a media image", h, "/media/catalog/product/p.jpg"),
		appGet("a missing media image to get.php", h, "/media/catalog/product/none.jpg?w=1"),
		appGet("customer media denied", h, "/media/customer/secret.txt"),
		appGet("theme customization xml denied", h, "/media/theme_customization/x.xml"),
		appGet("cron denied", h, "/cron.php"),
		appGet("setup index", h, "/setup/index.php"),
		appGet("setup other denied", h, "/setup/config.php"),
		appGet("setup pub", h, "/setup/pub/app.js"),
		appGet("pub alias", h, "/pub/media/catalog/product/p.jpg"),
		appGet("pub alias denied", h, "/pub/media/customer/secret.txt"),
		appGet("a report script", h, "/errors/report.php?id=1"),
		appGet("an unknown script", h, "/other.php"),
	}
	harness.Compare(t, c, want, got, serveAssets(t))
}
