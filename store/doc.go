// Package store implements the flows ports on Redis through a go-redis UniversalClient, with
// every key of a person under the hash tag {u:<directory object id>}.
//
// # Keys and fields
//
// One person, {u:ID} (one Cluster slot, so a step's script touches one slot):
//
//	{u:ID}:e               hash, the enrollment and its counters (never expires):
//	                         m:<method>     a registered method, sealed (AAD: ID|m:<method>)
//	                         totp_step      the last accepted TOTP step (only moves forward)
//	                         c:try:<method> tries on one method, "count:window start ms"
//	                         c:fail         failed proofs, "count:window start ms"
//	                         c:sent         codes sent, "count:window start ms"
//	                         block          blocked until, ms
//	                         r:sent         reminders sent; r:snoozes  snoozes used
//	{u:ID}:s:<chat key>    hash, the chat session: v (version), data (sealed JSON); TTL cleans up
//	{u:ID}:code:<chat key> string, the pending code: its MAC first, then "|" and the rest; with its TTL
//	{u:ID}:l               hash, one-time links: purpose → "MAC|…" (a new one replaces the old)
//	{u:ID}:i:<key>         string, a step's idempotency key, 24 hours
//	{u:ID}:chats           set, the chat keys pinned to the person (where to reach them)
//	{u:ID}:signin:<day>    string, AD password sign-ins counted on day (UTC, yyyymmdd)
//	{u:ID}:lock:<time>     string, a lockout already announced; {u:ID}:lockdm:<day> that day's count
//
// Shared:
//
//	pin:<chat key>          string, the directory user a chat identity is pinned to
//	web:<key>               string, a browser session of the pages, sealed (AAD: web|<key>)
//	policy                  hash, the policy: v (version), data (JSON)
//	policy:pending:<id>     string, a weakening change waiting for a second admin (JSON)
//	remind:{<queue>}:due    sorted set, user id → due time ms (a claim moves it to the lease's end)
//	lease:{<name>}          string, the holder of a replica lease (the lockout poller)
//	budget:<name>           string, a deployment-wide hourly budget (SMS and calls)
//	seen:<id>               string, a chat delivery already handled (across replicas)
//	audit                   stream, the audit log (AuditStream), capped at AuditMaxLen
//
// # Scripts
//
// Every security-relevant write runs as one Lua script through (*Store).runScript, which waits
// for a replica with WAIT when Durable is set: step.lua (a chat step), consume.lua (a one-time
// link), misc.lua (a code sent from a page), judge.lua (a code judged on a page), and the
// register, remove (hdel), pin, block and unblock scripts in records.go. The other scripts
// (claims and leases, budgets, sign-in counts, pending changes, announced lockouts) run with
// Script.Run: losing one of their writes in a failover costs a duplicate notice or a retry,
// never an extra guess. The scripts in .lua files name their KEYS, ARGV and what they return in
// a header; the short ones are still inline beside the method that runs them.
package store
