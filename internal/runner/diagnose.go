package runner

// diagnosis is what was collected from a hung process before it was
// killed (by its supervisor, proc.ReqDiagnose).
type diagnosis struct {
	text     string
	quitSent bool // a Go binary got SIGQUIT and is dumping its goroutines
}
