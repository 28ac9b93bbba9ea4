// Package deploy holds the Helm chart and the Compose files; its tests render and validate them
// against the Kubernetes and Compose schemas, offline.
package deploy
