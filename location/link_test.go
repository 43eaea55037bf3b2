package location_test

import (
	"io"
	"net"

	"github.com/gonginx/gonginx/location"
	"github.com/gonginx/gonginx/location/server"
	"github.com/gonginx/gonginx/nginxconf"
)

// The in-package tests serve through package server, which imports
// location and so can only be linked in from an external test file.
func init() {
	location.StartServer = func(cfg *nginxconf.Config, errorLog io.Writer, listeners map[string]net.Listener) (io.Closer, error) {
		return server.Start(cfg, server.StartOptions{ErrorLog: errorLog, Listeners: listeners})
	}
}
