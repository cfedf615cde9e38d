"""Builds the gearspec Python package with CMake (the same build as everything else).

The extension module _gearspec is produced by the project's CMake build (target _gearspec, folder
bindings/); this file only runs that build and puts the module into the wheel.
"""

import os
import pathlib
import shutil
import subprocess
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = pathlib.Path(__file__).resolve().parent


class CMakeBuild(build_ext):
    def build_extension(self, ext):
        build_dir = pathlib.Path(self.build_temp).resolve() / "cmake"
        build_dir.mkdir(parents=True, exist_ok=True)
        subprocess.check_call(["cmake", "-S", str(ROOT), "-B", str(build_dir), "-DCMAKE_BUILD_TYPE=Release",
                               "-DGEARSPEC_BUILD_TESTS=OFF", "-DGEARSPEC_BUILD_PYTHON=ON",
                               "-DPython_EXECUTABLE=" + sys.executable])
        subprocess.check_call(["cmake", "--build", str(build_dir), "--target", "_gearspec",
                               "-j", os.environ.get("GEARSPEC_JOBS", "2")])
        built = next((build_dir / "bindings" / "python" / "gearspec").glob("_gearspec*.so"))
        target = pathlib.Path(self.get_ext_fullpath(ext.name))
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(built, target)


setup(
    packages=["gearspec"],
    package_dir={"": "bindings/python"},
    ext_modules=[Extension("gearspec._gearspec", sources=[])],
    cmdclass={"build_ext": CMakeBuild},
    zip_safe=False,
)
