package protocol

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestDetect(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	big := bytes.Repeat([]byte{0, 1, 2, 'T', 'M', 'L'}, 100<<10) // 600K, past one read buffer
	// The marker straddling the 256K read-buffer boundary.
	straddle := append([]byte(nil), big...)
	copy(straddle[256<<10-5:], TMLResultPrefix)
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "exec"},
		{"script", []byte("#!/bin/sh\nexit 0\n"), "exec"},
		{"tml", []byte("\x7fELF....printf(\"TML_RESULT:%d:%s:%d\\n\")"), "tml"},
		{"almost", []byte("TML_RESULT"), "exec"},
		{"big", big, "exec"},
		{"marker at the end", append(append([]byte(nil), big...), TMLResultPrefix...), "tml"},
		{"marker across buffers", straddle, "tml"},
	}
	elf := func(parts ...string) []byte {
		b := []byte("\x7fELF\x02\x01\x01\x00")
		for _, p := range parts {
			b = append(append(b, 0, 0), p...)
		}
		return b
	}
	const goInfo = "\xff Go buildinf:"
	harness := []struct {
		name string
		data []byte
		want string
	}{
		{"go test binary", elf(goInfo, "testing.MainStart", "testing.tRunner", "-test.list"), "gotest"},
		{"go test binary of a tml suite", elf(goInfo, "testing.tRunner", "testing.MainStart", TMLResultPrefix), "gotest"},
		{"volley-built fixture", elf(goInfo, TMLResultPrefix, "--gtest_list_tests", "RUST_TEST_THREADS", "include-ignored", "testing.tRunner"), "tml"},
		{"go program naming harness flags", elf(goInfo, "--gtest_list_tests", "--include-ignored"), "exec"},
		{"go program", elf(goInfo), "exec"},
		{"gtest static", elf("--gtest_list_tests"), "gtest"},
		{"gtest dynamic", elf("_ZN7testing4TestC2Ev", "libgtest.so.1.12.1"), "gtest"},
		{"libtest", elf("RUST_TEST_THREADS", "--include-ignored"), "libtest"},
		{"c tml suite linking gtest", elf(TMLResultPrefix, "--gtest_list_tests"), "tml"},
		{"gtest before libtest", elf("RUST_TEST_THREADS", "gtest_list_tests"), "gtest"},
		{"macho gtest", append([]byte{0xcf, 0xfa, 0xed, 0xfe}, "...gtest_list_tests"...), "gtest"},
		{"elf tap producer.t", elf("ok 1"), "tap"},
		{"plain elf", elf("main"), "exec"},
		{"script.t", []byte("#!/bin/sh\necho 1..1\necho ok 1\n"), "tap"},
		{"bare.t", []byte("use Test::More;\n"), "tap"},
		{"stream.tap", []byte("1..1\nok 1\n"), "tap"},
		{"script.pl", []byte("#!/usr/bin/perl\nprint qq(1..1\\nok 1\\n);\n"), "exec"},
		{"tml.sh", []byte("#!/bin/sh\necho TML_RESULT:0:PASS:0\n"), "tml"},
		{"text naming gtest", []byte("#!/bin/sh\nexec real --gtest_list_tests RUST_TEST_THREADS\n"), "exec"},
	}
	for _, tt := range harness {
		name := strings.ReplaceAll(tt.name, " ", "_")
		got, err := Detect(write(name, tt.data))
		if err != nil || got != tt.want {
			t.Errorf("Detect(%s) = %q, %v; want %q", tt.name, got, err, tt.want)
		}
	}
	for _, tt := range tests {
		got, err := Detect(write(strings.ReplaceAll(tt.name, " ", "_"), tt.data))
		if err != nil || got != tt.want {
			t.Errorf("Detect(%s) = %q, %v; want %q", tt.name, got, err, tt.want)
		}
	}
	if _, err := Detect(filepath.Join(dir, "missing")); err == nil {
		t.Errorf("Detect(missing) succeeded")
	}
	if _, err := Detect(dir); err == nil || !strings.Contains(err.Error(), "directory") {
		t.Errorf("Detect(dir) error = %v, want one saying it is a directory", err)
	}
}

func TestScanShortReads(t *testing.T) {
	data := strings.Repeat("x", 1000) + TMLResultPrefix + "0:PASS:0"
	for _, chunk := range []int{1, 2, 3, 7, 11, 64} {
		found, err := scan(&detectChunked{data: []byte(data), n: chunk}, [][]byte{[]byte(TMLResultPrefix), []byte("absent")})
		if err != nil || !found[0] || found[1] {
			t.Errorf("reads of %d bytes: found=%v err=%v", chunk, found, err)
		}
	}
}

// detectChunked reads at most n bytes at a time.
type detectChunked struct {
	data []byte
	n    int
}

func (c *detectChunked) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	k := min(c.n, len(p), len(c.data))
	copy(p, c.data[:k])
	c.data = c.data[k:]
	return k, nil
}

// TestDetectRealBinaries checks the built fixtures, this test binary, a
// stripped Go test binary and a Go program built from volley's packages.
func TestDetectRealBinaries(t *testing.T) {
	t.Parallel()
	check := func(path, want string) {
		t.Helper()
		if got, err := Detect(path); err != nil || got != want {
			t.Errorf("Detect(%s) = %q, %v; want %q", path, got, err, want)
		}
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	check(self, "gotest")
	check(gopkgTest(t), "gotest")

	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go is not in PATH")
	}
	dir := t.TempDir()
	stripped := filepath.Join(dir, "stripped.test")
	if _, err := command(gopkgSrc(t), goBuildEnv, gobin, "test", "-c", "-ldflags=-s -w", "-o", stripped, "."); err != nil {
		t.Fatal(err)
	}
	check(stripped, "gotest")
	volleyish := filepath.Join(dir, "volleyish")
	if _, err := command("", goBuildEnv[2:], gobin, "build", "-o", volleyish, "./testdata/detectmain"); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(volleyish)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{TMLResultPrefix, GTestList, LibtestIncludeIgnored, GoTestList} {
		if !bytes.Contains(data, []byte(m)) {
			t.Errorf("the volley-built binary lacks %q: the check below proves nothing", m)
		}
	}
	check(volleyish, "tml")
}

func TestDetectGTestAndLibtest(t *testing.T) {
	t.Parallel()
	t.Run("gtest", func(t *testing.T) {
		t.Parallel()
		if got, err := Detect(gtestSample(t)); err != nil || got != "gtest" {
			t.Errorf("Detect(gtest sample) = %q, %v", got, err)
		}
	})
	t.Run("libtest", func(t *testing.T) {
		t.Parallel()
		if got, err := Detect(rustCrate(t)); err != nil || got != "libtest" {
			t.Errorf("Detect(rust test binary) = %q, %v", got, err)
		}
	})
}
