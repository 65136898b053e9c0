// Package checkin reports a run to a Healthchecks-style monitor
// (healthchecks.io, or a self-hosted Healthchecks), so that a nightly job
// nobody watches is missed when it does not run or does not finish.
//
// # Protocol
//
// A Pinger holds one ping URL, https://hc-ping.com/<uuid> or a self-hosted
// https://hc.example/ping/<uuid>, and sends:
//
//   - URL/start when the run starts (Healthchecks then measures the run
//     and alerts if no end arrives within the check's grace time);
//   - URL when the run succeeds, or stops at the end of its window having
//     moved the upload forward (Summary.Succeeded);
//   - URL/fail otherwise.
//
// Every ping is a POST of text/plain; the body of the last one is the
// run's summary (Summary.Body), cut to MaxBody bytes (10 KB, the default
// limit of a self-hosted instance; healthchecks.io keeps 100 kB) on a
// UTF-8 boundary, with a marker. A query in the URL is kept after the
// suffix (/ping/<uuid>/start?x=1). Unless the URL names one, each Pinger
// adds its own run ID (rid=<uuid>), so that Healthchecks pairs this run's
// start with its end even when two runs overlap.
//
// # Failure
//
// A check-in never changes a run's outcome: a ping that fails (network
// error, 5xx, 429, 408) is retried with backoff for at most Options.Total
// (10 s) in all, then returns an *Error for the caller to print as a
// warning; other answers (404 for an unknown check, 400) are not retried.
// Pings are sent one at a time, so an end ping never overtakes a start
// ping still retrying. Messages show the URL only as Redacted: scheme and
// host, the last four characters of the path, query keys; never the
// check's UUID, a ping key, a password or a query value.
package checkin
