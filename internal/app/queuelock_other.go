//go:build !unix

package app

// lockQueue: without flock, the operator keeps to one server per SQLite database.
func lockQueue(string) (func(), error) { return func() {}, nil }
