//go:build race

package rest_test

// raceDetector: the race detector's shadow memory grows with every allocation and is
// not returned, so resident sizes say nothing about the server's own.
const raceDetector = true
