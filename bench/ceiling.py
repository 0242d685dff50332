"""The ceiling: a bare Flask app answering with the shop's own pages' bytes, held in memory.

gunicorn serves it as `bench.ceiling:app` under the shop's gunicorn.conf.py. BENCH_PAGES names a
JSON file written by bench.production: {path: {"content_type": ..., "body": text}}. A path not in
it gets 404. The difference between this and the shop is the shop's own work per request.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from flask import Flask, Response, request

_PAGES = {
    path: (page["content_type"], page["body"].encode())
    for path, page in json.loads(Path(os.environ["BENCH_PAGES"]).read_text()).items()
}

app = Flask(__name__)


@app.get("/", defaults={"path": ""})
@app.get("/<path:path>")
def page(path: str) -> Response:
    """The stored page for this path and query string, as the shop sent it."""
    key = request.full_path.rstrip("?")
    if key not in _PAGES:
        return Response("not found", status=404)
    content_type, body = _PAGES[key]
    return Response(body, content_type=content_type)
