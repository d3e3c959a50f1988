"""The native library: loading, version check, and log lines into logging."""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import DEADLINE, ROOT, SRC, make_config

import zkelect
from zkelect import _native


def _import_with(library: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(SRC), ZKELECT_LIBRARY=library)
    return subprocess.run(
        [sys.executable, "-c", "import zkelect"],
        env=env,
        capture_output=True,
        text=True,
        timeout=20,
    )


def test_library_not_found_says_what_was_tried(tmp_path: Path) -> None:
    missing = tmp_path / "libzkelect.so"
    r = _import_with(str(missing))
    assert r.returncode != 0
    assert "LibraryNotFoundError" in r.stderr
    assert str(missing) in r.stderr and "no such file" in r.stderr
    assert "ZKELECT_LIBRARY" in r.stderr and "cargo build --release" in r.stderr


def test_version_matches_crate_and_library() -> None:
    cargo = (ROOT / "Cargo.toml").read_text()
    crate_version = re.search(r'^version = "([^"]+)"', cargo, re.M).group(1)  # type: ignore[union-attr]
    assert zkelect.__version__ == crate_version == zkelect.library_version()


def test_version_mismatch_is_refused() -> None:
    with pytest.raises(zkelect.LibraryVersionError) as info:
        _native.check_version("9.9.9", "/x/libzkelect.so")
    assert "9.9.9" in str(info.value) and zkelect.__version__ in str(info.value)
    assert isinstance(info.value, ImportError)


@pytest.mark.skipif(shutil.which("cc") is None, reason="no C compiler")
def test_library_of_another_version_fails_import(tmp_path: Path) -> None:
    src = tmp_path / "fake.c"
    src.write_text('const char *zkelect_version(void) { return "9.9.9"; }\n')
    lib = tmp_path / "libzkelect.so"
    subprocess.run(["cc", "-shared", "-fPIC", "-o", str(lib), str(src)], check=True)
    r = _import_with(str(lib))
    assert r.returncode != 0
    assert "LibraryVersionError" in r.stderr and "9.9.9" in r.stderr


def test_log_lines_reach_logging_at_debug(peers, caplog) -> None:
    p = peers(make_config(2), 1)  # sid 2 is absent: dialling it fails
    with caplog.at_level(logging.DEBUG, logger="zkelect"):
        p.start()  # syncs the native threshold with the logger
        with pytest.raises(zkelect.ElectionTimeout):
            p.wait_for_leader(1)
        p.close()
    lines = [r for r in caplog.records if r.name == "zkelect"]
    assert any("cannot connect to sid 2" in r.getMessage() for r in lines), lines
    assert all(r.levelno == logging.DEBUG for r in lines if "sid 2" in r.getMessage())


def test_trace_lines_reach_logging(peers, caplog) -> None:
    try:
        with caplog.at_level(logging.DEBUG, logger="zkelect"):
            zkelect.set_log_level("TRACE")
            cfg = make_config(3)
            group = [peers(cfg, sid) for sid in (1, 2, 3)]
            for p in group:
                p.start()
            group[0].wait_for_leader(DEADLINE)
            for p in group:
                p.close()
    finally:
        zkelect.set_log_level(None)
    assert any("notification from sid" in r.getMessage() for r in caplog.records)


def test_set_log_level_rejects_unknown_names() -> None:
    with pytest.raises(ValueError):
        zkelect.set_log_level("LOUD")
