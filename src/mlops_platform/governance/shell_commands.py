"""What a shell line really runs: its commands whose failure fails the line, less those that
only describe work (dry runs, help, version, listing).

The checker reads Makefile recipes (``probes``) and CI steps (``ci_config``) through this
module, so that a project that wants to look mature cannot keep a control with a command that
cannot fail (``|| echo``, ``; true``, a pipe into another command) or that does nothing
(``make -n``, ``pytest --collect-only``, ``dvc repro --dry``, ``--help``), in any spelling
the shell accepts. Make runs each recipe line with ``sh -c`` (the last command's status is the
line's); CI runners run their scripts with ``errexit`` and ``pipefail`` (any failure fails the
step), so there only ``||`` hides a failure.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

OPERATORS = {"&&", "||", ";", "|", "&", "|&", ";;"}
GROUPING = {"(", ")", "{", "}"}
# Programs that do nothing a target promises.
NO_OPS = {"echo", "true", ":", "printf", "exit", "test", "[", "sleep", "cat", "false"}
# Flags with which a program describes the work instead of doing it.
INERT_FLAGS = {"--help", "-h", "--version", "--collect-only", "--co", "--dry", "--dry-run",
               "--dryrun", "--just-print", "--recon", "--what-if", "--list", "--setup-plan",
               "--setup-only", "--noop", "--no-op", "--question", "--touch"}
# make's short flags that print, question or touch instead of running (-n, -q, -t), alone
# or among others (-sn).
MAKE_INERT_SHORT = re.compile(r"^-[A-Za-z]*[nqt][A-Za-z]*$")
Command = tuple[list[str], str]  # its words and the operator after it ("" at the end)


def commands_with_operators(line: str) -> list[Command]:
    """The line's simple commands, each with the operator that follows it."""
    try:
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        words = list(lexer)
    except ValueError:
        return []
    commands: list[Command] = []
    current: list[str] = []
    for word in words:
        if word in OPERATORS:
            commands.append((current, word))
            current = []
        elif word not in GROUPING:
            current.append(word)
    commands.append((current, ""))
    return [(words, operator) for words, operator in commands if words]


def program_and_arguments(command: list[str]) -> list[str]:
    """The program's name and its arguments: env assignments and ``python -m`` read through,
    so ``X=1 .venv/bin/python -m dvc repro`` is ``dvc repro``."""
    while command and "=" in command[0] and not command[0].startswith(("-", "/", ".")):
        command = command[1:]
    if not command:
        return []
    program = Path(command[0]).name
    if program.startswith("python") and len(command) > 2 and command[1] == "-m":
        return [command[2], *command[3:]]
    return [program, *command[1:]]


def inert(command: list[str]) -> bool:
    """A no-op program, or one asked only to describe what it would do."""
    program, arguments = command[0], command[1:]
    if program in NO_OPS or any(argument in INERT_FLAGS for argument in arguments):
        return True
    return program == "make" and any(MAKE_INERT_SHORT.match(argument)
                                     for argument in arguments)


def _handler_fails(commands: list[Command]) -> bool:
    """Whether what follows ``||`` ends the line in failure for sure: it reaches ``false`` or
    ``exit N`` with N > 0 (a group ``{ echo ...; exit 1; }`` included)."""
    for words, _ in commands:
        command = program_and_arguments(words)
        if command[:1] == ["false"] or (command[:1] == ["exit"] and command[1:2] not in
                                        ([], ["0"])):
            return True
    return False


def fails_the_line(index: int, commands: list[Command], errexit: bool) -> bool:
    """Whether the command at ``index`` failing makes the whole line fail."""
    position = index
    while True:
        operator = commands[position][1]
        if operator == "":
            return True
        if operator == "&&":
            position += 1
            continue
        if operator == "||":
            return _handler_fails(commands[position + 1:])
        # `;` and `|`: the line's status is a later command's, unless the shell stops at
        # the first failure (errexit, pipefail); `&` never waits for it.
        return errexit and operator in (";", "|", "|&")


def effective_calls(line: str, errexit: bool = False) -> list[list[str]]:
    """The commands of ``line`` (program first) that do work and whose failure fails it."""
    commands = commands_with_operators(line)
    calls = []
    for index, (words, _) in enumerate(commands):
        command = program_and_arguments(words)
        if command and not inert(command) and fails_the_line(index, commands, errexit):
            calls.append(command)
    return calls
