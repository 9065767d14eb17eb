"""Builds nbprov's one C extension, ``nbprov._points`` (the hot path of ``log_metric``), in place
beside its source, so that the editable install of a checkout and the wheel both carry it; the
wheel is then tagged for this interpreter and platform."""

from __future__ import annotations

import os
import warnings
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

EXTENSION = "nbprov._points"


class PointsExtensionHook(BuildHookInterface):
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel":
            return
        here = os.getcwd()
        os.chdir(self.root)  # setuptools resolves the source and the in-place output from here
        try:
            with warnings.catch_warnings():
                # setuptools' commands warn that setup.py is deprecated; no setup.py runs here.
                warnings.filterwarnings("ignore", message="setup.py install is deprecated")
                built = _build_in_place()
        finally:
            os.chdir(here)
        build_data["pure_python"] = False
        build_data["infer_tag"] = True
        build_data["artifacts"].append(os.path.relpath(built, self.root).replace(os.sep, "/"))


def _build_in_place() -> str:
    from setuptools import Distribution, Extension

    source = os.path.join(*EXTENSION.split(".")) + ".c"
    distribution = Distribution({"name": "nbprov", "ext_modules": [Extension(EXTENSION, [source])]})
    build_ext = distribution.get_command_obj("build_ext")
    build_ext.inplace = True
    build_ext.build_temp = os.path.join("build", "temp")
    build_ext.ensure_finalized()
    build_ext.run()
    return os.path.abspath(build_ext.get_ext_fullpath(EXTENSION))
