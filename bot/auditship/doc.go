// Package auditship delivers the audit trail where security teams keep it: JSON lines to a
// writer (standard output or a file, for a log pipeline) and batches to a SIEM's HTTP event
// collector, with retries.
package auditship
