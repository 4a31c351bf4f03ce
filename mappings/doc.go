// Package mappings turns a directory user into the record an application
// receives.
//
// An application ([App]) declares its user fields: their types, lengths,
// allowed values, which are mandatory, which are read-only and which must be
// mapped together (dependent groups). A [Mapping] gives each field one
// [Source]: a profile attribute of the directory user written as a SCIM
// attribute path, a hardcoded value, or an expression. [App.Validate] checks a
// mapping against the application and the directory schema ([Directory]) and
// reports every problem with the application and field it concerns.
// [Compile] turns a valid mapping into a [Projector] that projects directory
// users into application records deterministically, with a content hash the
// sync engine compares to decide whether the application needs an update.
//
// The built-in catalog of applications is embedded as YAML files; custom
// applications are defined in files of the same format and loaded with
// [LoadCatalog].
//
// # Profile attributes
//
// A profile attribute is a SCIM attribute path (RFC 7644 section 3.10):
// "userName", "name.givenName", `emails[type eq "work"].value`,
// "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department".
// Names are matched ignoring case. A multi-valued attribute gives one value to
// a single-valued field: the primary entry's, else the first entry's that has
// one; a complex entry named without a sub-attribute gives its "value". A
// multi-valued field receives every value. Empty strings, strings of white
// space and empty lists count as no value.
//
// # Expressions
//
// Expressions use the expr-lang language (https://expr-lang.org) and are
// compiled once. They see:
//
//	user          the directory user as SCIM JSON, attribute names in canonical case
//	enterprise    the user's enterprise extension object
//
// Reading through something missing (user.name.givenName for a user without
// a name) gives nil rather than an error. Besides expr-lang's own functions
// (now and repeat excepted), expressions may call:
//
//	attr(path)                the profile attribute's single value, as a mapped attribute gets it
//	attrs(path)               every value of the profile attribute, as a list
//	lower(s), upper(s)        change case
//	trim(s)                   strip surrounding white space
//	join(list[, sep])         join the non-empty items with sep (default " ")
//	split(s, sep)             split and trim, dropping empty parts
//	coalesce(a, b, ...)       the first non-empty argument
//	default(v, fallback)      v, or fallback when v is empty
//	substring(s, start[, n])  n characters from start (0-based), clamped to s
//	replace(s, old, new)      replace every occurrence
//	lookup(table, key[, def]) the table's value for key (exact, else ignoring case);
//	                          table names one of the mapping's tables, or is a map
//	                          literal such as {"Sales": "R1"}; def when absent
//
// The text functions return nil for nil and apply to each item of a list.
// The paths given to attr and attrs, the user.a.b chains and the table names
// are checked when the mapping is validated.
//
// The package imports nothing else of this module: it is the domain core that
// the sync engine, the admin API and the command line build on.
package mappings
