// Package stream is the transport-independent fan-out of live data
// (PROTOCOL 7): subscriptions to streaming methods, the upstreams they
// share, filters, conflation and per-subscription sequence numbers.
//
// # Model
//
// A publish (Hub.Publish) hands the hub rows appended to a table. Every
// upstream reading that table keeps the rows that pass its filters,
// projects them onto its method's columns, encodes them once as a JSON array
// of row objects (PROTOCOL 4.3) and hands the resulting Batch to each of its
// subscriptions. A subscription numbers its updates 1, 2, 3, ... with no
// gaps and passes them to its Sink, which belongs to the transport (a
// WebSocket in package server).
//
// An upstream is identified by the method, the canonical form of the bound
// parameters and the user: identical subscriptions of one user share one
// upstream, so filtering, conflation and JSON encoding are done once for all
// of them (Stats.UpstreamsOpened counts upstreams created).
//
// # Filters
//
// StreamSpec.Filters maps a parameter to the column it filters. A row passes
// when, for every filter whose parameter has a value, the row's column value
// equals the value or, for a list parameter, is one of its elements. A
// parameter without a value (null, not given) does not filter.
//
// # Conflation
//
// With a conflation interval d > 0 an upstream delivers at most one update
// per d: the rows that arrive in between are reduced to the latest row per
// value of StreamSpec.Key (the whole stream is one key when Key is empty),
// in the order the keys first arrived. The interval is StreamSpec.Conflate,
// or the value of the method's parameter named "conflate" (type timespan)
// when the subscriber gives one; it must be zero (every update) or at least
// Config.MinConflate. The number of keys held per upstream is bounded by
// Config.MaxConflateKeys; reaching it delivers the held rows at once.
//
// # Snapshots and holding
//
// A new subscription is held: updates are kept (up to Config.MaxHeldBytes of
// JSON) until Release, so that the transport can send its snapshot first
// and the updates after it, none lost. SnapshotCall builds the backend call
// that runs a method's snapshot query.
//
// # Slow consumers
//
// A Sink never blocks: when its consumer cannot take an update it returns
// false and the hub drops the subscription at once, without affecting the
// other subscriptions of the upstream. The transport tells its client
// (SubscriptionEndMsg slowConsumer) and closes the connection.
//
// # Concurrency
//
// A Hub is safe for concurrent use. Sink.Update is called with the
// upstream's lock held, in seq order; it must not block and must not call
// back into the hub.
package stream
