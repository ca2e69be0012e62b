// Command volley runs test executables as N-way parallel subprocesses.
package main

import (
	"os"

	"github.com/volley-test/volley/internal/cli"
	"github.com/volley-test/volley/internal/fixture"
	"github.com/volley-test/volley/internal/proc"
)

func main() {
	if len(os.Args) == 3 && os.Args[1] == proc.WatchdogArg {
		os.Exit(proc.WatchdogMain(os.Args[2]))
	}
	if fixture.Active() {
		os.Exit(fixture.Main(os.Args))
	}
	os.Exit(cli.Main(os.Args[1:]))
}
