// Package auth is who may do what on the gateway: the users file (password
// hashes, groups and their grants), login sessions (PROTOCOL.md sections 2
// and 5), login throttling and the per-session replay cache (section 3.3).
//
// The users file is YAML meant to be read by people:
//
//	users:
//	  kxSupport:
//	    password: "$2a$10$..."   # bcrypt, or an argon2id PHC string
//	    groups: [support]
//	groups:
//	  support:
//	    allow: ["monPublic", "marketData/getVwap"]
//	    deny: ["marketData/getQuotes"]
//	    write: ["monPublic/pubMem"]
//
// A grant is "*" (every method), a method group ("monPublic") or one method
// ("monPublic/getMem"). A user may call a method that some of their groups
// allow and none of them denies; a user may publish to a method that some of
// their groups grant in write and none of them denies. Passwords are only
// ever stored as hashes; the file is edited with AddUser, SetPassword and
// RemoveUser (the `qconnect users` command), which keep its comments.
//
// Directory values are immutable and safe for concurrent use; UserDB swaps
// in a new one on reload. Sessions, ReplayCache and Throttle are safe for
// concurrent use and bound the memory they hold.
package auth
