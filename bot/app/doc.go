// Package app assembles the running bot once, for serve, demo and the load test: store, engine,
// pages, chat adapters and background work, each a part with Run(ctx) error that the App starts,
// waits for and stops in order. It takes the directory as a value, so it never imports the Graph
// SDK and its tests run under the race detector.
package app
