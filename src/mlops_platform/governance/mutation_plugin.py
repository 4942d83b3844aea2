"""A pytest plugin that breaks one function in memory while a project's tests run: the
governance checker's mutation probe (``checks.mutant_killed``).

``MLOPS_MUTANT=<module>:<function>``: once the module is imported, the function's code is
replaced by one that returns None, for every reference to it (``from m import f`` shares the
function object). The source files stay as they are, so a test that only pins their hashes,
or reads them in any other way, cannot tell the mutant from the original: only a test that
calls the function and checks what it does fails.

Standard library only: the checker copies this file beside the project's tests (as
``mlops_mutation``) and loads it with ``pytest -p mlops_mutation`` in the project's own
environment, whatever platform version that environment holds.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import os
import sys
from types import ModuleType

MUTANT_ENV = "MLOPS_MUTANT"
MODULE, _, FUNCTION = os.environ.get(MUTANT_ENV, "").partition(":")


def _broken(*args: object, **kwargs: object) -> None:
    return None


def _break(module: ModuleType) -> None:
    function = getattr(module, FUNCTION, None)
    code = getattr(function, "__code__", None)
    if code is not None and not code.co_freevars:  # a closure's code cannot be swapped
        function.__code__ = _broken.__code__


class _BreakOnImport(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name != MODULE:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None:
            return spec
        execute = spec.loader.exec_module

        def exec_module(module: ModuleType) -> None:
            execute(module)
            _break(module)

        spec.loader.exec_module = exec_module
        return spec


if MODULE and FUNCTION:
    if MODULE in sys.modules:
        _break(sys.modules[MODULE])
    else:
        sys.meta_path.insert(0, _BreakOnImport())
