package main

import (
	"fmt"
	"strings"

	"github.com/qconnect/qconnect"
)

// The one argument grammar of the client commands (call, methods,
// subscribe, publish):
//
//	qconnect <command> [<host:port> [<username> [<password>]]] [<group/method>] [flags]
//
// The method is recognised by its form (group/name, no colon), so it may
// be given alone; the gateway arguments before it are a prefix of address,
// username, password. What is not given comes from the environment
// (QCONNECT_ADDR, QCONNECT_USER, QCONNECT_PASSWORD), then from the
// credentials stored by `qconnect login`, then from the demo defaults.

// methodNeed says whether a command takes a method argument.
type methodNeed int

const (
	methodNone     methodNeed = iota // methods: no method
	methodOptional                   // call: defaults to monPublic/getMem
	methodRequired                   // subscribe, publish
)

// looksLikeMethod reports whether s has the form group/name.
func looksLikeMethod(s string) bool {
	g, n, ok := strings.Cut(s, "/")
	return ok && qconnect.ValidName(g) && qconnect.ValidName(n)
}

// looksLikeAddress reports whether s can be a gateway address:
// host:port or http(s)://host[:port].
func looksLikeAddress(s string) bool {
	if strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://") {
		return true
	}
	return strings.Contains(s, ":") && !strings.Contains(s, "/")
}

// grammar is the usage line of a command's positional arguments.
func grammar(cmd string, need methodNeed) string {
	switch need {
	case methodNone:
		return "qconnect " + cmd + " [<host:port> <username> <password>]"
	case methodOptional:
		return "qconnect " + cmd + " [<host:port> <username> <password>] [<group/method>]"
	}
	return "qconnect " + cmd + " [<host:port> <username> <password>] <group/method>"
}

// splitTarget splits the positional arguments of a client command into the
// gateway prefix and the method ("" when none was given). Errors are usage
// errors that show the right form, with an example.
func splitTarget(cmd string, pos []string, need methodNeed, example string) (gw []string, method string, err error) {
	form := grammar(cmd, need)
	usage := func(format string, args ...any) error {
		return usageErrorf("%s\nthe arguments are: %s\ne.g. %s", fmt.Sprintf(format, args...), form, example)
	}
	if len(pos) > 4 || (need == methodNone && len(pos) > 3) {
		if need == methodNone {
			return nil, "", usage("too many arguments (%d)", len(pos))
		}
		if cmd == "publish" {
			return nil, "", usage("too many arguments (%d); rows come from --file or stdin", len(pos))
		}
		return nil, "", usage("too many arguments (%d); put parameters in --params", len(pos))
	}
	gw = pos
	if n := len(pos); n > 0 && need != methodNone && looksLikeMethod(pos[n-1]) {
		gw, method = pos[:n-1], pos[n-1]
	}
	if len(gw) == 4 {
		return nil, "", usage("method %q must be group/method, e.g. monPublic/getMem; `qconnect methods` lists yours", gw[3])
	}
	for _, a := range gw {
		if need == methodNone && looksLikeMethod(a) {
			return nil, "", usage("%s takes no method (%q): it lists every method you may call", cmd, a)
		}
		if looksLikeMethod(a) {
			return nil, "", usage("the method %q must come last, after <host:port> <username> <password>", a)
		}
	}
	// One argument that is not an address: most likely a mistyped method.
	if len(gw) == 1 && !looksLikeAddress(gw[0]) && (need != methodNone || strings.Contains(gw[0], "/")) {
		if strings.Contains(gw[0], "/") {
			return nil, "", usage("method %q must be group/method, e.g. monPublic/getMem; `qconnect methods` lists yours", gw[0])
		}
		return nil, "", usage("%q is neither <host:port> nor <group/method>", gw[0])
	}
	if need == methodRequired && method == "" {
		if len(gw) > 0 && !looksLikeAddress(gw[len(gw)-1]) && strings.Contains(gw[len(gw)-1], "/") {
			return nil, "", usage("method %q must be group/method, e.g. monPublic/sub", gw[len(gw)-1])
		}
		return nil, "", usage("which method? give it last")
	}
	return gw, method, nil
}

// gatewaySourcesHelp is the part of every client command's usage that says
// where the gateway arguments come from.
const gatewaySourcesHelp = `The arguments before the method are a prefix of <host:port> <username>
<password>. What is not given comes from QCONNECT_ADDR, QCONNECT_USER and
QCONNECT_PASSWORD, then from the credentials stored by 'qconnect login', then
from the demo defaults localhost:8080, kxSupport, 12345678. Safest is
'qconnect login <host:port> <username>' once: the password stays off the
command line and out of the shell history.
`
