"""The tools an assistant may enable, by name.

A tool module registers its tools at import time with ``register``; ``INSTALLED_TOOL_MODULES``
lists the modules, so the registry is complete as soon as it is first used.
"""

from __future__ import annotations

import importlib
from typing import Any

from integrations.tools.base import Tool

INSTALLED_TOOL_MODULES = (
    "integrations.tools.builtin",
    "integrations.notion.tools",
)

_tools: dict[str, Tool] = {}
_loaded = False


def register(tool: Tool) -> Tool:
    if tool.name in _tools and _tools[tool.name] is not tool:
        raise ValueError(f"tool {tool.name!r} is registered twice")
    _tools[tool.name] = tool
    return tool


def _load() -> None:
    global _loaded
    if _loaded:
        return
    for module in INSTALLED_TOOL_MODULES:
        importlib.import_module(module)
    _loaded = True


def get_tool(name: str) -> Tool | None:
    _load()
    return _tools.get(name)


def tool_names() -> list[str]:
    _load()
    return sorted(_tools)


def openai_tool_schema(tool: Tool) -> dict[str, Any]:
    return {
        "type": "function",
        "function": {
            "name": tool.name,
            "description": tool.description,
            "parameters": tool.parameters,
        },
    }
