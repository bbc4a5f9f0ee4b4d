// Copies the built files of the page libraries into a git-ignored folder the app serves,
// so pages never load anything from a CDN.
import { cpSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const out = join(root, "academy", "web", "static", "vendor");
const files = {
  "htmx.min.js": "htmx.org/dist/htmx.min.js",
  "htmx-ws.js": "htmx-ext-ws/dist/ws.min.js",
  "alpine.min.js": "alpinejs/dist/cdn.min.js",
  "tabler.min.css": "@tabler/core/dist/css/tabler.min.css",
  "tabler.min.js": "@tabler/core/dist/js/tabler.min.js",
  "chart.umd.min.js": "chart.js/dist/chart.umd.min.js",
  "lightweight-charts.standalone.production.js":
    "lightweight-charts/dist/lightweight-charts.standalone.production.js",
};
mkdirSync(out, { recursive: true });
for (const [name, src] of Object.entries(files)) {
  cpSync(join(root, "node_modules", src), join(out, name));
}
console.log(`assets: ${Object.keys(files).length} files -> ${out}`);
