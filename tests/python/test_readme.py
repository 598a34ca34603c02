"""The README as a newcomer follows it: the prerequisites it states match the build, every sandbox bank
is listed, and its Python blocks define what they use."""

import re
import shutil
import subprocess

import pytest

import harness

README = (harness.REPO / "README.md").read_text()


def python_blocks():
    return re.findall(r"```python\n(.*?)```", README, re.S)


def test_the_stated_minimum_rust_is_cargo_toml_rust_version():
    version = re.search(r'^rust-version = "([\d.]+)"', (harness.REPO / "Cargo.toml").read_text(), re.M).group(1)
    assert f"Rust {version} or newer" in README


def test_build_and_test_prerequisites_are_stated():
    for needed in ("build-essential", "pkg-config", "libssl-dev", "python3-venv", "postgresql"):
        assert needed in README, needed


def test_every_sandbox_bank_is_listed():
    catalogue = (harness.REPO / "src" / "sandbox" / "data.rs").read_text()
    codes = re.findall(r'provider\(\s*\d+,\s*"([a-z0-9_]+)"', catalogue)
    assert len(codes) >= 5, codes
    missing = [code for code in codes if f"`{code}`" not in README]
    assert not missing, missing


def test_the_offline_flow_defines_key_before_using_it():
    offline = next(block for block in python_blocks() if "action_new_synchronization" in block)
    defined = re.search(r"^KEY = ", offline, re.M)
    used = offline.find("KEY", offline.find("KEY =") + 1 if defined else 0)
    assert defined and defined.start() < used, offline


@pytest.mark.skipif(not shutil.which("ldd"), reason="no ldd")
def test_the_binary_needs_no_system_libpq():
    linked = subprocess.run(["ldd", harness.binary()], capture_output=True, text=True, check=True).stdout
    assert "libpq" not in linked, linked
