"""Custom tools: function tools an assistant defines, run on its organization's own server.

In a turn the platform POSTs the call to the tool's ``server_url`` as JSON, signed as a
Standard Webhook (``webhook-id``, ``webhook-timestamp``, ``webhook-signature``) with the
assistant's tool signing secret, and gives the model what the server answers: ``{"result": x}``
gives ``x``, ``{"error": "..."}`` a failed call, any other JSON is the result as it is.

The URL is the tenant's, and the request leaves from inside the platform's network (server-side
request forgery): a URL whose host is, or resolves to, a loopback, private, link-local or
otherwise non-public address is refused when it is saved and again at every call, unless the
operator allows it (CUSTOM_TOOLS_ALLOW_PRIVATE_URLS). At call time the check is made by the
connection's own resolver, so the address connected to is the address checked: a name whose
DNS answer changes after it was saved (DNS rebinding) is refused too. Redirects are not
followed, since they could point anywhere.
"""

from __future__ import annotations

import ipaddress
import json
import re
import socket
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver
from django.conf import settings
from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

from integrations.credentials import is_public, non_public_addresses
from integrations.http import tls_context
from integrations.tools.base import ToolContext, ToolError, ToolOutcome
from integrations.tools.signing import signed_headers

NAME_PATTERN = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
DEFAULT_TIMEOUT_SECONDS = 10
MAX_RESPONSE_BYTES = 64 * 1024  # the model sees at most 8 000 characters of it (tools.py)
USER_AGENT = "voice-platform-tools/1"
REFUSED = "The tool's server address is not public: the call was refused."


def url_problem(url: str) -> str | None:
    """Why an organization's custom tool may not call ``url``, or None if it may.

    Sync (DNS): for validation when the tool is saved."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:  # "http://[::1", "http://host:99999"
        return "The server URL is not a valid URL."
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        return "The server URL must be http:// or https:// with a host name."
    if settings.CUSTOM_TOOLS_ALLOW_PRIVATE_URLS:
        return None
    try:
        private = non_public_addresses(parts.hostname, port or 443)
    except (OSError, UnicodeError, ValueError):
        return f"The host {parts.hostname} could not be resolved, so it cannot be checked."
    if private:
        return (
            f"The host {parts.hostname} is not a public address (loopback, private, link-local"
            " or reserved); the platform operator may allow such URLs with"
            " CUSTOM_TOOLS_ALLOW_PRIVATE_URLS."
        )
    return None


class NonPublicAddress(OSError):
    """The tool's host is, or resolves to, an address the platform must not call."""


class PublicOnlyResolver(AbstractResolver):
    """The connection's resolver: refuses a host with any non-public address."""

    def __init__(self) -> None:
        self._resolver = ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._resolver.resolve(host, port, family)
        for result in results:
            if not is_public(ipaddress.ip_address(result["host"].split("%")[0])):
                raise NonPublicAddress(f"{host} resolves to a non-public address")
        return results

    async def close(self) -> None:
        await self._resolver.close()


@dataclass(frozen=True)
class CustomTool:
    name: str
    description: str
    parameters: dict[str, Any]
    server_url: str
    timeout_seconds: float
    signing_secret: str = field(repr=False)

    async def run(self, arguments: dict[str, Any], context: ToolContext) -> ToolOutcome:
        if problem := best_match(Draft202012Validator(self.parameters).iter_errors(arguments)):
            # the model may retry with better arguments; the customer's server never sees these
            return ToolOutcome(ok=False, error=f"Invalid arguments: {problem.message[:300]}")
        body = json.dumps(self._payload(arguments, context), separators=(",", ":"))
        status, content = await self._post(body)
        return _outcome(status, content)

    def _payload(self, arguments: dict[str, Any], context: ToolContext) -> dict[str, Any]:
        return {
            "type": "tool.call",
            "tool_call_id": context.tool_call_id,
            "name": self.name,
            "arguments": arguments,
            "session_id": str(context.session_id),
            "assistant_id": str(context.assistant_id),
            "organization_id": str(context.organization_id),
        }

    async def _post(self, body: str) -> tuple[int, bytes]:
        check_literal_address(self.server_url)
        connector = aiohttp.TCPConnector(resolver=_resolver(), ssl=tls_context())
        timeout = aiohttp.ClientTimeout(total=self.timeout_seconds)
        headers = {**signed_headers(self.signing_secret, body), "user-agent": USER_AGENT}
        try:
            async with (
                aiohttp.ClientSession(connector=connector, timeout=timeout) as http,
                http.post(
                    self.server_url, data=body.encode(), headers=headers, allow_redirects=False
                ) as response,
            ):
                return response.status, await response.content.read(MAX_RESPONSE_BYTES + 1)
        except aiohttp.ClientConnectorError as exc:
            if isinstance(exc.os_error, NonPublicAddress):
                raise ToolError(REFUSED) from exc
            raise ToolError("Could not connect to the tool's server.") from exc
        except aiohttp.ClientError as exc:
            raise ToolError("The request to the tool's server failed.") from exc


def check_literal_address(url: str) -> None:
    """An IP written in the URL never reaches the resolver: check it here."""
    if settings.CUSTOM_TOOLS_ALLOW_PRIVATE_URLS:
        return
    host = urlsplit(url).hostname or ""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return  # a name: PublicOnlyResolver checks what it resolves to
    if not is_public(address):
        raise ToolError(REFUSED)


def _resolver() -> AbstractResolver:
    if settings.CUSTOM_TOOLS_ALLOW_PRIVATE_URLS:
        return ThreadedResolver()
    return PublicOnlyResolver()


def _outcome(status: int, content: bytes) -> ToolOutcome:
    if not 200 <= status < 300:
        raise ToolError(f"The tool's server answered HTTP {status}.")
    if len(content) > MAX_RESPONSE_BYTES:
        raise ToolError(f"The tool's server answered more than {MAX_RESPONSE_BYTES} bytes.")
    try:
        answer = json.loads(content)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ToolError("The tool's server did not answer with JSON.") from exc
    if isinstance(answer, dict) and "result" in answer:
        return ToolOutcome(ok=True, result=answer["result"])
    if isinstance(answer, dict) and isinstance(answer.get("error"), str):
        return ToolOutcome(ok=False, error=answer["error"][:500])
    return ToolOutcome(ok=True, result=answer)


def custom_tools_from(definitions: list[dict[str, Any]], signing_secret: str) -> list[CustomTool]:
    """An assistant's stored definitions (checked by assistants.validators) as tools."""
    return [
        CustomTool(
            name=item["name"],
            description=item.get("description", ""),
            parameters=item.get("parameters") or {"type": "object", "properties": {}},
            server_url=item["server_url"],
            timeout_seconds=float(item.get("timeout_seconds", DEFAULT_TIMEOUT_SECONDS)),
            signing_secret=signing_secret,
        )
        for item in definitions
    ]
