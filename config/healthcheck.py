"""The container's health check: ``python -m config.healthcheck`` exits 0 when this process's
``/health`` answers 200 (docker-compose.yml runs it every few seconds).

It asks with a Host header the server accepts, the first of ALLOWED_HOSTS: with DEBUG off,
a plain ``http://127.0.0.1:8000/health`` carries a Host that ALLOWED_HOSTS refuses (400), and
the container never became healthy. Standard library only, so it costs a few milliseconds.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request

TIMEOUT_S = 5


def allowed_host() -> str:
    """A Host that Django's ALLOWED_HOSTS accepts (".example.com" admits "example.com")."""
    for entry in os.environ.get("ALLOWED_HOSTS", "").split(","):
        host = entry.strip().lstrip(".")
        if host and host != "*":
            return host
    return "localhost"  # DEBUG's default list, or "*"


def main() -> int:
    url = f"http://127.0.0.1:{os.environ.get('PORT', '8000')}/health"
    request = urllib.request.Request(url, headers={"Host": allowed_host()})
    try:
        # S310 guards against file:// and the like: this URL is always http to ourselves.
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:  # noqa: S310
            return 0 if response.status == 200 else 1
    except (urllib.error.URLError, OSError) as exc:
        print(f"unhealthy: {url}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
