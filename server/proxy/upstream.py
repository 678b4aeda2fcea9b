"""Where a notebook's requests go: the registered Jupyter server, path unchanged.

Paths pass through as the browser sent them, so the Jupyter server's base_url must be
the path the browser sees ("/" with a host per notebook, the default).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from yarl import URL

from nbpresign.server.notebooks.instance import NotebookInstance


@dataclass(frozen=True)
class Upstream:
    origin: str  # "http://127.0.0.1:8888"
    base_path: str  # "/" or the Jupyter server's base_url
    token: str

    @classmethod
    def of(cls, instance: NotebookInstance) -> Upstream:
        parts = urlsplit(instance.jupyter_url)
        base = parts.path if parts.path.endswith("/") else parts.path + "/"
        return cls(f"{parts.scheme}://{parts.netloc}", base, instance.jupyter_token)

    def url(self, raw_path_qs: str, *, websocket: bool = False) -> URL:
        origin = self.origin
        if websocket:
            origin = "ws" + origin[len("http") :]  # http -> ws, https -> wss
        return URL(origin + raw_path_qs, encoded=True)
