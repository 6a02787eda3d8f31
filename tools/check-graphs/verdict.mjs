// verdict.mjs reads the rendered page's verdicts from the DOM Chromium
// printed and reports them: node verdict.mjs DOM.html. Exit 1 when a graph
// failed, 2 when the page never finished.
import { readFileSync } from "node:fs";

const dom = readFileSync(process.argv[2], "utf8");
const m = dom.match(/VERDICTS (\[.*?\])<\/pre>/s);
if (!m) {
  console.error("check-graphs: the browser finished no graph (mermaid did not load, or rendering took too long)");
  process.exit(2);
}
const text = m[1].replace(/&quot;/g, '"').replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
const verdicts = JSON.parse(text);
let failed = 0;
for (const v of verdicts) {
  if (v.ok) {
    console.log(`ok    ${v.name}`);
  } else {
    failed++;
    console.log(`FAIL  ${v.name}: ${v.error.split("\n")[0]}`);
  }
}
console.log(`${verdicts.length - failed} of ${verdicts.length} graphs drawn by mermaid in Chromium`);
process.exit(failed > 0 ? 1 : 0);
