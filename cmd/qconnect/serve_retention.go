package main

import (
	"flag"
	"time"
)

// envRetention is the environment variable of --retention-interval.
const envRetention = "QCONNECT_RETENTION_INTERVAL"

// retentionOptions: how often the catalog's publish retentions are
// enforced.
type retentionOptions struct {
	every time.Duration
}

func (o *retentionOptions) flags(fs *flag.FlagSet, s *settings) {
	fs.DurationVar(&o.every, "retention-interval", 10*time.Second, s.add("retention-interval", envRetention, "how often published rows beyond a table's retention (catalog publish.retention) are deleted"))
}
