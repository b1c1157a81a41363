// Add Python 3.12 bytecode to wheels the browser lab serves (book/lite/build.py runs this).
//
//     node book/lite/compile_wheels.mjs SITE_PYODIDE_DIR PRELOAD IMPORTS
//
// SITE_PYODIDE_DIR is the site's static/pyodide, with the runtime, the wheels and the site's lock;
// PRELOAD and IMPORTS are comma-separated: the packages the kernel loads at its start and the
// modules a session imports (the kernel's, the book's). Only the modules these imports load get
// bytecode: it is what a start compiles, and all of it would not fit the lab's size budget.
//
// No wheel the kernel loads carries bytecode, so Pyodide compiled every module of IPython,
// matplotlib, numtorch... from source at each start, in WebAssembly: the largest part of the
// kernel's imports. The bytecode must be that of Pyodide's own CPython, so Pyodide (the pinned
// npm package, run by Node) compiles it. Each wheel keeps its sources (tracebacks show their
// lines) and gains `__pycache__/*.cpython-312.pyc` beside them, unchecked-hash pycs: Python
// loads them without comparing the sources' times, which unpacking in the browser resets.
// Each wheel is rewritten in place; build.py verified it before, and records both digests.
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

const [pyodideDir, preload, imports] = process.argv.slice(2);
const indexURL = path.resolve(pyodideDir) + path.sep;
const { loadPyodide } = await import(pathToFileURL(path.join(indexURL, "pyodide.mjs")));
const pyodide = await loadPyodide({ indexURL, packages: preload.split(",") });
const lock = JSON.parse(readFileSync(path.join(indexURL, "pyodide-lock.json")));
const wheels = Object.values(lock.packages).map((entry) => entry.file_name).filter((name) => name.endsWith(".whl"));
const addBytecode = pyodide.runPython(`
import importlib
import importlib._bootstrap_external as external
import importlib.util
import site
import sys
import zipfile

SITE = site.getsitepackages()[0] + "/"

def imported_files(modules):
    """The files, relative to site-packages, of every module that importing \`modules\` loads."""
    for name in modules:
        importlib.import_module(name)
    files = (getattr(module, "__file__", None) or "" for module in list(sys.modules.values()))
    return {file[len(SITE):] for file in files if file.startswith(SITE) and file.endswith(".py")}

def add_bytecode(source, target, wanted):
    """Copy the wheel source to target with a pyc beside each module in wanted; return how many."""
    compiled = 0
    with zipfile.ZipFile(source) as wheel, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as out:
        for info in wheel.infolist():
            data = wheel.read(info)
            out.writestr(info, data)
            if info.filename not in wanted:
                continue
            folder, _, file = info.filename.rpartition("/")
            pyc = f"{folder}/__pycache__/{file[:-3]}.{sys.implementation.cache_tag}.pyc".lstrip("/")
            # The path the module has once installed: tracebacks name it and read its lines from it.
            code = compile(data, SITE + info.filename, "exec", dont_inherit=True)
            record = zipfile.ZipInfo(pyc, date_time=info.date_time)
            record.compress_type = zipfile.ZIP_DEFLATED
            out.writestr(record, external._code_to_hash_pyc(code, importlib.util.source_hash(data), checked=False))
            compiled += 1
    return compiled

imported_files, add_bytecode
`);
const [importedFiles, addBytecodeTo] = addBytecode;
for (const name of imports.split(",")) {
  await pyodide.loadPackagesFromImports(`import ${name}`, { messageCallback: () => {} });
}
const wanted = importedFiles(pyodide.toPy(imports.split(",")));
let total = 0;
for (const wheel of wheels) {
  pyodide.FS.writeFile("/tmp/in.whl", readFileSync(path.join(indexURL, wheel)));
  total += addBytecodeTo("/tmp/in.whl", "/tmp/out.whl", wanted);
  writeFileSync(path.join(indexURL, wheel), pyodide.FS.readFile("/tmp/out.whl"));
}
console.log(`bytecode added for ${total} modules in ${wheels.length} wheels`);
