// How fast numtorch trains in the browser lab's Python, by each route its matrix products can take.
//
//     node benchmarks/lite_training.mjs LITE_APP
//
// Pyodide's NumPy has no BLAS, so numtorch multiplies with np.einsum there (src/numtorch/blas.py).
// This times one epoch of the capstone's CNN (book/09_capstone) on random 8x8 images, on the browser
// lab's own Pyodide and numtorch wheel, once with that route and once with np.matmul forced, in
// Node (Chromium's V8). Prints one JSON object: the median seconds of each.
import path from "node:path";
import { pathToFileURL } from "node:url";

const [app] = process.argv.slice(2);
const pyodideDir = path.join(path.resolve(app), "static", "pyodide") + path.sep;
const { loadPyodide } = await import(pathToFileURL(path.join(pyodideDir, "pyodide.mjs")));
const pyodide = await loadPyodide({ indexURL: pyodideDir, stdout: () => {}, stderr: () => {} });
await pyodide.loadPackage(["numpy", "numtorch"], { messageCallback: () => {} });
const result = await pyodide.runPythonAsync(`
import json, statistics, time
import numtorch as torch
import numtorch.blas
import numtorch.nn.functional as F
from numtorch import nn, optim


def model():
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Dropout(0.25), nn.Linear(32 * 2 * 2, 10))


def epoch_seconds(net, opt, images, labels):
    started = time.perf_counter()
    net.train()
    for i in range(0, len(images), 64):
        loss = F.cross_entropy(net(images[i:i + 64]), labels[i:i + 64])
        opt.zero_grad()
        loss.backward()
        opt.step()
    net.eval()
    with torch.no_grad():
        net(images)
    return time.perf_counter() - started


torch.manual_seed(0)
images, labels = torch.randn(1280, 1, 8, 8), torch.randint(0, 10, (1280,))
seconds = {"numpy_has_blas": numtorch.blas.NUMPY_HAS_BLAS}
for route, forced in (("einsum", False), ("matmul", True)):
    numtorch.blas.NUMPY_HAS_BLAS = forced
    net = model()
    opt = optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    epoch_seconds(net, opt, images, labels)  # warm-up
    seconds[route] = statistics.median(epoch_seconds(net, opt, images, labels) for _ in range(3))
json.dumps(seconds)
`);
console.log(result);
