// Package jsclient holds the JavaScript SDK (npm package qconnect-client) for
// Go programs that serve it: the docs page loads its browser build, these
// very ES modules, from /connect/assets/sdk/. There is one implementation of
// request signing in JavaScript, and this is it.
package jsclient

import "embed"

// Source is the SDK's ES modules, as src/*.js (index.js is the entry point).
//
//go:embed src/*.js
var Source embed.FS
