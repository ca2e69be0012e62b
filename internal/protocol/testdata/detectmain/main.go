// Command detectmain stands for a fixture built from volley's packages: a Go
// binary holding every harness's marker strings, because it links the
// protocol package's parsers and list commands. Detect must call it tml,
// not gotest, gtest or libtest.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/volley-test/volley/internal/protocol"
)

func main() {
	for _, name := range protocol.Names() {
		p, _ := protocol.Lookup(name)
		s := &protocol.Suite{Name: name, Path: os.Args[0]}
		for _, u := range p.Units(s) {
			fmt.Println(u.Session.Line([]byte("TML_RESULT:0:PASS:0")))
			fmt.Println(u.Session.Exit(protocol.Exit{}))
		}
		if l, ok := p.(protocol.Lister); ok && len(os.Args) > 1 {
			fmt.Println(l.List(context.Background(), s, nil))
		}
	}
	fmt.Println(protocol.Detect(os.Args[0]))
}
