// Where the browser lab's kernel spends its start, phase by phase, for benchmarks/lite.py.
//
//     node benchmarks/lite_phases.mjs LITE_APP 'FIRST CELL CODE'
//
// The kernel starts in a web worker, which reports nothing between "starting" and "idle"; so
// the same steps run here, on the same Pyodide and the same site lock, in Node, whose V8 is
// Chromium's: the runtime (WebAssembly compile and stdlib), the preloaded packages (unpacking
// wheels, loading their shared libraries), the kernel's imports (pyodide_kernel, IPython) and
// the lab's first cell. Python's `-X importtime` (PYTHONPROFILEIMPORTTIME) says which imports
// weigh most. Prints one JSON object.
import { readFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

const [app, firstCell] = process.argv.slice(2);
const pyodideDir = path.join(path.resolve(app), "static", "pyodide") + path.sep;
const settings = JSON.parse(readFileSync(path.join(app, "jupyter-lite.json"))) ["jupyter-config-data"];
const kernel = settings.litePluginSettings["@jupyterlite/pyodide-kernel-extension:kernel"];
const preload = kernel.loadPyodideOptions?.packages ?? [];

const { loadPyodide } = await import(pathToFileURL(path.join(pyodideDir, "pyodide.mjs")));
const importLines = [];
const phases = {};
// Wall time and the process's CPU time (every thread: V8 compiles WebAssembly on helper threads):
// on shared cores the CPU time is the steadier of the two.
let mark = [performance.now(), process.cpuUsage()];
const lap = (name) => {
  const now = [performance.now(), process.cpuUsage()];
  const cpu = (now[1].user + now[1].system - mark[1].user - mark[1].system) / 1e6;
  phases[name] = { wall: (now[0] - mark[0]) / 1000, cpu };
  mark = now;
};

const pyodide = await loadPyodide({
  indexURL: pyodideDir,
  env: { PYTHONPROFILEIMPORTTIME: "1", HOME: "/home/pyodide" },
  stdout: () => {},
  stderr: (line) => { if (line.startsWith("import time:")) importLines.push(line); },
});
lap("runtime and stdlib");
const stdlibImports = importLines.length;
await pyodide.loadPackage(preload, { messageCallback: () => {} });
lap("preloaded packages");
await pyodide.runPythonAsync("import pyodide_kernel");
lap("kernel imports");
await pyodide.loadPackagesFromImports(firstCell, { messageCallback: () => {} });
await pyodide.runPythonAsync(firstCell);
lap("first cell");

// The heaviest imports after the runtime's own: top-level ones (no indentation in the tree).
const imports = importLines.slice(stdlibImports)
  .map((line) => line.match(/^import time:\s+(\d+) \|\s+(\d+) \| ( *)(\S+)/))
  .filter((match) => match && match[3].length <= 3)
  .map((match) => ({ module: match[4], seconds: Number(match[2]) / 1e6 }))
  .sort((a, b) => b.seconds - a.seconds)
  .slice(0, 12);
console.log(JSON.stringify({ phases, preload, heaviest_imports: imports }));
