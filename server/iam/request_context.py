"""The condition keys that come from stored facts about a request: who the principal is
and what they are tagged with, the tags of the resource, and the tags a request sets.

Condition key names are case-insensitive in IAM, the tag key part included
(aws:PrincipalTag/Team and aws:principaltag/team are one key), so every key is
lower-cased here; values keep their case, and each operator compares them as it says.

    principal_keys("AIDA...", [("Team", "ds")])
        -> {"aws:userid": "AIDA...", "aws:principaltag/team": "ds"}
    resource_keys([("team", "ds")])
        -> {"aws:resourcetag/team": "ds", "sagemaker:resourcetag/team": "ds"}
    request_keys([("team", "ds")])
        -> {"aws:requesttag/team": "ds", "aws:tagkeys": ("team",)}
"""

from __future__ import annotations

from collections.abc import Iterable

from nbpresign.server.iam.variables import Value

Tags = Iterable[tuple[str, str]]

RESOURCE_TAG_PREFIXES = ("aws:resourcetag/", "sagemaker:resourcetag/")


def _tagged(prefix: str, tags: Tags) -> dict[str, Value]:
    return {prefix + key.lower(): value for key, value in tags}


def principal_keys(user_id: str, tags: Tags) -> dict[str, Value]:
    return {"aws:userid": user_id, **_tagged("aws:principaltag/", tags)}


def resource_keys(tags: Tags) -> dict[str, Value]:
    listed = list(tags)
    return {k: v for prefix in RESOURCE_TAG_PREFIXES for k, v in _tagged(prefix, listed).items()}


def request_keys(tags: Tags) -> dict[str, Value]:
    listed = list(tags)
    return {**_tagged("aws:requesttag/", listed), "aws:tagkeys": tuple(k for k, _ in listed)}
