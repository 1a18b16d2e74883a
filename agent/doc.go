// Package agent is the production sync agent: agents register in etcd, elect a
// leader, the leader assigns syncs to live agents, and exactly one agent at a
// time performs each sync, committing fenced checkpoints.
//
// Everything lives under one key prefix P:
//
//	P/syncs/<sync>        sync definition, written by operators
//	P/agents/<agent>      one per live incarnation, bound to its lease
//	P/leader/             election prefix; the term is the leader key's create revision
//	P/assign/<sync>       the agent that should run the sync; leader writes only, guarded by the term
//	P/claims/<sync>       ownership token, created with If(CreateRevision==0), bound to the lease;
//	                      its create revision is the fencing token
//	P/checkpoints/<sync>  progress; every write is guarded by the claim's create revision
//	                      and by the checkpoint's mod revision as last seen
//
// The rules that make it safe:
//
//  1. A worker starts only after its claim txn succeeded, and resumes from the
//     checkpoint read in that same txn.
//  2. On reassignment the worker is stopped and waited for before the claim is
//     deleted; a new owner claims only once the old claim is gone.
//  3. An agent stops every worker once (send time of its last acknowledged
//     keepalive) + TTL - SafetyMargin has passed: the server cannot expire the
//     lease before then, so no other agent can hold the claim yet.
//     Session.Done() alone fires too late: the client's deadline starts when
//     the keepalive response arrives, after the server's timer restarted.
//  4. Every ownership decision uses a linearizable read; the leader's writes
//     are guarded by its term, so a deposed leader's writes fail.
//
// The package knows nothing of tests: the harness observes it through the
// Observer interface and drives the work through Syncer.
package agent
