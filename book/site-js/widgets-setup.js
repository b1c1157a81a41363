// Loaded on pages with widgets, after RequireJS and before the ipywidgets embed manager
// (see nb_ipywidgets_js in _config.yml). Two things the manager assumes that this site
// does not give it:

// 1. It finds its icon fonts next to the AMD module it names
//    "@jupyter-widgets/html-manager/dist/...", which RequireJS resolves against the page's
//    folder. The files are served from npm/html-manager/ beside this script.
require.config({
  paths: {
    "@jupyter-widgets/html-manager/dist": new URL("npm/html-manager", document.currentScript.src).href,
  },
});

// 2. It typesets widget labels through MathJax 2's MathJax.Hub.Queue; the site loads
//    MathJax 3. MathJax's deferred script has run by DOMContentLoaded, and the manager
//    renders later, on "load". (Live code, live-code.js, loads this file after the page
//    has loaded, when a page without widgets first shows one.)
function addMathJaxHub() {
  const mathjax = window.MathJax;
  if (mathjax && !mathjax.Hub) {
    mathjax.Hub = {
      Queue: ([, , element]) => mathjax.startup?.promise.then(() => mathjax.typesetPromise([element])),
    };
  }
}
if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", addMathJaxHub);
} else {
  addMathJaxHub();
}
