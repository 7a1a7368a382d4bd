package main

import (
	"flag"
	"runtime"
	"time"

	"github.com/qconnect/qconnect/internal/server"
)

// Environment variables of the login hashing bound of `qconnect serve`.
const (
	envLoginConc = "QCONNECT_LOGIN_CONCURRENCY"
	envLoginWait = "QCONNECT_LOGIN_QUEUE_WAIT"
)

// loginOptions bound the password hashes a login flood can make the
// gateway compute at once (PROTOCOL appendix 21).
type loginOptions struct {
	concurrency int
	queueWait   time.Duration
}

func (o *loginOptions) flags(fs *flag.FlagSet, s *settings) {
	fs.IntVar(&o.concurrency, "login-concurrency", max(1, runtime.NumCPU()/2), s.add("login-concurrency", envLoginConc, "password hashes computed at once (default: half the cores, at least 1); more logins wait"))
	fs.DurationVar(&o.queueWait, "login-queue-wait", time.Second, s.add("login-queue-wait", envLoginWait, "how long a login waits for a hashing slot before busy/503"))
}

func (o *loginOptions) validate() error {
	if o.concurrency < 1 || o.queueWait <= 0 {
		return usageErrorf("--login-concurrency must be at least 1 and --login-queue-wait positive")
	}
	return nil
}

func (o *loginOptions) apply(c *server.Config) {
	c.LoginConcurrency, c.LoginQueueWait = o.concurrency, o.queueWait
}
