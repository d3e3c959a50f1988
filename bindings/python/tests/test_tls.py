"""Quorum TLS from Python: the zoo.cfg text alone turns it on (no new API)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import DEADLINE, make_config

import zkelect


def tls_lines(key: Path, trust: Path) -> str:
    return (
        "sslQuorum=true\n"
        f"ssl.quorum.keyStore.location={key}\n"
        "ssl.quorum.keyStore.type=PEM\n"
        f"ssl.quorum.trustStore.location={trust}\n"
        "ssl.quorum.trustStore.type=PEM\n"
    )


def test_missing_key_store_names_the_key_and_the_file(peers, tmp_path: Path) -> None:
    missing = tmp_path / "nope.pem"
    p = peers(make_config(3) + tls_lines(missing, tmp_path / "ca.pem"), 1)
    with pytest.raises(zkelect.ConfigError) as info:
        p.start()
    assert "ssl.quorum.keyStore.location" in str(info.value)
    assert str(missing) in str(info.value)


def make_certs(d: Path) -> tuple:
    """A CA and one certificate for 127.0.0.1, made with the openssl CLI."""

    def run(*args: str) -> None:
        subprocess.run(args, cwd=d, check=True, capture_output=True)

    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    run("openssl", "req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
        "-subj", "/CN=test CA")
    run("openssl", "req", *ec, "-keyout", "peer.key", "-out", "peer.csr", "-subj", "/CN=peer")
    (d / "ext").write_text(
        "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n"
    )
    run("openssl", "x509", "-req", "-in", "peer.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", "peer.crt", "-days", "2", "-extfile", "ext")
    (d / "peer.pem").write_text((d / "peer.key").read_text() + (d / "peer.crt").read_text())
    return d / "peer.pem", d / "ca.pem"


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl CLI")
def test_a_tls_ensemble_elects(peers, tmp_path: Path) -> None:
    key, trust = make_certs(tmp_path)
    cfg = make_config(3) + tls_lines(key, trust)
    group = [peers(cfg, sid) for sid in (1, 2, 3)]
    for p in group:
        p.start()
    leaders = {p.wait_for_leader(DEADLINE).leader for p in group}
    assert len(leaders) == 1
