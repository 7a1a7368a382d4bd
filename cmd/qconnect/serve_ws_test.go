package main

import (
	"flag"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/qconnect/qconnect/internal/server"
)

// TestPublishFlags: --publish-ack, --publish-queue-rows and
// --demo-feed-lease are checked and reach the server's configuration.
func TestPublishFlags(t *testing.T) {
	parse := func(args ...string) (*wsOptions, error) {
		fs := flag.NewFlagSet("serve", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		var o wsOptions
		o.flags(fs, newSettings(fs))
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		return &o, o.validate()
	}
	o, err := parse()
	if err != nil {
		t.Fatal(err)
	}
	var c server.Config
	o.apply(&c)
	if c.PublishAck != server.PublishAckAccepted || c.PublishQueueRows != server.DefaultPublishQueueRows || o.demoFeedLease != 10*time.Second {
		t.Fatalf("defaults: ack %q, queue %d, lease %s", c.PublishAck, c.PublishQueueRows, o.demoFeedLease)
	}
	if o, err = parse("--publish-ack", "stored", "--publish-queue-rows", "5000", "--demo-feed-lease", "2s"); err != nil {
		t.Fatal(err)
	}
	o.apply(&c)
	if c.PublishAck != server.PublishAckStored || c.PublishQueueRows != 5000 || o.demoFeedLease != 2*time.Second {
		t.Fatalf("set: ack %q, queue %d, lease %s", c.PublishAck, c.PublishQueueRows, o.demoFeedLease)
	}
	for _, bad := range [][]string{{"--publish-ack", "sometimes"}, {"--publish-queue-rows", "0"}, {"--demo-feed-lease", "100ms"}} {
		if _, err := parse(bad...); err == nil || !strings.Contains(err.Error(), bad[0]) {
			t.Errorf("%v: %v, want an error naming the flag", bad, err)
		}
	}
}
