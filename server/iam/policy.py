"""Policy documents: parsed and checked whole when attached, evaluated on every call.

    parse('{"Version": "2012-10-17", "Statement": [...]}') -> Policy
    evaluate([policy, ...], "sagemaker:CreatePresignedNotebookInstanceUrl", arn, context)
        -> Decision.ALLOW | Decision.EXPLICIT_DENY | Decision.IMPLICIT_DENY

An explicit Deny in any statement of any policy wins; nothing allowed means denied.
A document this module does not fully understand is refused by `parse`, with the path
of the problem, so nothing is stored half-understood.

`context` maps lower-cased condition keys to one value or a tuple of values (aws:TagKeys).
Under "Version": "2012-10-17", Resource, NotResource and the values of the String and Arn
condition operators may hold policy variables (iam.variables).
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from nbpresign.server.iam import conditions
from nbpresign.server.iam import variables as variables_module
from nbpresign.server.iam.conditions import OperatorName
from nbpresign.server.iam.variables import Context, Template
from nbpresign.server.iam.wildcards import matches

VERSIONS = ("2012-10-17", "2008-10-17")
VARIABLES_VERSION = "2012-10-17"  # as in IAM, older documents read `${...}` as text
DOCUMENT_KEYS = {"Version", "Id", "Statement"}
STATEMENT_KEYS = {"Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Condition"}
ACTION_PATTERN = re.compile(r"\*|[A-Za-z0-9-]+:[A-Za-z0-9*?]+")


class PolicyError(ValueError):
    """A document that is not a policy this service can enforce; says where and why."""


class Decision(enum.Enum):
    ALLOW = "allow"
    EXPLICIT_DENY = "explicit deny"
    IMPLICIT_DENY = "implicit deny"


@dataclass(frozen=True)
class Condition:
    operator: OperatorName
    key: str  # lower-cased: condition keys ignore case, a tag key in them too
    values: tuple[Template, ...]

    def holds(self, context: Context) -> bool:
        return conditions.holds(self.operator, self.key, self.values, context)


def _resource_matches(template: Template, resource: str, context: Context) -> bool:
    pattern = template.pattern(context)
    return pattern is not None and pattern.fullmatch(resource) is not None


@dataclass(frozen=True)
class Statement:
    effect: str
    actions: tuple[str, ...]
    actions_negated: bool  # NotAction
    resources: tuple[Template, ...]
    resources_negated: bool  # NotResource
    conditions: tuple[Condition, ...]

    def applies(self, action: str, resource: str, context: Context) -> bool:
        action_hit = any(matches(p, action, ignore_case=True) for p in self.actions)
        if action_hit == self.actions_negated:
            return False
        resource_hit = any(_resource_matches(t, resource, context) for t in self.resources)
        return resource_hit != self.resources_negated and all(
            c.holds(context) for c in self.conditions
        )


@dataclass(frozen=True)
class Policy:
    statements: tuple[Statement, ...]


def evaluate(policies: Iterable[Policy], action: str, resource: str, context: Context) -> Decision:
    """`context` maps lower-cased condition keys (aws:sourceip, ...) to their values."""
    allowed = False
    for policy in policies:
        for statement in policy.statements:
            if statement.applies(action, resource, context):
                if statement.effect == "Deny":
                    return Decision.EXPLICIT_DENY
                allowed = True
    return Decision.ALLOW if allowed else Decision.IMPLICIT_DENY


def parse(document: str) -> Policy:
    try:
        doc = json.loads(document)
    except ValueError as exc:
        raise PolicyError(f"the policy document is not valid JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise PolicyError("the policy document must be a JSON object")
    _no_unknown_keys(doc, DOCUMENT_KEYS, "")
    if "Version" in doc and doc["Version"] not in VERSIONS:
        raise PolicyError(f"Version: must be one of {', '.join(VERSIONS)}")
    raw = doc.get("Statement")
    statements = [raw] if isinstance(raw, dict) else raw
    if not isinstance(statements, list) or not statements:
        raise PolicyError("Statement: must be a statement object or a non-empty list of them")
    with_variables = doc.get("Version") == VARIABLES_VERSION
    return Policy(
        tuple(_statement(s, f"Statement[{i}]", with_variables) for i, s in enumerate(statements))
    )


def _no_unknown_keys(doc: dict[str, Any], allowed: set[str], where: str) -> None:
    for key in doc:
        if key in ("Principal", "NotPrincipal"):
            raise PolicyError(f"{where}{key}: identity-based policies do not name a principal")
        if key not in allowed:
            raise PolicyError(f"{where}{key}: unknown element")


def _statement(raw: Any, where: str, with_variables: bool) -> Statement:
    if not isinstance(raw, dict):
        raise PolicyError(f"{where}: must be an object")
    _no_unknown_keys(raw, STATEMENT_KEYS, f"{where}.")
    effect = raw.get("Effect")
    if effect not in ("Allow", "Deny"):
        raise PolicyError(f"{where}.Effect: must be Allow or Deny")
    actions, actions_negated = _one_of(raw, "Action", "NotAction", where)
    for action in actions:
        if not ACTION_PATTERN.fullmatch(action):
            raise PolicyError(f"{where}.Action: '{action}' is not service:Action or *")
    resources, resources_negated = _one_of(raw, "Resource", "NotResource", where)
    for resource in resources:
        if resource != "*" and not resource.startswith("arn:"):
            raise PolicyError(f"{where}.Resource: '{resource}' is not an ARN or *")
    return Statement(
        effect=effect,
        actions=actions,
        actions_negated=actions_negated,
        resources=tuple(
            _template(r, f"{where}.Resource", variables=with_variables, wildcards=True)
            for r in resources
        ),
        resources_negated=resources_negated,
        conditions=_conditions(raw.get("Condition", {}), f"{where}.Condition", with_variables),
    )


def _template(text: str, where: str, *, variables: bool, wildcards: bool) -> Template:
    try:
        return variables_module.parse(text, variables=variables, wildcards=wildcards)
    except variables_module.VariableSyntaxError as exc:
        raise PolicyError(f"{where}: {exc}") from None


def _one_of(
    raw: dict[str, Any], name: str, negated: str, where: str
) -> tuple[tuple[str, ...], bool]:
    if (name in raw) == (negated in raw):
        raise PolicyError(f"{where}: needs exactly one of {name} and {negated}")
    key = name if name in raw else negated
    return _strings(raw[key], f"{where}.{key}"), key == negated


def _strings(value: Any, where: str) -> tuple[str, ...]:
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
        raise PolicyError(f"{where}: must be a string or a non-empty list of strings")
    return tuple(values)


def _condition_value(value: Any, where: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise PolicyError(f"{where}: condition values must be strings, numbers or booleans")


def _conditions(raw: Any, where: str, with_variables: bool) -> tuple[Condition, ...]:
    if not isinstance(raw, dict):
        raise PolicyError(f"{where}: must be an object of operators")
    found: list[Condition] = []
    for name, keys in raw.items():
        try:
            operator = conditions.split_operator(name)
        except ValueError as exc:
            raise PolicyError(f"{where}.{name}: {exc}") from None
        if not isinstance(keys, dict) or not keys:
            raise PolicyError(f"{where}.{name}: must map condition keys to values")
        for key, value in keys.items():
            found.append(_condition(operator, key, value, f"{where}.{name}.{key}", with_variables))
    return tuple(found)


def _condition(
    operator: OperatorName, key: str, value: Any, where: str, with_variables: bool
) -> Condition:
    raw_values = value if isinstance(value, list) else [value]
    if not raw_values:
        raise PolicyError(f"{where}: needs at least one value")
    values = tuple(_condition_value(v, where) for v in raw_values)
    spec = conditions.OPERATORS.get(operator.base)
    for v in values:
        if spec is not None and spec.check_value is not None:
            try:
                spec.check_value(v)
            except conditions.ConditionValueError as exc:
                raise PolicyError(f"{where}: {exc}") from None
        if operator.base == conditions.NULL and v.lower() not in ("true", "false"):
            raise PolicyError(f"{where}: Null takes true or false")
    templates = tuple(
        _template(
            v,
            where,
            variables=with_variables and spec is not None and spec.variables,
            wildcards=spec is not None and spec.wildcards,
        )
        for v in values
    )
    return Condition(operator, key.lower(), templates)
