"""Standard Webhooks signatures for the calls the platform makes to a customer's server.

Any Standard Webhooks verifier checks them (``standardwebhooks.Webhook(secret).verify``): the
signature covers ``webhook-id``, ``webhook-timestamp`` and the exact body bytes.
"""

from __future__ import annotations

import base64
import secrets
import uuid
from datetime import UTC, datetime

from standardwebhooks import Webhook


def new_signing_secret() -> str:
    """A Standard Webhooks secret: ``whsec_`` and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def signed_headers(secret: str, body: str) -> dict[str, str]:
    """The headers of one signed JSON request; a new ``webhook-id`` each time."""
    message_id = f"msg_{uuid.uuid4().hex}"
    now = datetime.now(UTC)
    return {
        "content-type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, now, body),
    }
