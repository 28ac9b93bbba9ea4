// Package store implements the flows ports on Redis through a go-redis UniversalClient, with
// every key of a person under the hash tag {u:<directory object id>}.
package store
