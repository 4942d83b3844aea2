"""The template's cookiecutter extension: a refused bake ends with the hook's own lines.

The pre-generation hook prints one line per bad variable and exits 1. Cookiecutter then
logs "Stopping generation because pre_gen_project hook script didn't exit successfully"
with a traceback of its own hook runner, which says nothing more and buries those
lines; this drops that record. Cookiecutter still prints "Hook script failed (exit
status: 1)" and exits 1. Cookiecutter imports this module in its own process (named in
`_extensions` of cookiecutter.json): standard library and Jinja only.
"""

from __future__ import annotations

import logging

from jinja2 import Environment
from jinja2.ext import Extension

HOOK_LOGGER = "cookiecutter.hooks"
PRE_GENERATION_HOOK = "pre_gen_project"


class _DropPreGenerationTraceback(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and PRE_GENERATION_HOOK in record.getMessage())


class QuietPreGenerationFailure(Extension):
    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        logger = logging.getLogger(HOOK_LOGGER)
        if not any(isinstance(each, _DropPreGenerationTraceback) for each in logger.filters):
            logger.addFilter(_DropPreGenerationTraceback())
