"""The client library pulls nothing of the server: importing it stays light."""

from __future__ import annotations

import json
import subprocess
import sys


def test_importing_the_client_imports_neither_the_server_nor_aiohttp() -> None:
    probe = (
        "import json, sys, nbpresign.client; "
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith(('nbpresign', 'aiohttp')))))"
    )
    loaded = json.loads(subprocess.check_output([sys.executable, "-c", probe], text=True))
    assert "nbpresign.client" in loaded
    assert not [m for m in loaded if m.startswith(("nbpresign.server", "aiohttp"))], loaded
