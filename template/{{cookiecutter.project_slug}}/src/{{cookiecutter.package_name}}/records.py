"""The files the stages leave behind: the record of what each one did (committed to git)."""

from __future__ import annotations

from pathlib import Path

VALIDATION_FILE = Path("reports/validation.json")
TUNING_FILE = Path("reports/tuning.json")
RUN_FILE = Path("models/run.json")
METRICS_FILE = Path("reports/metrics.json")
MODEL_CARD_FILE = Path("reports/model_card.md")
REGISTRATION_FILE = Path("reports/registration.json")
PROMOTION_FILE = Path("reports/promotion.json")
