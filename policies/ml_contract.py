"""Names shared by generated projects, the promotion gate and the governance checker.

A generated project writes these tags and ``params.yaml`` keys; the gate and the
checker read them. Keeping them here, in the pinned platform package the project
depends on, is what stops the two sides drifting apart.
"""

from __future__ import annotations

# Tags on every training run (and copied to the model version it registers).
TAG_GIT_COMMIT = "lineage.git_commit"
TAG_DATA_HASH = "lineage.data_hash"  # DVC md5 of the prepared data set
TAG_DATASET = "lineage.dataset"
TAG_PARAMS_HASH = "lineage.params_hash"
TAG_DATA_VALIDATION = "lineage.data_validation"  # "passed" once the data contract held
TAG_MATURITY_LEVEL = "governance.maturity_level"
LINEAGE_TAGS = (TAG_GIT_COMMIT, TAG_DATA_HASH, TAG_DATASET, TAG_PARAMS_HASH, TAG_DATA_VALIDATION)

# Tags on a model version.
TAG_RUN_ID = "lineage.run_id"
TAG_APPROVED_BY = "approval.approved_by"
TAG_APPROVED_AT = "approval.approved_at"

# Registry aliases: new versions become the challenger; only the gate moves the champion.
ALIAS_CHALLENGER = "challenger"
ALIAS_CHAMPION = "champion"

# Artifact path of the model card inside the training run.
MODEL_CARD_ARTIFACT = "model_card.md"

# params.yaml keys the gate and the checker read (dotted paths).
PARAM_MATURITY_LEVEL = "project.maturity_level"
PARAM_MODEL_NAME = "model.name"
PARAM_PRIMARY_METRIC = "promotion.primary_metric"
PARAM_THRESHOLD = "promotion.threshold"
PARAM_TOLERANCE = "promotion.tolerance"
PARAM_HIGHER_IS_BETTER = "promotion.higher_is_better"

# Audit record of the promotion gate's last decision, as tags on the model version.
TAG_PROMOTION_OUTCOME = "governance.promotion.outcome"  # "promoted" or "refused"
TAG_PROMOTION_DECIDED_BY = "governance.promotion.decided_by"
TAG_PROMOTION_DECIDED_AT = "governance.promotion.decided_at"
TAG_PROMOTION_REASONS = "governance.promotion.reasons"
TAG_PROMOTION_PREVIOUS_CHAMPION = "governance.promotion.previous_champion"
# Value of TAG_DATA_VALIDATION once the data contract held.
DATA_VALIDATION_PASSED = "passed"
# Where a project keeps the JSON-lines audit log of gate decisions and approvals (committed).
AUDIT_LOG_FILE = "governance/audit.jsonl"
