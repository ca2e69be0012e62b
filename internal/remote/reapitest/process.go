package reapitest

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"
)

// EnvServe, when set in the environment of a test binary, holds the JSON
// Options of a server that binary's TestMain should run by calling Main.
const EnvServe = "VOLLEY_REAPITEST_SERVE"

const addrPrefix = "reapitest listening on "

// Main serves with the Options in $EnvServe, prints "reapitest listening on
// URL" on stdout, and exits when stdin reaches EOF. It does not return.
func Main() {
	var opts Options
	if err := json.Unmarshal([]byte(os.Getenv(EnvServe)), &opts); err != nil {
		fmt.Fprintf(os.Stderr, "reapitest: $%s: %v\n", EnvServe, err)
		os.Exit(2)
	}
	s, err := Start(context.Background(), opts)
	if err != nil {
		fmt.Fprintf(os.Stderr, "reapitest: %v\n", err)
		os.Exit(1)
	}
	fmt.Printf("%s%s\n", addrPrefix, s.URL())
	io.Copy(io.Discard, os.Stdin)
	s.Close()
	os.Exit(0)
}

// Process is a server running in a child process.
type Process struct {
	URL   string
	cmd   *exec.Cmd
	stdin io.WriteCloser
}

// Spawn starts exe (normally the test binary, os.Args[0]) as a server with
// opts and waits for its address.
func Spawn(ctx context.Context, exe string, opts Options) (*Process, error) {
	js, err := json.Marshal(opts)
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, exe)
	cmd.Env = append(os.Environ(), EnvServe+"="+string(js))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &Process{cmd: cmd, stdin: stdin}
	line := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), addrPrefix); ok {
				line <- u
				break
			}
		}
		close(line)
		io.Copy(io.Discard, stdout)
	}()
	select {
	case u, ok := <-line:
		if ok {
			p.URL = u
			return p, nil
		}
		p.Stop()
		return nil, errors.New("reapitest child exited without an address")
	case <-time.After(30 * time.Second):
		p.Stop()
		return nil, errors.New("reapitest child printed no address in 30s")
	}
}

// Stop closes the child's stdin and waits for it to exit (killing it after
// 10 seconds).
func (p *Process) Stop() error {
	p.stdin.Close()
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(10 * time.Second):
		p.cmd.Process.Kill()
		return <-done
	}
}
