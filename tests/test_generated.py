"""gen/ is exactly what scripts/gen-protos makes from protos/."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_generated_code_matches_protos() -> None:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    result = subprocess.run(
        ["bash", str(ROOT / "scripts" / "gen-protos"), "--check"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_field_has_its_aws_member_name_as_json_name() -> None:
    from nbpresign.server.api.methods import METHODS

    for method in METHODS:
        for message in (method.input_type, method.output_type):
            for field in message.DESCRIPTOR.fields:
                expected = "".join(part.capitalize() for part in field.name.split("_"))
                assert field.json_name == expected, (message.DESCRIPTOR.full_name, field.name)
