// The book's Live code, in a Web Worker: Pyodide and one IPython shell for the page's cells
// (live_code_shell.py). live-code.js starts it and talks to it in messages:
//
//   in:  {type: "start", pyodide: URL of the browser lab's Pyodide folder, shell: URL of live_code_shell.py}
//        {type: "run", id, code}                  one cell; runs queue up and go one at a time
//   out: {type: "status", status, detail}         "starting", "ready", "busy", "failed"
//        {type: "output", id, kind, data}         kind "stream", "display", "clear" or "error"; data is JSON
//        {type: "done", id, ok}                   the cell has run (ok: it raised nothing)
//
// The runtime and every package are the browser lab's own files (book/lite/build.py), fetched from
// this site: the wheels named by that lab's pyodide-lock.json, each checked when the lab was built.

// Loaded with the runtime: numtorch, labkit and what they import (numpy, ipywidgets, IPython).
// matplotlib, the heaviest, only when a cell imports it, as in the browser lab.
const PACKAGES = ["numtorch"];
// Figures as PNG displays, as in Jupyter: the inline backend, which the shell flushes after each cell.
const MPLBACKEND = "module://matplotlib_inline.backend_inline";

let shell;
let pyodide;
let queue = Promise.resolve();

function post(message) {
  self.postMessage(message);
}

async function start({ pyodide: indexURL, shell: shellURL }) {
  post({ type: "status", status: "starting" });
  try {
    importScripts(new URL("pyodide.js", indexURL).href);
    const source = fetch(shellURL).then((response) => response.text());
    pyodide = await self.loadPyodide({ indexURL, packages: PACKAGES, env: { MPLBACKEND } });
    const namespace = pyodide.globals.get("dict")();
    pyodide.runPython(await source, { globals: namespace, filename: "live_code_shell.py" });
    shell = namespace.get("PageShell").instance.callKwargs({ send });
    post({ type: "status", status: "ready" });
  } catch (error) {
    post({ type: "status", status: "failed", detail: String(error) });
  }
}

let running;  // the id of the cell running now, for send()

function send(kind, data) {
  post({ type: "output", id: running, kind, data });
}

async function run({ id, code }) {
  if (shell === undefined) return;  // Python did not start: the page has said so
  running = id;
  post({ type: "status", status: "busy" });
  let ok = false;
  try {
    await pyodide.loadPackagesFromImports(code, {
      messageCallback: (message) => message.startsWith("Loading ") && post({
        type: "status", status: "busy", detail: `loading ${message.split(",").length} packages`,
      }),
    });
    ok = shell.run(code);
  } catch (error) {  // loading a package failed: the shell itself reports what a cell raises
    send("error", JSON.stringify({ ename: "Error", evalue: String(error), traceback: [] }));
  }
  post({ type: "done", id, ok });
  post({ type: "status", status: "ready" });
}

self.onmessage = ({ data: message }) => {
  if (message.type === "start") {
    queue = start(message);
  } else if (message.type === "run") {
    queue = queue.then(() => run(message));
  }
};
