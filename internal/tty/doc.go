// Package tty is volley's use of the terminal it runs in: whether it owns
// the terminal (is the foreground process group), and the key mode of the
// live view, entered only in the foreground and always left as found,
// including around a Ctrl-Z.
package tty
