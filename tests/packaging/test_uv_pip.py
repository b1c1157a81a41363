""".ci/uv-pip, through which uv fills the venv: uv gets the package sources pip is configured with, or nothing
is installed."""
import runpy
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

ROOT = Path(__file__).resolve().parents[2]
uv_pip = SimpleNamespace(**runpy.run_path(str(ROOT / ".ci" / "uv-pip")))


def test_pips_sources_and_limits_become_uvs_and_the_best_version_of_any_source_wins():
    env = uv_pip.uv_environment({
        "index-url": "https://mirror.invalid/simple", "extra-index-url": "file:///opt/a/simple\nfile:///opt/b/simple",
        "find-links": "/opt/wheels /srv/wheels", "constraint": "/etc/pip/constraints.txt", "cert": "/etc/ca.pem",
        "proxy": "http://proxy.invalid:3128", "disable-pip-version-check": "1"})
    assert env == {"UV_INDEX_STRATEGY": "unsafe-best-match", "UV_DEFAULT_INDEX": "https://mirror.invalid/simple",
                   "UV_INDEX": "file:///opt/a/simple file:///opt/b/simple", "UV_FIND_LINKS": "/opt/wheels,/srv/wheels",
                   "UV_CONSTRAINT": "/etc/pip/constraints.txt", "SSL_CERT_FILE": "/etc/ca.pem",
                   "ALL_PROXY": "http://proxy.invalid:3128"}


def test_a_pip_setting_uv_would_not_follow_stops_the_install_naming_it():
    with pytest.raises(SystemExit) as stopped:
        uv_pip.uv_environment({"find-links": "/opt/wheels", "only-binary": ":all:", "require-hashes": "1"})
    assert "but got only-binary, require-hashes" in str(stopped.value)


def test_pip_settings_are_read_as_pip_resolves_them_a_variable_over_a_file(tmp_path, monkeypatch):
    config = tmp_path / "pip.conf"
    config.write_text("[global]\nindex-url = https://first.invalid/simple\n[install]\nfind-links = /srv/wheels\n"
                      "[download]\nno-index = yes\n")
    monkeypatch.setenv("PIP_CONFIG_FILE", str(config))
    monkeypatch.setenv("PIP_INDEX_URL", "https://second.invalid/simple")
    monkeypatch.delenv("PIP_FIND_LINKS", raising=False)
    settings = uv_pip.pip_settings(sys.executable)
    assert settings["index-url"] == "https://second.invalid/simple"
    assert settings["find-links"] == "/srv/wheels"
    assert "no-index" not in settings  # a setting of `pip download`, not of `pip install`
