package report

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/volley-test/volley/internal/event"
)

// This file holds the text cleaning shared by the file reporters (JUnit,
// HTML, annotations): captured output is arbitrary bytes, and every one of
// those formats needs valid, printable text.

// maxFileOutput bounds the output of one attempt kept by the file reporters:
// the last 64 KiB, which is what a person reads after a failure.
const maxFileOutput = 64 << 10

// cleanText makes captured output printable in any text format: invalid
// UTF-8 becomes U+FFFD, ANSI escape sequences (colors, cursor movement) are
// removed, CR LF and a lone CR become LF, and every other control character
// except tab and newline becomes its Control Pictures symbol (NUL is
// "␀"), since XML 1.0 forbids them even escaped. U+FFFE and U+FFFF, also
// forbidden, become U+FFFD.
func cleanText(b []byte) string {
	var sb strings.Builder
	sb.Grow(len(b))
	for i := 0; i < len(b); {
		c := b[i]
		switch {
		case c == 0x1b:
			i += ansiLen(b[i:])
			continue
		case c == '\r' && i+1 < len(b) && b[i+1] == '\n':
			// dropped; the LF follows
		case c == '\r':
			sb.WriteByte('\n') // as XML parsers and browsers read it anyway
		case c == '\t' || c == '\n':
			sb.WriteByte(c)
		case c < 0x20:
			sb.WriteRune(0x2400 + rune(c))
		case c == 0x7f:
			sb.WriteRune('\u2421')
		case c < utf8.RuneSelf:
			sb.WriteByte(c)
		default:
			r, n := utf8.DecodeRune(b[i:])
			if r == 0xFFFE || r == 0xFFFF {
				r = utf8.RuneError
			}
			sb.WriteRune(r) // RuneError for invalid bytes, one per byte
			i += n
			continue
		}
		i++
	}
	return sb.String()
}

// ansiLen is the length of the escape sequence at the start of b, which
// begins with ESC: a CSI sequence (ESC [ ... final byte), an OSC string
// (ESC ] ... BEL or ESC \), or ESC and one more byte.
func ansiLen(b []byte) int {
	if len(b) < 2 {
		return len(b)
	}
	switch b[1] {
	case '[':
		for i := 2; i < len(b); i++ {
			if b[i] >= 0x40 && b[i] <= 0x7e {
				return i + 1
			}
			if b[i] < 0x20 || b[i] > 0x7e {
				return i // malformed: keep what follows
			}
		}
		return len(b)
	case ']':
		for i := 2; i < len(b); i++ {
			switch {
			case b[i] == 0x07:
				return i + 1
			case b[i] == 0x1b && i+1 < len(b) && b[i+1] == '\\':
				return i + 2
			case b[i] == '\n':
				return i // unterminated: stop at the line's end
			}
		}
		return len(b)
	}
	return 2
}

// outputTail is the cleaned last at most max bytes of r's output, cut at a
// line start where one is near, preceded by a note when bytes were dropped,
// either by the capture (r.Truncated) or by this cut. Empty output gives "".
func outputTail(r *event.Result, max int) string {
	out, dropped := testOutput(r), r.Truncated
	if len(out) > max {
		cut := len(out) - max
		// Prefer a line boundary within the first KiB of what is kept.
		if out[cut-1] == '\n' {
			// already at a line's start
		} else if nl := bytes.IndexByte(out[cut:min(len(out), cut+1024)], '\n'); nl >= 0 {
			cut += nl + 1
		} else {
			for cut < len(out) && !utf8.RuneStart(out[cut]) {
				cut++
			}
		}
		out, dropped = out[cut:], dropped+int64(cut)
	}
	if len(out) == 0 && dropped == 0 {
		return ""
	}
	s := cleanText(out)
	if dropped > 0 {
		s = droppedNote(dropped) + "\n" + s
	}
	return s
}

// droppedNote says that earlier output is not shown.
func droppedNote(n int64) string {
	return fmt.Sprintf("[volley: %d earlier bytes of output not shown]", n)
}

// lastLines is the last n lines of s, without a trailing newline.
func lastLines(s string, n int) string {
	s = strings.TrimRight(s, "\n")
	if n <= 0 {
		return ""
	}
	end := len(s)
	for ; n > 0; n-- {
		i := strings.LastIndexByte(s[:end], '\n')
		if i < 0 {
			return s
		}
		end = i
	}
	return s[end+1:]
}
