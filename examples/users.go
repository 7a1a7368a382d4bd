package examples

import _ "embed"

//go:embed users.yaml
var demoUsers string

// DemoUsers returns the demo users file (kxSupport / 12345678, bcrypt
// hashed), used in demo mode, a fresh copy on every call.
func DemoUsers() []byte { return []byte(demoUsers) }
