// A JupyterLite server plugin that starts the kernel of the notebook the page was opened on
// (lab/index.html?path=labs/0_linear.ipynb) as soon as JupyterLite's in-page server is up.
//
// Without it the kernel's web worker starts only once JupyterLab has loaded and shown the notebook:
// Pyodide's start (a few CPU-seconds of compiling and importing) waits for JupyterLab's (about as many),
// with a second core idle. Started here, the two overlap. When the notebook opens, JupyterLab looks
// for a running session of that path before starting one, and takes this one.
//
// Written by hand, not built: JupyterLab loads an extension as a webpack module-federation container, an
// object with `init(shareScope)` and `get(module)` under window._JUPYTERLAB[name]. This one shares and
// imports no module; it uses only the server's REST API, through the server's own fetch.
(function () {
  'use strict';
  const NAME = '@numtorch-book/start-kernel-early';

  async function api(server, method, route, body) {
    const settings = server.serviceManager.serverSettings;
    const request = new Request(settings.baseUrl + route, {
      method,
      headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const response = await settings.fetch(request);
    if (!response.ok) {
      throw new Error(`expected ${method} ${route} to succeed, but got HTTP ${response.status}`);
    }
    return response.json();
  }

  async function startKernel(server, path) {
    // The kernel mounts the site's files (its drive) only if JupyterLite's service worker manager holds the worker's
    // registration when the kernel is made. The manager registers the worker (a first visit) or looks its
    // registration up (a return visit) as the server starts: wait for the worker, then for a lookup asked after
    // the manager's, which the browser answers after it.
    await navigator.serviceWorker.ready;
    await navigator.serviceWorker.getRegistration();
    const specs = await api(server, 'GET', 'api/kernelspecs');
    await api(server, 'POST', 'api/sessions', {
      path,
      name: path.split('/').pop(),
      type: 'notebook',
      kernel: { name: specs.default },
    });
    console.info(`${NAME}: asked for the kernel of ${path} at ${Math.round(performance.now())} ms`);
  }

  const plugin = {
    id: `${NAME}:plugin`,
    description: 'Starts the kernel of the notebook in the page address while JupyterLab starts.',
    autoStart: true,
    activate: (server) => {
      const path = new URLSearchParams(window.location.search).get('path');
      if (!path || !path.endsWith('.ipynb') || !('serviceWorker' in navigator)) {
        return;
      }
      server.started
        .then(() => startKernel(server, path))
        .catch((error) => console.warn(`${NAME}: the kernel of ${path} starts with its notebook instead:`, error));
    },
  };

  const modules = { './extension': () => ({ __esModule: true, default: [plugin] }) };
  window._JUPYTERLAB = window._JUPYTERLAB || {};
  window._JUPYTERLAB[NAME] = {
    init: () => Promise.resolve(),
    get: (module) =>
      module in modules
        ? Promise.resolve(modules[module])
        : Promise.reject(new Error(`expected one of ${Object.keys(modules)}, but got ${module}`)),
  };
})();
