// Live code: edit and run a page's code cells in place, on Python running in this browser.
//
// On a page that is a notebook, book/lite/lite_links.py puts "▶ Run this page in your browser"
// under the title; this script adds a "Live code" toggle beside it. Turned on, every code cell
// becomes editable with a Run button (and Shift+Enter), and a cell's outputs replace its static
// ones. Python is the browser lab's own Pyodide, with its verified wheels (book/lite/build.py),
// fetched from this site by live-code-worker.js in a Web Worker; the cells share one namespace
// (live_code_shell.py).
//
// Nothing starts while a page is only read: the worker and its downloads start when the reader
// shows intent, a pointer over the toggle or keyboard focus on it, so Python is usually ready by
// the time the toggle is clicked.
//
// The cells' code comes from the page's notebook in the browser lab (the file the link above
// opens), which has every cell, the ones the page does not show included (hidden assertion
// cells tagged remove-cell, some of which define what later cells use). Running a cell first
// runs, once each and in order, the cells above it that have not run yet, hidden ones included:
// a reader can start anywhere on the page. A hidden cell's outputs stay hidden, as on the static
// page, except its error, shown on the cell that was run (an edit can break a claim the page
// checks without showing it). A cell shown without its code (remove-input) runs in its turn and
// shows its new outputs in place, but cannot be edited.
(() => {
  const script = document.currentScript;
  const pageLink = document.querySelector("h1 + p.lite-link > a");
  if (pageLink === null) return;  // not a notebook page
  const lab = new URL(pageLink.href);
  const notebookURL = new URL(`../files/${lab.searchParams.get("path")}`, lab);
  const pyodideURL = new URL("../static/pyodide/", lab);
  const WIDGET_STATE = "application/vnd.jupyter.widget-state+json";

  const toggle = document.createElement("button");
  toggle.type = "button";
  toggle.className = "live-toggle";
  toggle.setAttribute("aria-pressed", "false");
  toggle.textContent = "Live code";
  toggle.title = "Edit and run this page's code here, with Python in your browser";
  const status = document.createElement("span");
  status.className = "live-status";
  status.setAttribute("role", "status");
  const restartButton = document.createElement("button");
  restartButton.type = "button";
  restartButton.className = "live-restart";
  restartButton.textContent = "Restart Python";
  restartButton.title = "Stop the running cell and start Python afresh (the cells' edits stay)";
  pageLink.parentElement.append(" ", toggle, " ", status, " ", restartButton);

  let worker = null;
  let notebook = null;  // a promise of the notebook's JSON
  let cells = null;  // [{code, hidden, element, editor, output, ran}], in the notebook's order
  let chain = Promise.resolve();  // runs go one after another
  let nextId = 0;
  let failure = null;  // why Python could not start, once it could not
  let restarts = 0;  // a run queued before a restart does not go on after it
  const pending = new Map();  // run id -> {sink, done}

  function setStatus(text, state) {
    status.textContent = text;
    status.dataset.state = state;
  }

  function start() {
    if (worker !== null) return;
    setStatus("Python: starting…", "starting");
    notebook ??= fetch(notebookURL).then((response) => {
      if (!response.ok) throw new Error(`HTTP ${response.status} for ${notebookURL}`);
      return response.json();
    });
    const own = new Worker(new URL("live-code-worker.js", script.src));
    // Messages from a worker that has been restarted since are for nobody.
    own.onmessage = ({ data: message }) => own === worker && handlers[message.type](message);
    own.onerror = (event) => own === worker && failed(event.message || "the worker could not be loaded");
    worker = own;
    worker.postMessage({ type: "start", pyodide: pyodideURL.href,
                         shell: new URL("live_code_shell.py", script.src).href });
  }

  const handlers = {
    status({ status: state, detail }) {
      if (state === "failed") return failed(detail);
      const text = { starting: "Python: starting…", ready: "Python: ready", busy: "Python: busy" }[state];
      setStatus(detail ? `Python: ${detail}…` : text, state);
    },
    output({ id, kind, data }) {
      pending.get(id)?.sink(kind, JSON.parse(data));
    },
    done({ id, ok }) {
      pending.get(id)?.done(ok);
      pending.delete(id);
    },
  };

  function failed(detail) {
    failure = `Python could not start: ${detail}`;
    setStatus(failure, "failed");
    for (const id of pending.keys()) answerUnrun(id, failure);
  }

  // A cell that never ends can only be stopped with its worker (interrupting Python inside it would
  // need a SharedArrayBuffer, which a page gets only with headers a static site cannot set).
  function restart() {
    restarts += 1;
    worker.terminate();
    worker = null;
    failure = null;
    for (const id of pending.keys()) answerUnrun(id, "Python was restarted before this cell finished");
    for (const cell of cells) cell.ran = false;
    start();
  }

  restartButton.addEventListener("click", restart);
  toggle.addEventListener("pointerenter", start);
  toggle.addEventListener("focus", start);
  toggle.addEventListener("click", async () => {
    start();
    const on = toggle.getAttribute("aria-pressed") !== "true";
    if (on && cells === null) {
      try {
        cells = matchCells((await notebook).cells);
      } catch (error) {
        setStatus(`Live code is not available here: ${error.message}`, "failed");
        return;
      }
      cells.forEach(makeLive);
    }
    toggle.setAttribute("aria-pressed", String(on));
    document.body.classList.toggle("live-code", on);
  });

  // The notebook's code cells, each with the page's element for it (none for a hidden cell).
  function matchCells(notebookCells) {
    const code = notebookCells.filter((cell) => cell.cell_type === "code").map((cell) => ({
      code: [].concat(cell.source).join(""),
      hidden: (cell.metadata.tags || []).includes("remove-cell"),
      element: null, editor: null, output: null, ran: false,
    }));
    const shown = code.filter((cell) => !cell.hidden);
    const elements = [...document.querySelectorAll("div.cell")];
    if (elements.length !== shown.length) {
      throw new Error(`the page shows ${elements.length} code cells, but its notebook has ${shown.length}`);
    }
    shown.forEach((cell, i) => {
      const source = elements[i].querySelector(".cell_input pre");
      if (source !== null && source.textContent.trim() !== cell.code.trim()) {
        throw new Error(`code cell ${i + 1} of the page differs from its notebook's`);
      }
      cell.element = elements[i];
    });
    return code;
  }

  function makeLive(cell) {
    if (cell.hidden) return;
    cell.output = document.createElement("div");
    cell.output.className = "live-output";
    cell.element.append(cell.output);
    const input = cell.element.querySelector(".cell_input");
    if (input === null) return;  // shown without its code: runs, but cannot be edited
    const editor = document.createElement("textarea");
    editor.className = "live-editor";
    editor.value = cell.code.replace(/\n+$/, "");
    editor.spellcheck = false;
    editor.setAttribute("aria-label", "Code cell (Shift+Enter runs it)");
    editor.rows = editor.value.split("\n").length;
    editor.addEventListener("input", () => {
      editor.rows = editor.value.split("\n").length;
    });
    editor.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && event.shiftKey) {
        event.preventDefault();
        run(cell);
        cells.slice(cells.indexOf(cell) + 1).find((next) => next.editor !== null)?.editor.focus();
      }
    });
    const button = document.createElement("button");
    button.type = "button";
    button.className = "live-run";
    button.textContent = "▶ Run";
    button.addEventListener("click", () => run(cell));
    const bar = document.createElement("div");
    bar.className = "live-bar";
    bar.append(button);
    input.prepend(editor, bar);
    cell.editor = editor;
  }

  function run(target) {
    const generation = restarts;
    target.element.classList.add("live-queued");
    chain = chain.then(async () => {
      if (generation !== restarts) return;
      target.output.replaceChildren();
      target.element.classList.add("live-ran");
      for (const cell of cells.slice(0, cells.indexOf(target))) {
        if (generation !== restarts) return;
        if (!cell.ran) await execute(cell, target);
      }
      if (generation === restarts) await execute(target, target);
    }).finally(() => target.element.classList.remove("live-queued"));
  }

  // Run one cell; its outputs go under it, a hidden cell's errors under `target`.
  function execute(cell, target) {
    cell.ran = true;
    let sink;
    if (cell.hidden) {
      sink = (kind, data) => kind === "error" && render(target.output, kind, data,
                                                        "A cell this page hides (run before this one) raised:");
    } else {
      if (cell !== target) cell.output.replaceChildren();
      cell.element.classList.add("live-ran", "live-running");
      sink = (kind, data) => render(cell.output, kind, data);
    }
    const id = nextId++;
    const code = cell.editor === null ? cell.code : cell.editor.value;
    return new Promise((resolve) => {
      pending.set(id, { sink, done: resolve });
      if (failure === null) {
        worker.postMessage({ type: "run", id, code });
      } else {
        answerUnrun(id, failure);
      }
    }).finally(() => cell.element?.classList.remove("live-running"));
  }

  function answerUnrun(id, why) {
    const { sink, done } = pending.get(id);
    pending.delete(id);
    sink("error", { ename: "Error", evalue: why, traceback: [] });
    done(false);
  }

  function render(area, kind, data, note) {
    if (kind === "clear") {
      area.replaceChildren();
    } else if (kind === "stream") {
      let last = area.lastElementChild;
      if (last === null || !last.matches(`pre.live-stream.live-${data.name}`)) {
        last = document.createElement("pre");
        last.className = `live-stream live-${data.name}`;
        area.append(last);
      }
      last.textContent += data.text;
    } else if (kind === "error") {
      area.append(errorBox(data, note));
    } else if (kind === "display") {
      area.append(displayBox(data));
    }
  }

  function errorBox({ ename, evalue, traceback }, note) {
    const box = document.createElement("div");
    box.className = "live-error";
    if (note) box.append(Object.assign(document.createElement("p"), { textContent: note }));
    box.append(Object.assign(document.createElement("strong"), { textContent: evalue ? `${ename}: ${evalue}` : ename }));
    if (traceback.length > 0) {
      const details = document.createElement("details");
      details.append(Object.assign(document.createElement("summary"), { textContent: "Traceback" }),
                     Object.assign(document.createElement("pre"), { textContent: traceback.join("\n") }));
      box.append(details);
    }
    return box;
  }

  // One display's richest form that a page can show, as JupyterLab would choose it.
  function displayBox(bundle) {
    const box = document.createElement("div");
    box.className = "live-display";
    if (bundle[WIDGET_STATE]) {
      renderWidget(box, bundle[WIDGET_STATE]).catch((error) => {
        box.replaceChildren(errorBox({ ename: "Error", evalue: `the widget could not be shown: ${error}`,
                                       traceback: [] }));
      });
    } else if (bundle["text/html"]) {
      box.innerHTML = bundle["text/html"];
    } else if (bundle["image/svg+xml"]) {
      box.innerHTML = bundle["image/svg+xml"];
    } else if (bundle["image/png"]) {
      box.append(Object.assign(document.createElement("img"), { src: `data:image/png;base64,${bundle["image/png"]}` }));
    } else {
      box.append(Object.assign(document.createElement("pre"), { textContent: bundle["text/plain"] ?? "" }));
    }
    return box;
  }

  // Widgets are drawn by the site's own ipywidgets embed manager, as the static page's are: a page
  // without widgets has not loaded it, and loads it now.
  let widgetManager = null;

  function loadWidgetManager() {
    widgetManager ??= (async () => {
      for (const file of ["npm/requirejs/require.js", "widgets-setup.js", "npm/html-manager/embed-amd.js"]) {
        if (document.querySelector(`script[src*="/${file}"]`) === null) {
          await new Promise((resolve, reject) => {
            const tag = Object.assign(document.createElement("script"), { src: new URL(file, script.src).href });
            tag.onload = resolve;
            tag.onerror = () => reject(new Error(`could not load ${file}`));
            document.head.append(tag);
          });
        }
      }
      return new Promise((resolve, reject) => window.require(["@jupyter-widgets/html-manager"], resolve, reject));
    })();
    return widgetManager;
  }

  async function renderWidget(box, { manager_state: state, view_specs: views }) {
    const { HTMLManager } = await loadWidgetManager();
    const manager = new HTMLManager();
    const models = await manager.set_state(state);
    for (const { model_id: id } of views) {
      const area = Object.assign(document.createElement("div"), { className: "widget-subarea" });
      box.append(area);
      const view = await manager.create_view(models.find((model) => model.model_id === id));
      await manager.display_view(view, area);
    }
  }
})();
