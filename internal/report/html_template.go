package report

import "html/template"

// pageTemplate lays out an htmlPage. Everything is inline: the page must open
// from a CI artifact store with no network. The script only sorts and
// filters tables and shows the timeline's tooltips; the page reads fine
// without it.
var pageTemplate = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}: {{.Summary}}</title>
<style>
:root{--pass:#1f883d;--fail:#cf222e;--crash:#82071e;--timeout:#d4620b;--error:#8250df;--skip:#8c959f;--running:#0969da;
--fg:#1f2328;--muted:#59636e;--line:#d1d9e0;--soft:#eef1f4;--panel:#f6f8fa;--bg:#fff;
--mono:ui-monospace,SFMono-Regular,"SF Mono",Menlo,Consolas,"Liberation Mono",monospace}
*{box-sizing:border-box}
body{margin:0;font:14px/1.5 system-ui,-apple-system,"Segoe UI","Noto Sans",Helvetica,Arial,sans-serif;color:var(--fg);background:var(--bg)}
header{padding:20px 32px 18px;border-bottom:1px solid var(--line);background:var(--panel)}
main{padding:4px 32px 48px}
h1{font-size:22px;margin:0;display:flex;align-items:center;gap:12px;flex-wrap:wrap}
h2{font-size:16px;margin:30px 0 10px;padding-bottom:6px;border-bottom:1px solid var(--line)}
h2 small{font-weight:400;color:var(--muted);font-size:13px;margin-left:6px}
code,pre{font-family:var(--mono)}
.facts{color:var(--muted);margin-top:4px}
.summary{font-family:var(--mono);font-size:13px}
.verdict{display:inline-block;padding:2px 12px;border-radius:999px;color:#fff;font-size:13px;font-weight:600;letter-spacing:.03em}
.cards{display:flex;flex-wrap:wrap;gap:10px;margin-top:16px}
.card{background:var(--bg);border:1px solid var(--line);border-radius:8px;padding:8px 16px 6px;min-width:96px}
.card b{display:block;font-size:22px;line-height:1.2;font-variant-numeric:tabular-nums}
.card span{color:var(--muted);font-size:11px;text-transform:uppercase;letter-spacing:.06em}
.card.pass b{color:var(--pass)}.card.fail b{color:var(--fail)}.card.timeout b{color:var(--timeout)}
.meter{height:6px;background:var(--soft);border-radius:3px;margin:4px 0 2px;overflow:hidden}
.meter i{display:block;height:100%;background:var(--pass)}
.pass-bg,.bar.pass,.badge.pass,.verdict.pass,.legend .pass{background:var(--pass)}
.fail-bg,.bar.fail,.badge.fail,.verdict.fail,.legend .fail{background:var(--fail)}
.bar.crash,.badge.crash,.legend .crash{background:var(--crash)}
.bar.timeout,.badge.timeout,.verdict.timeout,.legend .timeout{background:var(--timeout)}
.bar.error,.badge.error,.legend .error{background:var(--error)}
.bar.skip,.badge.skip,.verdict.skip,.legend .skip{background:var(--skip)}
.bar.running,.legend .running{background:var(--running)}
.badge{display:inline-block;min-width:64px;text-align:center;padding:0 6px;border-radius:4px;color:#fff;font:600 11px/18px var(--mono)}
.tl{border:1px solid var(--line);border-radius:8px;padding:10px 14px 12px;background:var(--bg)}
.tl-axis{position:relative;height:18px;margin-left:64px;font-size:11px;color:var(--muted);font-variant-numeric:tabular-nums}
.tl-axis span{position:absolute;top:0;transform:translateX(-50%);white-space:nowrap}
.tl-axis span:first-child{transform:none}
.tl-body{position:relative}
.tl-grid{position:absolute;top:0;bottom:0;left:64px;right:0;pointer-events:none}
.tl-grid i{position:absolute;top:0;bottom:0;border-left:1px dashed var(--line)}
.lane{display:flex;align-items:center;height:28px}
.lane-name{width:64px;flex:none;font-size:11px;color:var(--muted);font-variant-numeric:tabular-nums}
.track{position:relative;flex:1;height:22px;background:var(--panel);border-radius:4px}
.bar{position:absolute;top:1px;bottom:1px;min-width:3px;border-radius:4px;color:#fff;font:500 11px/20px var(--mono);
padding:0 6px;white-space:nowrap;overflow:hidden;text-overflow:ellipsis;cursor:default;
border-right:2px solid var(--panel);background-clip:padding-box}
.bar:hover,.bar:focus{filter:brightness(1.2);z-index:2;outline:none}
.bar.running{background-image:repeating-linear-gradient(45deg,transparent 0 6px,rgba(255,255,255,.3) 6px 12px)}
.compact .lane{height:14px}.compact .track{height:12px}.compact .bar{font-size:0;border-radius:2px}
.legend{display:flex;flex-wrap:wrap;gap:16px;margin:10px 0 0 64px;font-size:12px;color:var(--muted)}
.legend i{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:5px;vertical-align:-1px}
#tip{position:fixed;z-index:10;pointer-events:none;background:#1f2328;color:#fff;padding:7px 10px;border-radius:6px;
font:12px/1.45 var(--mono);white-space:pre;box-shadow:0 6px 18px rgba(0,0,0,.25)}
details.failure{border:1px solid var(--line);border-radius:8px;margin:8px 0;overflow:hidden}
details.failure>summary{cursor:pointer;padding:7px 12px;background:var(--panel);list-style-position:inside}
details.failure>summary code{font-weight:600;margin:0 6px}
.detail{color:var(--muted);font-size:13px}
pre.out{margin:0;padding:10px 14px;overflow:auto;max-height:420px;font-size:12px;line-height:1.45;border-top:1px solid var(--line);white-space:pre}
.none{color:var(--muted);font-style:italic}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{padding:4px 10px;border-bottom:1px solid var(--soft);text-align:left;vertical-align:top}
th{position:sticky;top:0;background:var(--panel);font-weight:600;user-select:none;border-bottom:1px solid var(--line);white-space:nowrap}
.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.id{font-family:var(--mono);font-size:12px;word-break:break-all}
table.sortable th{cursor:pointer}
table.sortable th:hover{background:var(--soft)}
th[data-dir=asc]::after{content:" \25B2";font-size:10px}
th[data-dir=desc]::after{content:" \25BC";font-size:10px}
tbody tr:hover td{background:var(--panel)}
.slow td.barcell{width:40%}
.slowbar{height:8px;border-radius:4px;background:var(--running);opacity:.55;margin-top:6px}
.flakymark{color:var(--timeout);font-size:11px;margin-left:6px}
.muted{color:var(--muted)}
#filter{font:inherit;padding:4px 8px;border:1px solid var(--line);border-radius:6px;width:280px;margin:0 0 8px}
.warn li{font-family:var(--mono);font-size:12px}
.coverage{max-width:420px}
</style>
</head>
<body>
<header>
<h1>{{.Title}} <span class="verdict {{.Class}}">{{.Verdict}}</span></h1>
<div class="facts"><span class="summary">{{.Summary}}</span> · {{.Facts}}</div>
<div class="cards">
{{- range .Cards}}
<div class="card {{.Class}}"><b>{{.Value}}</b><span>{{.Label}}</span></div>
{{- end}}
{{- with .Coverage}}
<div class="card coverage"><b>{{.Percent}}</b><div class="meter"><i style="width:{{.Width}}%"></i></div><span>coverage · {{.Detail}}</span></div>
{{- end}}
</div>
</header>
<main>
<h2>Timeline <small>one lane per parallel slot, one bar per process; hover for details</small></h2>
{{- with .Timeline}}
{{- if .Lanes}}
<div class="tl{{if .Compact}} compact{{end}}">
<div class="tl-axis">
{{- range .Ticks}}<span style="left:{{.Left}}%">{{.Label}}</span>{{end -}}
</div>
<div class="tl-body">
<div class="tl-grid">{{range .Ticks}}<i style="left:{{.Left}}%"></i>{{end}}</div>
{{- range .Lanes}}
<div class="lane"><span class="lane-name">{{.Name}}</span><div class="track">
{{- range .Bars}}<div class="bar {{.Class}}" tabindex="0" style="left:{{.Left}}%;width:{{.Width}}%" title="{{.Tip}}">{{.Label}}</div>{{end -}}
</div></div>
{{- end}}
</div>
<div class="legend">{{range .Legend}}<span><i class="{{.Class}}"></i>{{.Label}}</span>{{end}}</div>
</div>
{{- else}}
<p class="none">No processes ran.</p>
{{- end}}
{{- end}}

<h2>Failures <small>{{len .Failures}}</small></h2>
{{- range .Failures}}
<details class="failure"{{if .Open}} open{{end}}><summary><span class="badge {{.Class}}">{{.Status}}</span><code>{{.ID}}</code><span class="detail">{{.Detail}}</span></summary>
{{- if .Output}}<pre class="out">{{.Output}}</pre>{{else}}<pre class="out none">no output</pre>{{end}}</details>
{{- else}}
<p class="none">None.</p>
{{- end}}
{{- if .Flaky}}

<h2>Flaky <small>failed, then passed on a rerun</small></h2>
{{- range .Flaky}}
<details class="failure"><summary><span class="badge {{.Class}}">{{.Status}}</span><code>{{.ID}}</code><span class="detail">{{.Detail}}</span></summary>
{{- if .Output}}<pre class="out">{{.Output}}</pre>{{else}}<pre class="out none">no output</pre>{{end}}</details>
{{- end}}
{{- end}}

<h2>Slowest tests</h2>
{{- if .Slowest}}
<table class="slow"><thead><tr><th>Status</th><th>Test</th><th class="num">Duration</th><th></th></tr></thead><tbody>
{{- range .Slowest}}
<tr><td><span class="badge {{.Class}}">{{.Status}}</span></td><td class="id">{{.ID}}</td><td class="num">{{.Took}}</td><td class="barcell"><div class="slowbar" style="width:{{.Width}}%"></div></td></tr>
{{- end}}
</tbody></table>
{{- else}}
<p class="none">No tests ran.</p>
{{- end}}

<h2>All tests <small>{{len .Tests}}; click a column to sort</small></h2>
<input id="filter" type="search" placeholder="Filter tests…" aria-label="Filter tests">
<table class="sortable" id="tests"><thead><tr>
<th data-type="num">Status</th><th>Test</th><th class="num" data-type="num">Duration</th><th class="num" data-type="num">CPU</th><th class="num" data-type="num">Peak RSS</th><th class="num" data-type="num">Attempts</th><th>Where</th>
</tr></thead><tbody>
{{- range .Tests}}
<tr><td data-v="{{.Rank}}"><span class="badge {{.Class}}">{{.Status}}</span></td><td class="id">{{.ID}}{{if .Flaky}}<span class="flakymark">flaky</span>{{end}}</td><td class="num" data-v="{{.TookV}}">{{.Took}}</td>
<td class="num" data-v="{{.CPUV}}"{{with .Note}} title="{{.}}"{{end}}>{{.CPU}}</td><td class="num" data-v="{{.RSSV}}"{{with .Note}} title="{{.}}"{{end}}>{{.RSS}}</td><td class="num">{{.Attempts}}</td><td class="muted">{{.Where}}</td></tr>
{{- end}}
</tbody></table>
{{- if .Warnings}}

<h2>Warnings <small>{{len .Warnings}}</small></h2>
<ul class="warn">
{{- range .Warnings}}
<li>{{.}}</li>
{{- end}}
</ul>
{{- end}}
</main>
<div id="tip" hidden></div>
<script>
(function () {
  "use strict";
  // Sortable tables: numbers sort on data-v, the rest on text.
  document.querySelectorAll("table.sortable").forEach(function (table) {
    var heads = table.tHead.rows[0].cells;
    Array.prototype.forEach.call(heads, function (th, col) {
      th.tabIndex = 0;
      var sort = function () {
        var num = th.dataset.type === "num";
        var dir = th.dataset.dir === (num ? "desc" : "asc") ? (num ? "asc" : "desc") : (num ? "desc" : "asc");
        Array.prototype.forEach.call(heads, function (h) { delete h.dataset.dir; });
        th.dataset.dir = dir;
        var key = function (row) {
          var cell = row.cells[col];
          var v = cell.dataset.v !== undefined ? cell.dataset.v : cell.textContent;
          return num ? (parseFloat(v) || 0) : v.toLowerCase();
        };
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = key(a), y = key(b);
          var c = x < y ? -1 : x > y ? 1 : 0;
          return dir === "asc" ? c : -c;
        });
        var frag = document.createDocumentFragment();
        rows.forEach(function (r) { frag.appendChild(r); });
        body.appendChild(frag);
      };
      th.addEventListener("click", sort);
      th.addEventListener("keydown", function (e) { if (e.key === "Enter") { sort(); } });
    });
  });
  // Filter the table of every test.
  var filter = document.getElementById("filter");
  var tests = document.getElementById("tests");
  if (filter && tests) {
    filter.addEventListener("input", function () {
      var q = filter.value.toLowerCase();
      Array.prototype.forEach.call(tests.tBodies[0].rows, function (r) {
        r.hidden = q !== "" && r.textContent.toLowerCase().indexOf(q) < 0;
      });
    });
  }
  // Timeline tooltips: the title becomes a styled tip that shows at once.
  var tip = document.getElementById("tip");
  document.querySelectorAll(".bar[title]").forEach(function (bar) {
    bar.dataset.tip = bar.title;
    bar.removeAttribute("title");
    bar.setAttribute("aria-label", bar.dataset.tip);
  });
  var show = function (bar, x, y) {
    tip.textContent = bar.dataset.tip;
    tip.hidden = false;
    var w = tip.offsetWidth, h = tip.offsetHeight;
    var left = Math.min(x + 14, window.innerWidth - w - 8);
    var top = y + 18 + h > window.innerHeight ? y - h - 12 : y + 18;
    tip.style.left = Math.max(8, left) + "px";
    tip.style.top = Math.max(8, top) + "px";
  };
  document.addEventListener("mousemove", function (e) {
    var bar = e.target.closest ? e.target.closest(".bar[data-tip]") : null;
    if (bar) { show(bar, e.clientX, e.clientY); } else { tip.hidden = true; }
  });
  document.addEventListener("focusin", function (e) {
    if (e.target.dataset && e.target.dataset.tip) {
      var r = e.target.getBoundingClientRect();
      show(e.target, r.left, r.bottom - 10);
    }
  });
  document.addEventListener("focusout", function () { tip.hidden = true; });
  document.documentElement.dataset.js = "ok";
})();
</script>
</body>
</html>
`))
