package main

import (
	"net"
	"time"

	"github.com/qconnect/qconnect/docs"
	"github.com/qconnect/qconnect/internal/apidoc"
)

// docsOptions are the options of the documentation page of a gateway
// listening on listen: examples relative to the clock at start-up (the
// demo data covers the 48 hours before it), command lines with the listen
// address, and, when the demo users are in force, the demo login.
func docsOptions(listen string, demoUsers bool) apidoc.Options {
	opts := apidoc.Options{ProtocolDoc: docs.Protocol(), Now: time.Now(), Addr: exampleAddr(listen)}
	if demoUsers {
		opts.Demo = &apidoc.DemoLogin{Username: defaultGatewayUser, Password: defaultGatewayPass}
	}
	return opts
}

// exampleAddr is the host:port a client on this machine would use for a
// listen address: an unspecified host becomes localhost; port 0 (chosen at
// bind) falls back to the default.
func exampleAddr(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil || port == "0" || port == "" {
		return ""
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}
