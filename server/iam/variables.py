"""Policy variables and IAM wildcards in the strings of a policy.

    template("arn:aws:sagemaker:*:*:notebook-instance/${aws:username}-*")
        .matcher(context)  -> a test for request values, or None when a variable has no
                              value and no default (an unresolvable template matches nothing)

A template is literal text, the wildcards `*` and `?`, and variables `${key}` or
`${key, 'default'}`. `${*}`, `${?}` and `${$}` are the literal characters. A variable's value
is always literal: the user `a*` matches the notebook `a*-x` and not `ab-x`, so a variable
never widens what a policy allows. Variables resolve from single-valued context keys only.

Which strings have variables and wildcards is the caller's choice (policy.py): variables
only under "Version": "2012-10-17", as in IAM; wildcards only where the element takes them
(Resource, and the ...Like and Arn... condition operators).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache

Value = str | tuple[str, ...]  # a context key's value: one string, or several (aws:TagKeys)
Context = Mapping[str, Value]  # lower-cased condition key -> its value in this request
Test = Callable[[str], bool]


class VariableSyntaxError(ValueError):
    """A `${` that does not form a variable."""


@dataclass(frozen=True)
class Text:
    text: str  # literal, whatever characters it holds


@dataclass(frozen=True)
class Wild:
    char: str  # "*" any run of characters, "?" exactly one


@dataclass(frozen=True)
class Var:
    key: str  # lower-cased, as context keys are
    default: str | None


Part = Text | Wild | Var

ESCAPES = {"*": "*", "?": "?", "$": "$"}  # ${*} ${?} ${$}
_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_KEY = re.compile(r"[A-Za-z0-9]+:[\w+=,.@/:-]+")
_WITH_DEFAULT = re.compile(r"(?P<key>[^,\s]+)\s*,\s*'(?P<default>[^']*)'")


def _parse_variable(inside: str) -> Part:
    if inside in ESCAPES:
        return Text(ESCAPES[inside])
    found = _WITH_DEFAULT.fullmatch(inside)
    key, default = (found["key"], found["default"]) if found else (inside, None)
    if not _KEY.fullmatch(key):
        raise VariableSyntaxError(f"'${{{inside}}}' is not a policy variable")
    return Var(key.lower(), default)


def _literal_parts(text: str, *, wildcards: bool) -> list[Part]:
    if not wildcards:
        return [Text(text)] if text else []
    parts: list[Part] = []
    for piece in re.split(r"([*?])", text):
        if piece in ("*", "?"):
            parts.append(Wild(piece))
        elif piece:
            parts.append(Text(piece))
    return parts


@lru_cache(maxsize=4096)
def parse(text: str, *, variables: bool, wildcards: bool) -> Template:
    """The template a policy string stands for; raises VariableSyntaxError."""
    if not variables:
        return Template(tuple(_literal_parts(text, wildcards=wildcards)), wildcards)
    parts: list[Part] = []
    position = 0
    for found in _VARIABLE.finditer(text):
        parts.extend(_literal_parts(text[position : found.start()], wildcards=wildcards))
        parts.append(_parse_variable(found[1]))
        position = found.end()
    rest = text[position:]
    if "${" in rest:
        raise VariableSyntaxError(f"'{text}' has a '${{' without its '}}'")
    parts.extend(_literal_parts(rest, wildcards=wildcards))
    return Template(tuple(parts), wildcards)


@dataclass(frozen=True)
class Template:
    parts: tuple[Part, ...]
    wildcards: bool

    @property
    def has_variables(self) -> bool:
        return any(isinstance(p, Var) for p in self.parts)

    def resolve(self, context: Context) -> tuple[Text | Wild, ...] | None:
        """The parts with every variable replaced by its literal value; None if one has
        neither a value nor a default."""
        out: list[Text | Wild] = []
        for part in self.parts:
            if isinstance(part, Var):
                value = context.get(part.key)
                if not isinstance(value, str):  # absent, or multivalued
                    if part.default is None:
                        return None
                    value = part.default
                out.append(Text(value))
            else:
                out.append(part)
        return tuple(out)

    def literal(self, context: Context) -> str | None:
        """The template as one literal string (wildcards as their own characters)."""
        resolved = self.resolve(context)
        if resolved is None:
            return None
        return "".join(p.text if isinstance(p, Text) else p.char for p in resolved)

    def pattern(self, context: Context, *, arn: bool = False) -> re.Pattern[str] | None:
        """A regex that fullmatches what the template matches, or None (matches nothing).

        arn: match an ARN component by component, as ArnLike does: a wildcard in one of
        the first five colon-separated components does not reach into the next."""
        resolved = self.resolve(context)
        if resolved is None:
            return None
        return _compiled(resolved, arn)


@lru_cache(maxsize=8192)
def _compiled(parts: tuple[Text | Wild, ...], arn: bool) -> re.Pattern[str]:
    out: list[str] = []
    colons = 0
    for part in parts:
        if isinstance(part, Text):
            out.append(re.escape(part.text))
            colons += part.text.count(":")
            continue
        bounded = arn and colons < 5
        if part.char == "*":
            out.append("[^:]*" if bounded else ".*")
        else:
            out.append("[^:]" if bounded else ".")
    return re.compile("".join(out), re.DOTALL)
