"""The production server: daphne on uvloop. ``python -m config.server [daphne's arguments]``.

daphne runs Twisted on an asyncio event loop that it creates when ``daphne.server`` is
imported, so the loop policy is set before that import. uvloop's loop does a live turn's
hundreds of socket wake-ups in C (docs/PERFORMANCE.md: about 10 % less CPU per turn). Where
uvloop is not installed (it has no Windows build), daphne runs on the standard loop.
"""

from __future__ import annotations

import asyncio
import sys


def install_uvloop() -> bool:
    try:
        import uvloop
    except ImportError:
        return False
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    return True


def main() -> None:
    if "daphne.server" in sys.modules:
        raise RuntimeError("config.server must run before daphne.server is imported")
    install_uvloop()
    from daphne.cli import CommandLineInterface

    sys.argv[0] = "daphne"
    CommandLineInterface.entrypoint()


if __name__ == "__main__":
    main()
