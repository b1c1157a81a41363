"""What requirements.txt pins for a reason other than compatibility."""
import subprocess
import sys


def test_nbformat_and_jupytext_import_without_a_parser_built_at_import():
    # jsonschema 4.25+ imports rfc3987_syntax, which builds its grammar's parser when imported: seconds of CPU in
    # every lab kernel (each lab's first cell reads the saved notebook), JupyterLab and pytest.
    imported = subprocess.run([sys.executable, "-c", "import sys, nbformat, jupytext, jsonschema; "
                               "print(sorted(m for m in sys.modules if m.split('.')[0] in ('rfc3987_syntax', 'lark')))"],
                              capture_output=True, text=True, check=True, timeout=60).stdout.strip()
    assert imported == "[]", f"expected nbformat, jupytext and jsonschema to import no parser, but got {imported}"
