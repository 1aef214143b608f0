//go:build !unix

package cputime

import "time"

// Process returns -1: CPU time is only read on Unix.
func Process() time.Duration { return -1 }
