"""Configuration: text or file, and the errors that name what is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import DEADLINE, make_config

import zkelect


def test_bad_config_names_the_line(peers) -> None:
    cfg = make_config(3).replace("initLimit=5", "initLimit=five")
    with pytest.raises(zkelect.ConfigError) as info:
        peers(cfg, 1)
    err = info.value
    assert err.code == 2
    assert "line 2" in str(err) and "initLimit" in str(err)
    assert err.detail and err.detail in str(err)
    assert isinstance(err, ValueError)


def test_unknown_myid_names_the_sid(peers) -> None:
    with pytest.raises(zkelect.ConfigError) as info:
        peers(make_config(3), 7)
    assert "7" in info.value.detail and "server.7" in str(info.value)


def test_myid_from_data_dir(peers, tmp_path: Path) -> None:
    (tmp_path / "myid").write_text("2\n")
    p = peers(make_config(3) + f"dataDir={tmp_path}\n")
    assert p.my_sid == 2


def test_config_from_a_file(peers, tmp_path: Path) -> None:
    path = tmp_path / "zoo.cfg"
    path.write_text(make_config(3))
    by_path = peers(path, 1)
    by_str = peers(str(path), 2)
    assert (by_path.my_sid, by_str.my_sid) == (1, 2)
    by_path.start()
    by_str.start()
    assert by_path.wait_for_leader(DEADLINE).leader == 2


def test_missing_config_file_is_named(peers, tmp_path: Path) -> None:
    missing = tmp_path / "nope.cfg"
    for arg in (missing, str(missing)):
        with pytest.raises(zkelect.ConfigError) as info:
            peers(arg, 1)
        assert str(missing) in str(info.value)


def test_port_in_use_is_a_network_error(peers) -> None:
    cfg = make_config(3) + "electionPortBindRetry=1\n"  # fail at once
    peers(cfg, 1).start()
    with pytest.raises(zkelect.NetworkError) as info:
        peers(cfg, 1).start()
    assert info.value.code == 3 and "127.0.0.1" in str(info.value)
