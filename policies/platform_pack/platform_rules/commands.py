"""What a container runs, read the way a shell would.

A server can be started as `mlflow server`, inside `sh -c "… && exec mlflow server"`,
as `python -m mlflow server`, from `/opt/venv/bin/mlflow`, after a launcher's `--`, or by
pointing a web server at MLflow's app. The rules ask for the commands a container runs, with
scripts split into their commands and wrappers (shells, `exec`, `env`, variable
assignments, `python -m`) taken off, so every spelling reads the same.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator, Mapping
from typing import Any

from .kubernetes import command_line, dig, items

SEPARATORS = {";", "&&", "||", "|", "&", ";;"}
SHELLS = {"sh", "bash", "dash", "ash", "zsh", "ksh", "busybox"}
PREFIXES = {"exec", "env", "nohup", "time", "command", "tini", "dumb-init", "--"}
ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
PYTHON = re.compile(r"^python[0-9.]*$")
# Where else a container runs commands: exec probes and lifecycle hooks.
EXEC_HANDLERS = (("readinessProbe",), ("livenessProbe",), ("startupProbe",),
                 ("lifecycle", "postStart"), ("lifecycle", "preStop"))


def words(container: Mapping[str, Any]) -> list[str]:
    """Command and args, with every script word split into its shell words and separators."""
    return [word for raw in command_line(container) for word in shell_words(raw)]


def exec_words(container: Mapping[str, Any]) -> list[list[str]]:
    """The words of every exec probe and lifecycle hook of a container."""
    handlers = (dig(container, *path, "exec", "command") for path in EXEC_HANDLERS)
    return [[word for raw in items(handler) for word in shell_words(str(raw))]
            for handler in handlers if items(handler)]


def shell_words(word: str) -> list[str]:
    if not any(character.isspace() for character in word):
        return [word]
    split: list[str] = []
    for line in word.splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|")
        lexer.whitespace_split = True
        try:
            split += [*lexer, ";"]
        except ValueError:  # unbalanced quotes: read it as plain words
            split += [*line.split(), ";"]
    return split


def invocations(container: Mapping[str, Any]) -> Iterator[list[str]]:
    """Each command the container runs: program (a bare name) first, then its arguments.

    A launcher that runs the command after its `--` (`timeout 60 -- mlflow server`, the
    platform's `python -m mlops_platform.monitoring.tracking_server … -- mlflow server`)
    runs that command too: both are yielded.
    """
    current: list[str] = []
    for word in [*words(container), ";"]:
        if word not in SEPARATORS:
            current.append(word)
            continue
        while current:
            invocation = _unwrapped(current)
            if invocation:
                yield invocation
            current = invocation[invocation.index("--") + 1:] if "--" in invocation else []


def _unwrapped(invocation: list[str]) -> list[str]:
    rest = list(invocation)
    while rest:
        program = program_name(rest[0])
        if ASSIGNMENT.match(rest[0]):
            rest = rest[1:]
        elif program in PREFIXES or program in SHELLS:
            rest = _after_options(rest[1:])
        elif PYTHON.match(program) and "-m" in rest:
            rest = rest[rest.index("-m") + 1:]
        else:
            break
    return [program_name(rest[0]), *rest[1:]] if rest else []


def _after_options(rest: list[str]) -> list[str]:
    while rest and rest[0].startswith("-"):
        rest = rest[1:]
    return rest


def program_name(word: str) -> str:
    return word.rsplit("/", 1)[-1]


def subcommand(invocation: list[str], depth: int = 1) -> list[str]:
    """The first `depth` words after the program that are not options."""
    return [word for word in invocation[1:] if not word.startswith("-")][:depth]


def option(invocation: list[str], *names: str) -> str | None:
    """The value of an option (`--name value` or `--name=value`); the last one given wins."""
    found = None
    for index, word in enumerate(invocation):
        for name in names:
            if word == name and index + 1 < len(invocation):
                found = invocation[index + 1]
            elif word.startswith(name + "="):
                found = word.split("=", 1)[1]
    return found
