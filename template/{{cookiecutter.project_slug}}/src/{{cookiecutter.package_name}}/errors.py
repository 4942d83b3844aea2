"""Failures a pipeline step reports in one line; light to import, so every step can."""

from __future__ import annotations


class DataContractError(ValueError):
    """The data broke its contract; the message names every failing column."""


class TrackingServerUnreachableError(RuntimeError):
    """The tracking server did not answer; the message says where we looked."""


class ModelQualityError(ValueError):
    """The model is not fit to register (unstable, or no better than a trivial baseline)."""
