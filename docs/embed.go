// Package docs embeds the project's normative documents so the gateway can
// serve them (the docs page links /connect/protocol.md).
package docs

import _ "embed"

//go:embed PROTOCOL.md
var protocol []byte

// Protocol returns the text of PROTOCOL.md.
func Protocol() []byte { return protocol }
