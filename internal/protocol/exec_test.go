package protocol

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/volley-test/volley/internal/event"
)

func TestExecUnits(t *testing.T) {
	s := &Suite{Name: "t", Path: "/bin/t", Args: []string{"-q"}, Interpreter: []string{"sh"}}
	us := Exec{}.Units(s)
	if len(us) != 1 || us[0].Label != "t" || len(us[0].Tests) != 0 {
		t.Fatalf("Units = %+v", us)
	}
	if got := strings.Join(us[0].Argv(), " "); got != "sh /bin/t -q" {
		t.Errorf("Argv = %q", got)
	}
	se := us[0].Session
	if outs := se.Line([]byte("TML_RESULT:0:FAIL:1")); outs != nil {
		t.Errorf("exec took a result line: %+v", outs)
	}
	if se.Running() != "" || se.Warnings() != nil {
		t.Errorf("exec session has state")
	}
}

func TestExecExit(t *testing.T) {
	tests := []struct {
		x      Exit
		status event.Status
		reason string
	}{
		{Exit{Code: 0}, event.Pass, ""},
		{Exit{Code: 1}, event.Fail, "exit code 1"},
		{Exit{Code: 3}, event.Fail, "exit code 3"},
		{Exit{Code: 77}, event.Skip, "77"},
		{Exit{Code: 98}, event.Fail, "exit code 98"},
		{Exit{Code: -1, Signal: "SIGSEGV"}, event.Crash, "killed by SIGSEGV"},
		{Exit{Code: -1, Signal: "SIGABRT"}, event.Crash, "killed by SIGABRT"},
		{Exit{Code: -1, Signal: "SIGKILL", TimedOut: true, Timeout: 1500 * time.Millisecond}, event.Timeout, "timed out after 1.5s"},
		{Exit{Code: 0, TimedOut: true, Timeout: time.Second}, event.Timeout, "timed out"},
		{Exit{Code: -1, Err: errors.New("cannot run x: no such file")}, event.Error, "no such file"},
	}
	for _, tt := range tests {
		outs, follow := (&execSession{}).Exit(tt.x)
		if len(outs) != 1 || follow != nil {
			t.Fatalf("Exit(%+v) = %+v, %v", tt.x, outs, follow)
		}
		o := outs[0]
		if o.Status != tt.status || o.Test != "" {
			t.Errorf("Exit(%+v): status %v test %q, want %v", tt.x, o.Status, o.Test, tt.status)
		}
		if tt.reason == "" && o.Reason != "" || !strings.Contains(o.Reason, tt.reason) {
			t.Errorf("Exit(%+v): reason %q, want %q", tt.x, o.Reason, tt.reason)
		}
		if tt.x.Err == nil && o.ExitCode != tt.x.Code {
			t.Errorf("Exit(%+v): exit code %d", tt.x, o.ExitCode)
		}
	}
}
