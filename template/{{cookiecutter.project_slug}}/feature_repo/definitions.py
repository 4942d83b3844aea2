"""What the feature store holds (`make pipeline` applies it): one entity, the row, and one
feature view over the prepared data, typed by the data contract; the feature service is what
the model reads, in training (point in time) and in serving (online, by key)."""

from pathlib import Path

import yaml
from feast import Entity, FeatureService, FeatureView, FileSource, ValueType
from mlops_platform.api import feature_store

CONTRACT = yaml.safe_load((Path(__file__).parent.parent / "data_contract.yaml").read_text())

row = Entity(name="row", join_keys=[feature_store.ENTITY_KEY], value_type=ValueType.INT64,
             description="one prepared row of the data set")

prepared_rows = FileSource(
    name="prepared_rows",
    path=str(Path("..") / feature_store.SOURCE_FILE),
    timestamp_field=feature_store.EVENT_TIMESTAMP,
)

features = FeatureView(
    name=feature_store.FEATURE_VIEW,
    entities=[row],
    schema=feature_store.feature_fields(CONTRACT),
    source=prepared_rows,
    online=True,
)

model_features = FeatureService(name=feature_store.FEATURE_SERVICE, features=[features])
