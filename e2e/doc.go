// Package e2e holds end-to-end tests that run the real scim-bridge binary,
// with its real stores, and talk to it over HTTP as identity providers and
// administrators do. It has no code of its own besides the tests.
package e2e
