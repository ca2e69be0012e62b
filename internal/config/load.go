package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/BurntSushi/toml"
)

// Load reads, parses and validates the config file at path. Problems in the
// file are returned as *Error values (several joined, in line order) whose
// File is path exactly as given; a file that cannot be read gives the
// underlying error, wrapped.
func Load(path string) (*File, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load config: %w", err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("load config %s: %w", path, err)
	}
	return parse(path, abs, src)
}

// parse decodes src, the content of the file at abs, naming it name in errors.
func parse(name, abs string, src []byte) (*File, error) {
	var raw map[string]any
	if _, err := toml.Decode(string(src), &raw); err != nil {
		return nil, syntaxError(name, src, err)
	}
	d := &decoder{name: name, lines: locate(string(src))}
	f := d.file(abs, raw)
	if len(d.errs) == 0 {
		return f, nil
	}
	sortErrors(d.errs)
	errs := make([]error, len(d.errs))
	for i, e := range d.errs {
		errs[i] = e
	}
	return nil, errors.Join(errs...)
}

// syntaxError converts a TOML parse error into an *Error. The line is
// recomputed from the byte offset: the parser counts a newline it stopped
// at as the start of the next line.
func syntaxError(name string, src []byte, err error) error {
	var pe toml.ParseError
	if errors.As(err, &pe) {
		line := pe.Position.Line
		if s := pe.Position.Start; s > 0 && s <= len(src) {
			line = 1 + bytes.Count(src[:s], []byte("\n"))
		}
		return &Error{File: name, Line: line, Key: pe.LastKey, Msg: "invalid TOML: " + pe.Message}
	}
	return &Error{File: name, Msg: err.Error()}
}
