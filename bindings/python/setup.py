"""Build hook: ships the Rust library libzkelect.so inside the package.

The library comes from, in order: ``$ZKELECT_LIBRARY``; the repository's
``target/release/libzkelect.so`` (``$CARGO_TARGET_DIR/release`` if set);
else ``cargo build --release`` is run at the repository root (two
directories above this file) to make it. The wheel
is tagged for this platform (``py3-none-<platform>``): it holds native code
but no CPython extension, so any Python 3 can use it.
"""

import os
import shutil
import subprocess
from pathlib import Path

from setuptools import Distribution, setup
from setuptools.command.build_py import build_py
from setuptools.command.egg_info import egg_info

try:
    from setuptools.command.bdist_wheel import bdist_wheel
except ImportError:  # setuptools < 70.1
    from wheel.bdist_wheel import bdist_wheel

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
LIB = "libzkelect.so"


def native_library() -> Path:
    """The libzkelect.so to ship, building it with cargo if needed."""
    env = os.environ.get("ZKELECT_LIBRARY")
    if env:
        if not Path(env).is_file():
            raise SystemExit(f"ZKELECT_LIBRARY={env}: no such file")
        return Path(env)
    target_dir = Path(os.environ.get("CARGO_TARGET_DIR") or ROOT / "target")
    built = target_dir / "release" / LIB
    if not built.is_file():
        if not (ROOT / "Cargo.toml").is_file():
            raise SystemExit(
                f"{built} is missing and {ROOT} is not the zkelect repository: "
                f"build from a checkout, or set ZKELECT_LIBRARY to a built {LIB}"
            )
        cargo = shutil.which("cargo")
        if cargo is None:
            raise SystemExit(f"{built} is missing and cargo is not installed (https://rustup.rs)")
        print(f"running cargo build --release in {ROOT}")
        subprocess.run([cargo, "build", "--release"], cwd=ROOT, check=True)
    return built


class BuildWithLibrary(build_py):
    """build_py that also copies libzkelect.so into the built package."""

    def run(self) -> None:
        super().run()
        target = Path(self.build_lib) / "zkelect" / LIB
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(native_library(), target)
        target.chmod(0o755)


class EggInfoInBuild(egg_info):
    """Writes zkelect.egg-info under build/ (ignored), not into src/."""

    def initialize_options(self) -> None:
        super().initialize_options()
        base = HERE / "build"
        base.mkdir(exist_ok=True)
        self.egg_base = os.path.relpath(base, Path.cwd())


class NativeDistribution(Distribution):
    """Holds native code: installs to platlib, and the wheel is not pure."""

    def has_ext_modules(self) -> bool:
        return True


class PlatformWheel(bdist_wheel):
    """A wheel tagged py3-none-<platform>: native code, no CPython ABI."""

    def get_tag(self):  # type: ignore[no-untyped-def]
        _, _, plat = super().get_tag()
        return "py3", "none", plat


setup(
    distclass=NativeDistribution,
    cmdclass={
        "build_py": BuildWithLibrary,
        "bdist_wheel": PlatformWheel,
        "egg_info": EggInfoInBuild,
    },
)
