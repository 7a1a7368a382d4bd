package main

import (
	"flag"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// envTrustedProxy is the environment variable of --trusted-proxy.
const envTrustedProxy = "QCONNECT_TRUSTED_PROXY"

// proxyOptions: which peers are reverse proxies whose X-Forwarded-For
// names the real client.
type proxyOptions struct {
	trusted string
}

func (o *proxyOptions) flags(fs *flag.FlagSet, s *settings) {
	fs.StringVar(&o.trusted, "trusted-proxy", "", s.add("trusted-proxy", envTrustedProxy, "comma-separated addresses or CIDRs of reverse proxies (e.g. 127.0.0.1/32); their X-Forwarded-For gives the client address for throttling, logs and audit"))
}

// prefixes parses --trusted-proxy.
func (o *proxyOptions) prefixes() ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(o.trusted, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if !strings.Contains(f, "/") {
			a, err := netip.ParseAddr(f)
			if err != nil {
				return nil, usageErrorf("--trusted-proxy %q is not an address or CIDR", f)
			}
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			return nil, usageErrorf("--trusted-proxy %q is not an address or CIDR", f)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// handler sets the request's RemoteAddr to the client named by
// X-Forwarded-For when the peer is a trusted proxy: the rightmost address
// that is not itself a trusted proxy (what the client sent to the first
// proxy cannot be trusted beyond that).
func (o *proxyOptions) handler(next http.Handler) (http.Handler, error) {
	trusted, err := o.prefixes()
	if err != nil || len(trusted) == 0 {
		return next, err
	}
	isTrusted := func(a netip.Addr) bool {
		a = a.Unmap()
		for _, p := range trusted {
			if p.Contains(a) {
				return true
			}
		}
		return false
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		peer, perr := netip.ParseAddr(host)
		if err == nil && perr == nil && isTrusted(peer) {
			hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
			for i := len(hops) - 1; i >= 0; i-- {
				a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
				if err != nil {
					break
				}
				if !isTrusted(a) || i == 0 {
					r2 := r.Clone(r.Context())
					r2.RemoteAddr = net.JoinHostPort(a.Unmap().String(), "0")
					r = r2
					break
				}
			}
		}
		next.ServeHTTP(w, r)
	}), nil
}
