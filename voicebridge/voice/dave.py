"""The DAVE layer of received voice: end-to-end decryption between transport and Opus.

discord-ext-voice-recv removes the transport encryption (the voice connection's secret key)
and hands out each member's frame; with DAVE that frame is still encrypted with the member's
media key from the call's MLS group. The voice connection's own ``davey.DaveSession`` (the
one discord.py keeps in ``VoiceConnectionState.dave_session`` to encrypt what the bot says)
holds a decryptor for every other member of the group, so it opens their frames too.

Not every frame is encrypted: Discord passes some through in the clear (Opus silence, the
moments around a group change, calls where DAVE is off). An encrypted frame ends with DAVE's
magic marker 0xFAFA; one without it is plain Opus and is decoded as it is — whether the
session has no decryptor for the member yet (``NoDecryptorForUser``) or its decryptor has left
passthrough mode (``UnencryptedWhenPassthroughDisabled``). An encrypted frame that cannot be
opened is dropped: fed to libopus it would be noise.
"""

from __future__ import annotations

from typing import Protocol

import davey

DAVE_MARKER = b"\xfa\xfa"
NO_DECRYPTOR = "NoDecryptorForUser"
CLEAR_REFUSED = "UnencryptedWhenPassthroughDisabled"


class DaveFrameRefused(Exception):
    """An end-to-end encrypted frame that this connection has no key for (yet)."""


class DecryptingSession(Protocol):
    """What is used of ``davey.DaveSession``."""

    def decrypt(self, user_id: int, media_type: davey.MediaType, packet: bytes) -> bytes: ...


def is_encrypted(frame: bytes) -> bool:
    return frame.endswith(DAVE_MARKER)


def open_frame(session: DecryptingSession | None, user_id: int, frame: bytes) -> bytes:
    """The Opus packet inside a member's frame; DaveFrameRefused if it cannot be opened."""
    if session is None:  # DAVE is not in use on this connection
        if is_encrypted(frame):
            raise DaveFrameRefused("an end-to-end encrypted frame, but DAVE is not set up")
        return frame
    try:
        return session.decrypt(user_id, davey.MediaType.audio, frame)
    except ValueError as exc:  # davey reports every decryption failure as ValueError
        if not is_encrypted(frame) and (NO_DECRYPTOR in str(exc) or CLEAR_REFUSED in str(exc)):
            return frame  # sent in the clear: plain Opus
        raise DaveFrameRefused(str(exc)) from None


def connection_session(voice_client: object) -> DecryptingSession | None:
    """The DAVE session of a discord.py voice connection, if DAVE is in use on it."""
    state = getattr(voice_client, "_connection", None)
    if state is None or not getattr(state, "dave_protocol_version", 0):
        return None
    session: DecryptingSession | None = getattr(state, "dave_session", None)
    return session
