// The SDK's version: the gateway's (the VERSION file at the repository's
// root); TestJSClientVersion checks that this, package.json and VERSION agree.
export const VERSION = '0.1.0';
