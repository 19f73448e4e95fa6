//go:build race

package main

// raceEnabled reports a build with the race detector, which slows the embedded SQLite about
// fifteenfold: tests that time whole runs of the command do less under it.
const raceEnabled = true
