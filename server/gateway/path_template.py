"""HttpRule path templates, compiled to matchers.

    compile_template("/v1/notebook-instances/{notebook_instance_name}:createPresignedUrl")
    .match("/v1/notebook-instances/nb-1:createPresignedUrl")
    == {"notebook_instance_name": "nb-1"}

The grammar is google/api/http.proto's:
    Template = "/" Segments [ Verb ] ;
    Segments = Segment { "/" Segment } ;
    Segment  = "*" | "**" | LITERAL | Variable ;
    Variable = "{" FieldPath [ "=" Segments ] "}" ;
    FieldPath = IDENT { "." IDENT } ;
    Verb     = ":" LITERAL ;
`{field}` is `{field=*}`: one segment. `**` takes the rest of the path and must come last.
Matching works on the path as sent (percent-encoded); a variable's value is decoded, as
grpc-gateway decodes it, except that `%2F` stays encoded in a multi-segment variable.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

_IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
_FIELD_PATH = re.compile(rf"{_IDENT}(\.{_IDENT})*")
_LITERAL = re.compile(r"[^/*{}:=]+")
_ONE_SEGMENT = r"[^/]+"
_REST = r"[^/]+(?:/[^/]+)*"


class TemplateError(ValueError):
    """A path template that does not follow the grammar (raised when routes are built)."""


@dataclass(frozen=True)
class PathTemplate:
    template: str
    regex: re.Pattern[str]
    variables: tuple[str, ...]  # field paths, in order: ("notebook_instance_name",)
    multi_segment: frozenset[str]  # variables that may span several segments

    def match(self, path: str) -> dict[str, str] | None:
        """{field path: decoded value} when `path` (as sent) matches, else None."""
        found = self.regex.fullmatch(path)
        if found is None:
            return None
        values = {}
        for index, variable in enumerate(self.variables):
            raw = found.group(f"v{index}")
            values[variable] = _decode(raw, keep_slashes=variable in self.multi_segment)
        return values


def _decode(raw: str, *, keep_slashes: bool) -> str:
    if keep_slashes:
        return "%2F".join(unquote(part) for part in re.split("%2[Ff]", raw))
    return unquote(raw)


def compile_template(template: str) -> PathTemplate:
    if not template.startswith("/"):
        raise TemplateError(f"a path template starts with '/': {template!r}")
    path, verb = _split_verb(template)
    parser = _Parser(template)
    regex = parser.segments(path[1:], top_level=True)
    if verb:
        regex += ":" + re.escape(verb)
    return PathTemplate(
        template,
        re.compile("/" + regex),
        tuple(parser.variables),
        frozenset(parser.multi_segment),
    )


def _split_verb(template: str) -> tuple[str, str]:
    """ "/a/{b}:verb" -> ("/a/{b}", "verb"); a ':' inside braces is not a verb."""
    last = template.rsplit("/", 1)[-1]
    if ":" in last and "}" not in last.rsplit(":", 1)[1]:
        path, verb = template.rsplit(":", 1)
        if not _LITERAL.fullmatch(verb):
            raise TemplateError(f"a bad verb in {template!r}")
        return path, verb
    return template, ""


class _Parser:
    def __init__(self, template: str) -> None:
        self.template = template
        self.variables: list[str] = []
        self.multi_segment: set[str] = set()

    def segments(self, text: str, *, top_level: bool) -> str:
        parts = _split_segments(text, self.template)
        regexes = []
        for index, part in enumerate(parts):
            if part == "**" and index != len(parts) - 1:
                raise TemplateError(f"'**' must be the last segment in {self.template!r}")
            regexes.append(self.segment(part, top_level=top_level))
        return "/".join(regexes)

    def segment(self, part: str, *, top_level: bool) -> str:
        if part == "*":
            return _ONE_SEGMENT
        if part == "**":
            return _REST
        if part.startswith("{") and part.endswith("}"):
            if not top_level:
                raise TemplateError(f"a variable inside a variable in {self.template!r}")
            return self.variable(part[1:-1])
        if _LITERAL.fullmatch(part):
            return re.escape(part)
        raise TemplateError(f"a bad segment {part!r} in {self.template!r}")

    def variable(self, inner: str) -> str:
        field, _, pattern = inner.partition("=")
        if not _FIELD_PATH.fullmatch(field):
            raise TemplateError(f"a bad field path {field!r} in {self.template!r}")
        if field in self.variables:
            raise TemplateError(f"{field} is bound twice in {self.template!r}")
        regex = self.segments(pattern, top_level=False) if pattern else _ONE_SEGMENT
        if pattern and (pattern != "*"):
            self.multi_segment.add(field)
        name = f"v{len(self.variables)}"
        self.variables.append(field)
        return f"(?P<{name}>{regex})"


def _split_segments(text: str, template: str) -> list[str]:
    """Splits on '/' outside braces: "a/{b=c/*}/d" -> ["a", "{b=c/*}", "d"]."""
    parts, depth, current = [], 0, ""
    for char in text:
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
        if depth < 0 or depth > 1:
            raise TemplateError(f"unbalanced braces in {template!r}")
        if char == "/" and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    if depth != 0:
        raise TemplateError(f"unbalanced braces in {template!r}")
    parts.append(current)
    if any(not part for part in parts):
        raise TemplateError(f"an empty segment in {template!r}")
    return parts
