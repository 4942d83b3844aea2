"""Pin the platform's images by digest in a Pulumi stack file, as the image release workflow does.

``python -m mlops_platform.ci.image_digests --stack-file Pulumi.prod.yaml
--image tracking_image=reg.example.com/acme/mlops-platform/mlflow-server:v0.2.0@sha256:<64 hex> …``
sets each ``mlops-platform:<key>:`` line of the stack file to its reference: it replaces the
active line, or uncomments the commented-out one (Pulumi.prod.yaml ships them commented until
a release gives their digests). The edit is line by line, so every comment and the order of
the file stay as they were. Nothing is written unless every reference is pinned by a digest
and every key has a line. Exit codes: 0 written, 1 an input was refused (one line on
stderr), 2 a usage error.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from mlops_platform.argument_parser import OneLineErrorParser

PROJECT = "mlops-platform"  # the Pulumi project name, the prefix of every stack setting
_KEY = re.compile(r"^[a-z][a-z0-9_]*$")
_PINNED = re.compile(r"^[^\s#'\"]+:[A-Za-z0-9_][A-Za-z0-9_.-]*@sha256:[0-9a-f]{64}$")
PLACEHOLDER_DIGEST = "sha256:" + "0" * 64


class DigestError(ValueError):
    """An image assignment or stack file that cannot be used; the message names the fix."""


def parse_assignment(text: str) -> tuple[str, str]:
    """`key=reference` → (key, reference), the reference pinned by tag and digest."""
    key, separator, ref = text.partition("=")
    if not separator or not _KEY.match(key):
        raise DigestError(f"--image {text!r} must look like <key>=<image>:<tag>@sha256:<digest>,"
                          " e.g. tracking_image=reg.example.com/acme/mlops-platform/mlflow-server:"
                          "v0.2.0@sha256:…")
    if not _PINNED.match(ref):
        raise DigestError(f"--image {key}={ref!r} is not pinned: it must end in "
                          ":<tag>@sha256:<64 lowercase hex>, the digest `podman push "
                          "--digestfile` wrote")
    if ref.endswith(PLACEHOLDER_DIGEST):
        raise DigestError(f"--image {key}={ref!r} carries the placeholder digest sha256:000…0, "
                          "which no registry serves; pass the digest of the pushed image")
    return key, ref


def parse_assignments(texts: Sequence[str]) -> dict[str, str]:
    images: dict[str, str] = {}
    for text in texts:
        key, ref = parse_assignment(text)
        if key in images:
            raise DigestError(f"--image {key} is given twice ({images[key]} and {ref}); "
                              "pass each key once")
        images[key] = ref
    return images


def setting_line(key: str) -> re.Pattern[str]:
    """The line of `key`, active or commented out: groups indent, comment mark."""
    return re.compile(rf"^(?P<indent>[ \t]*)(?P<comment>#[ \t]*)?{re.escape(PROJECT)}:"
                      rf"{re.escape(key)}:(?:[ \t].*)?$")


def pin_images(text: str, images: Mapping[str, str], source: str = "the stack file") -> str:
    """`text` with each key's line set to its reference; the active line wins over a comment."""
    lines = text.splitlines(keepends=True)
    for key, ref in images.items():
        matches = [(index, match) for index, line in enumerate(lines)
                   if (match := setting_line(key).match(line.rstrip("\r\n")))]
        if not matches:
            raise DigestError(f"{source} has no {PROJECT}:{key} line, active or commented out; "
                              f"add `  {PROJECT}:{key}: <image>` under `config:` or fix the key")
        active = [(index, match) for index, match in matches if not match["comment"]]
        index, match = (active or matches)[0]
        ending = lines[index][len(lines[index].rstrip("\r\n")):]
        lines[index] = f"{match['indent']}{PROJECT}:{key}: {ref}{ending}"
    return "".join(lines)


def pin_stack_file(path: Path, images: Mapping[str, str]) -> bool:
    """Rewrite the stack file with the images pinned; False when it already pinned them."""
    if not path.is_file():
        raise DigestError(f"stack file {path} does not exist; pass the Pulumi.<stack>.yaml "
                          "to pin, e.g. --stack-file Pulumi.prod.yaml")
    before = path.read_text()
    after = pin_images(before, images, source=str(path))
    if after != before:
        path.write_text(after)
    return after != before


def build_parser() -> OneLineErrorParser:
    parser = OneLineErrorParser(prog="image_digests", description=__doc__.splitlines()[0])
    parser.add_argument("--stack-file", type=Path, required=True,
                        help="the Pulumi.<stack>.yaml to edit")
    parser.add_argument("--image", action="append", required=True, metavar="KEY=REF",
                        help="a stack image key and its reference pinned by digest (repeat)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        images = parse_assignments(args.image)
        changed = pin_stack_file(args.stack_file, images)
    except DigestError as err:
        print(f"image_digests: error: {err}", file=sys.stderr)
        return 1
    verb = "pinned" if changed else "already pinned"
    for key, ref in images.items():
        print(f"{verb} {PROJECT}:{key} = {ref} in {args.stack_file}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
