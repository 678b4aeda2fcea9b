"""IAM's wildcards: `*` matches any run of characters, `?` any one character; nothing else
is special (unlike fnmatch, `[` is literal)."""

from __future__ import annotations

import re
from functools import lru_cache


@lru_cache(maxsize=4096)
def compile_pattern(pattern: str, *, ignore_case: bool) -> re.Pattern[str]:
    """compile_pattern("sagemaker:Create*", ignore_case=True) matches "SageMaker:CreateX"."""
    parts = (".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile("".join(parts), re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def matches(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    return compile_pattern(pattern, ignore_case=ignore_case).fullmatch(value) is not None
