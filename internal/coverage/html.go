package coverage

import (
	"cmp"
	"html/template"
	"io"
	"slices"
	"strings"
	"time"
)

// HTMLFile and JSONFile are the function coverage report's files.
const (
	HTMLFile = "coverage.html"
	JSONFile = "coverage.json"
)

type htmlModule struct {
	Name string
	*Module
	Pct     float64 // for sorting and the bar; covered/total
	HasPct  bool
	Missing int
}

type htmlData struct {
	R       *Report
	Time    string
	Modules []htmlModule
	Delta   string
	// AnyUncovered is set when some module has uncovered functions.
	AnyUncovered bool
}

func writeHTML(w io.Writer, r *Report, now time.Time) error {
	d := htmlData{R: r, Time: now.Format("2006-01-02 15:04:05 MST"), Delta: r.delta}
	for name, m := range r.Modules {
		hm := htmlModule{Name: name, Module: m, Missing: m.Total - m.Covered, HasPct: m.Percent != nil}
		if m.Percent != nil {
			hm.Pct = *m.Percent
		}
		d.Modules = append(d.Modules, hm)
		d.AnyUncovered = d.AnyUncovered || len(m.Uncovered) > 0
	}
	slices.SortFunc(d.Modules, func(a, b htmlModule) int {
		return cmp.Or(cmp.Compare(a.Pct, b.Pct), cmp.Compare(b.Missing, a.Missing), cmp.Compare(a.Name, b.Name))
	})
	return page.Execute(w, d)
}

var page = template.Must(template.New("coverage").Funcs(template.FuncMap{
	"contains": strings.Contains,
	"deref":    func(p *float64) float64 { return *p },
	"plural":   plural,
}).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>volley coverage</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.6em}
table{border-collapse:collapse}th,td{padding:.25em .8em;text-align:right;border-bottom:1px solid #ddd}
th{cursor:pointer;background:#f4f4f4;user-select:none}th:first-child,td:first-child{text-align:left}
.bar{display:inline-block;width:8em;height:.7em;background:#e6b0aa;vertical-align:middle}
.bar span{display:block;height:100%;background:#58a55c}
.drop{color:#b00;font-weight:bold}.warn{color:#8a5a00}
details{margin:.2em 0}summary{cursor:pointer}code{font-size:.95em}
ul.fn{columns:2;margin:.3em 0 .8em}
.stat{display:inline-block;border:1px solid #ddd;border-radius:6px;padding:.5em 1em}.stat-value{font-size:1.6em;font-weight:600}.stat-label{color:#666;font-size:.8em}
</style></head><body>
<h1>Coverage</h1>
<p>{{.Time}}</p>
{{with .R.Totals}}{{if $.R.Modules}}
{{if .CoveragePercent}}<div class="stat"><div class="stat-value">{{.LibraryCovered}} / {{.LibraryFunctions}}</div><div class="stat-label">Functions Covered</div></div>{{end}}
<p><b>{{if .CoveragePercent}}{{printf "%.1f" (deref .CoveragePercent)}}% — {{.LibraryCovered}} of {{.LibraryFunctions}} functions covered{{else}}{{.LibraryCovered}} functions covered (no function list: no percentage){{end}}</b>.
Modules: {{.ModulesFull}} full, {{.ModulesPartial}} partial, {{.ModulesZero}} zero.
Tests: {{.TestsPassed}} passed, {{.TestsFailed}} failed{{if .FailedSuites}} (suites: {{range $i, $s := .FailedSuites}}{{if $i}}, {{end}}{{$s}}{{end}}){{end}}.
Run: {{.DurationMS}} ms.</p>
{{if .FailedProcesses}}<p class="warn">Includes coverage from {{plural .FailedProcesses "process" "processes"}} with failed or crashed tests ({{plural .OnlyFromFailed "function" "functions"}} covered only there).</p>{{end}}
{{end}}{{end}}
{{if .Delta}}<pre{{if contains .Delta "DROPPED"}} class="drop"{{end}}>{{.Delta}}</pre>{{end}}
{{with .R.Go}}<h2>Go</h2><p>{{if .Problem}}<span class="drop">Not merged: {{.Problem}}</span>{{else}}{{printf "%.1f" .Percent}}% of {{.Unit}} ({{.Covered}} of {{.Total}}) from {{plural .Processes "process" "processes"}}.
{{range .Outputs}}<a href="{{.}}">{{.}}</a> {{end}}{{end}}</p>{{end}}
{{with .R.LLVM}}<h2>LLVM</h2><p>{{if .Problem}}<span class="drop">Not merged: {{.Problem}}</span>{{else}}{{printf "%.1f" .Percent}}% of {{.Unit}} ({{.Covered}} of {{.Total}}) from {{plural .Processes "process" "processes"}}.
{{range .Outputs}}<a href="{{.}}">{{.}}</a> {{end}}{{end}}</p>{{end}}
{{if .Modules}}<h2>Modules</h2>
<table id="mods"><thead><tr><th data-t="s">Module</th><th data-t="n">Covered</th><th data-t="n">Total</th><th data-t="n">Uncovered</th><th data-t="n">Percent</th></tr></thead><tbody>
{{range .Modules}}<tr><td><a href="#m-{{.Name}}">{{.Name}}</a></td><td data-v="{{.Covered}}">{{.Covered}}</td><td data-v="{{.Total}}">{{.Total}}</td><td data-v="{{.Missing}}">{{.Missing}}</td>
<td data-v="{{.Pct}}">{{if .HasPct}}<span class="bar"><span style="width:{{.Pct}}%"></span></span> {{printf "%.1f" .Pct}}%{{else}}–{{end}}</td></tr>
{{end}}</tbody></table>
<h2>Uncovered functions</h2>
{{if .AnyUncovered}}{{range .Modules}}{{if .Uncovered}}<details id="m-{{.Name}}"><summary>{{.Name}}: {{len .Uncovered}} uncovered</summary><ul class="fn">{{range .Uncovered}}<li><code>{{.}}</code></li>{{end}}</ul></details>
{{end}}{{end}}{{else}}<p>None{{if not .R.Totals.CoveragePercent}} known: without a function list only covered functions are known{{end}}.</p>{{end}}{{end}}
{{if .R.Warnings}}<h2>Warnings</h2><ul class="warn">{{range .R.Warnings}}<li>{{.}}</li>{{end}}</ul>{{end}}
<script>
document.querySelectorAll("#mods th").forEach(function(th, col) {
  var asc = true;
  th.addEventListener("click", function() {
    var body = th.closest("table").tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var num = th.dataset.t === "n";
    rows.sort(function(a, b) {
      var x = a.cells[col], y = b.cells[col];
      var r = num ? parseFloat(x.dataset.v) - parseFloat(y.dataset.v) : x.textContent.localeCompare(y.textContent);
      return asc ? r : -r;
    });
    asc = !asc;
    rows.forEach(function(r) { body.appendChild(r); });
  });
});
</script>
</body></html>
`))
