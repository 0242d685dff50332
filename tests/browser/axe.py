"""axe-core, the accessibility rules engine, fetched once from the npm registry and checked
against the registry's published digest before any page runs it.

The file is kept in the virtualenv (`.venv/share/axe-core/`), so `make clean` removes it and a
fresh machine fetches it again; `AXE_CORE_JS` points at a copy of your own instead.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import tarfile
import urllib.request
from pathlib import Path

from shop import PROJECT_ROOT

VERSION = "4.14.1"
TARBALL = f"https://registry.npmjs.org/axe-core/-/axe-core-{VERSION}.tgz"
# The registry's `dist.integrity` for that tarball: a changed file is refused, not run.
INTEGRITY = "sha512-FHfa+lmNjQZfJz1q8wKqIDwC6DExcHt/pkjNQb09a3NPjCKg2rhu5qb2S4r76ASyFNNtuFooJpZe37OgudVGtQ=="
CACHE = PROJECT_ROOT / ".venv" / "share" / "axe-core" / f"axe-{VERSION}.min.js"


def _download() -> str:
    with urllib.request.urlopen(TARBALL, timeout=60) as response:
        tarball = response.read()
    digest = "sha512-" + base64.b64encode(hashlib.sha512(tarball).digest()).decode()
    if digest != INTEGRITY:
        raise RuntimeError(f"{TARBALL} does not match its published integrity {INTEGRITY}")
    with tarfile.open(fileobj=io.BytesIO(tarball)) as archive:
        member = archive.extractfile("package/axe.min.js")
        if member is None:
            raise RuntimeError(f"{TARBALL} holds no package/axe.min.js")
        return member.read().decode()


def axe_source() -> str:
    """The axe-core script, from AXE_CORE_JS, the cache, or the registry (then cached)."""
    own = os.environ.get("AXE_CORE_JS")
    if own:
        return Path(own).read_text()
    if not CACHE.exists():
        CACHE.parent.mkdir(parents=True, exist_ok=True)
        partial = CACHE.with_suffix(".part")
        partial.write_text(_download())
        partial.replace(CACHE)
    return CACHE.read_text()
