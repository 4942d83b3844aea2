"""Online features by entity key, for the model server of a project with a feature store.

A table request whose rows carry only the entity key (``{"dataframe_records": [{"row_id":
7}]}``) gets each row's features from Feast's feature server (``feast serve``'s ``POST
/get-online-features``, asked for the project's feature service) before the data contract and
the model see it; any other request is left as it is. Standard library and aiohttp only: it
runs in MLServer's environment (``serving_runtime``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# Feast's statuses of a value the online store does not hold for the key.
ABSENT = ("NOT_FOUND", "OUTSIDE_MAX_AGE")
MAX_KEYS_NAMED = 10


class MissingFeaturesError(ValueError):
    """Keys the online store holds no features for (the client's to fix: a 404-like 400)."""


class FeatureServerError(RuntimeError):
    """The feature server did not answer as Feast's does."""


@dataclass(frozen=True)
class OnlineFeatures:
    url: str
    feature_service: str
    entity_key: str
    timeout_seconds: float = 5.0

    @classmethod
    def from_setting(cls, setting: dict[str, Any]) -> OnlineFeatures:
        return cls(setting["url"].rstrip("/"), setting["feature_service"], setting["entity_key"],
                   float(setting.get("timeout_seconds", 5.0)))

    def keys_only(self, rows: list) -> list | None:
        """The rows' keys when every row carries the entity key and nothing else, else None."""
        if rows and all(isinstance(row, dict) and row.keys() == {self.entity_key}
                        for row in rows):
            return [row[self.entity_key] for row in rows]
        return None

    def request_body(self, keys: list) -> dict[str, Any]:
        return {"feature_service": self.feature_service, "entities": {self.entity_key: keys},
                "full_feature_names": False}

    def rows_of(self, answer: dict[str, Any], keys: list) -> list[dict[str, Any]]:
        """One row of features per key, from Feast's column-wise answer."""
        try:
            names = answer["metadata"]["feature_names"]
            columns = dict(zip(names, answer["results"], strict=True))
        except (KeyError, TypeError, ValueError) as error:
            raise FeatureServerError(f"the feature server's answer is not Feast's: {error}") \
                from error
        features = [name for name in names if name != self.entity_key]
        missing = [key for index, key in enumerate(keys)
                   if any(columns[name]["statuses"][index] in ABSENT for name in features)]
        if missing:
            raise MissingFeaturesError(
                f"the online store holds no features for {self.entity_key} "
                f"{missing[:MAX_KEYS_NAMED]}{' ...' if len(missing) > MAX_KEYS_NAMED else ''}: "
                "send keys it knows, or the features themselves (materialise new rows with "
                "`make pipeline`)")
        return [{name: columns[name]["values"][index] for name in features}
                for index in range(len(keys))]

    async def fetch(self, keys: list) -> list[dict[str, Any]]:
        import aiohttp

        endpoint = f"{self.url}/get-online-features"
        try:
            async with aiohttp.ClientSession(
                    timeout=aiohttp.ClientTimeout(total=self.timeout_seconds)) as session, \
                    session.post(endpoint, json=self.request_body(keys)) as response:
                if response.status != 200:
                    raise FeatureServerError(f"{endpoint} answered {response.status}: "
                                             f"{(await response.text())[:300]}")
                answer = await response.json()
        except (aiohttp.ClientError, TimeoutError) as error:
            raise FeatureServerError(f"{endpoint} did not answer: {error!r}") from error
        return self.rows_of(answer, keys)
