// page.mjs writes the HTML page that renders each graph: node page.mjs
// MERMAID_JS OUT.html FILE... A .md file contributes each of its
// ```mermaid blocks, a .mmd file its whole text.
import { readFileSync, writeFileSync } from "node:fs";
import { basename } from "node:path";

const [mermaidJS, out, ...files] = process.argv.slice(2);
const graphs = [];
for (const f of files) {
  const text = readFileSync(f, "utf8");
  if (f.endsWith(".md")) {
    const blocks = [...text.matchAll(/```mermaid\n([\s\S]*?)\n```/g)];
    blocks.forEach((m, i) => graphs.push({ name: `${basename(f)} (graph ${i + 1})`, text: m[1] }));
  } else {
    graphs.push({ name: basename(f), text });
  }
}
if (graphs.length === 0) {
  console.error("check-graphs: no graphs in " + files.join(" "));
  process.exit(1);
}

// JSON in a <script> element: "<" is escaped so that no text of a graph
// can close the element.
const data = JSON.stringify(graphs).replace(/</g, "\\u003c");
writeFileSync(out, `<!doctype html>
<html><head><meta charset="utf-8"><script src="file://${mermaidJS}"></script></head>
<body><pre id="verdicts"></pre><div id="stage"></div>
<script>
const graphs = ${data};
async function main() {
  const out = [];
  // GitHub renders comments with mermaid's default configuration.
  mermaid.initialize({ startOnLoad: false });
  for (let i = 0; i < graphs.length; i++) {
    const g = graphs[i];
    try {
      const { svg } = await mermaid.render("graph" + i, g.text, document.getElementById("stage"));
      if (svg.includes('aria-roledescription="error"') || svg.includes("Syntax error in text")) {
        out.push({ name: g.name, ok: false, error: "drew Mermaid's error diagram" });
      } else {
        out.push({ name: g.name, ok: true, bytes: g.text.length });
      }
    } catch (e) {
      out.push({ name: g.name, ok: false, error: String((e && e.message) || e) });
    }
  }
  document.getElementById("verdicts").textContent = "VERDICTS " + JSON.stringify(out);
}
main();
</script></body></html>
`);
