package render

import (
	"io"
	"testing"
	"time"
)

// BenchmarkRender20k renders a plan of 20,000 endpoints (80,001 steps, the
// size of the planner's benchmark) in every format and reports each
// format's milliseconds, measured in one run.
func BenchmarkRender20k(b *testing.B) {
	p := bigPlan(20000)
	var fromPlan, text, js, md, dot, mmd time.Duration
	for b.Loop() {
		t0 := time.Now()
		d := FromPlan(p, Info{})
		t1 := time.Now()
		_ = Text(io.Discard, d, TextOptions{})
		t2 := time.Now()
		_ = WriteJSON(io.Discard, d)
		t3 := time.Now()
		_ = Markdown(io.Discard, d, MarkdownOptions{})
		t4 := time.Now()
		_ = DOT(io.Discard, d)
		t5 := time.Now()
		_ = Mermaid(io.Discard, d)
		t6 := time.Now()
		fromPlan += t1.Sub(t0)
		text += t2.Sub(t1)
		js += t3.Sub(t2)
		md += t4.Sub(t3)
		dot += t5.Sub(t4)
		mmd += t6.Sub(t5)
	}
	n := float64(b.N) * float64(time.Millisecond)
	b.ReportMetric(float64(len(p.Steps)), "steps")
	b.ReportMetric(float64(fromPlan)/n, "doc-ms")
	b.ReportMetric(float64(text)/n, "text-ms")
	b.ReportMetric(float64(js)/n, "json-ms")
	b.ReportMetric(float64(md)/n, "markdown-ms")
	b.ReportMetric(float64(dot)/n, "dot-ms")
	b.ReportMetric(float64(mmd)/n, "mermaid-ms")
}
