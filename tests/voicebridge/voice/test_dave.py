"""The DAVE layer of received voice, with real ``davey`` sessions made as discord.py makes them.

What can be exercised offline: a session before any MLS group (how every call starts), one
with an MLS group of its own around an external sender made here (``pending``: Discord's voice
gateway has not proposed anyone yet), and the bridge's rule for frames sent in the clear.
What cannot: a group with other members. Its proposals and commits come from Discord's voice
gateway acting as the MLS external sender (signed with Discord's key), so decrypting a
member's encrypted frame needs a real Discord call.
"""

from __future__ import annotations

import davey
import pytest
from discord import opus
from discord.ext import voice_recv

from voicebridge.voice.dave import DAVE_MARKER, DaveFrameRefused, connection_session, open_frame

BOT_ID, MEMBER_ID = 1_300_000_000_000_000_001, 1_300_000_000_000_000_002
CHANNEL_ID = 1_300_000_000_000_000_003
OPUS_SILENCE = b"\xf8\xff\xfe"

pytestmark = pytest.mark.usefixtures("libopus")


def new_session() -> davey.DaveSession:
    """As discord.py's VoiceConnectionState.reinit_dave_session does when DAVE is negotiated."""
    return davey.DaveSession(davey.DAVE_PROTOCOL_VERSION, BOT_ID, CHANNEL_ID)


def vl_bytes(data: bytes) -> bytes:
    """The length prefix of an MLS (RFC 9420) variable-length vector, below 16,384 bytes."""
    size = len(data)
    assert size < 1 << 14
    return bytes([0x40 | size >> 8, size & 0xFF]) if size >= 64 else bytes([size])


def external_sender(identity: bytes) -> bytes:
    """An MLS ExternalSender: a P-256 signature key and a basic credential (type 1)."""
    key = davey.generate_p256_keypair().public
    return vl_bytes(key) + key + b"\x00\x01" + vl_bytes(identity) + identity


def speech_frame(speech_packets: list[bytes]) -> bytes:
    return max(speech_packets, key=len)  # a packet from the middle of a word


def test_plain_opus_passes_a_session_without_a_group(speech_packets):
    session = new_session()
    frame = speech_frame(speech_packets)
    opened = open_frame(session, MEMBER_ID, frame)
    assert opened == frame
    pcm = opus.Decoder().decode(opened, fec=False)
    assert len(pcm) == 3840 and any(pcm)
    assert open_frame(session, MEMBER_ID, OPUS_SILENCE) == OPUS_SILENCE


def test_an_encrypted_frame_without_a_key_is_dropped_not_decoded(speech_packets):
    session = new_session()
    # DAVE's frame layout ends with the supplemental size and the magic marker 0xFAFA
    encrypted = speech_frame(speech_packets) + bytes(8) + b"\x0a" + DAVE_MARKER
    with pytest.raises(DaveFrameRefused, match="NoDecryptorForUser"):
        open_frame(session, MEMBER_ID, encrypted)
    with pytest.raises(DaveFrameRefused):
        open_frame(None, MEMBER_ID, encrypted)  # DAVE is off on the connection


def test_without_dave_frames_are_plain_opus(speech_packets):
    frame = speech_frame(speech_packets)
    assert open_frame(None, MEMBER_ID, frame) == frame


def test_a_group_around_an_external_sender_still_passes_clear_frames(speech_packets):
    session = new_session()
    session.set_external_sender(external_sender(b"discord-voice"))
    assert session.status == davey.SessionStatus.pending
    assert session.get_user_ids() == [str(BOT_ID)]
    assert len(session.get_serialized_key_package()) > 300  # what the bot sends the gateway
    assert not session.ready  # no commit from the gateway yet: nothing to encrypt with
    with pytest.raises(ValueError, match="NotReady"):
        session.encrypt_opus(speech_frame(speech_packets))
    session.set_passthrough_mode(True, 10)  # as discord.py does on a downgrade
    frame = speech_frame(speech_packets)
    assert open_frame(session, MEMBER_ID, frame) == frame


@pytest.mark.django_db(transaction=True)
async def test_the_listener_uses_the_voice_connection_s_own_dave_session(
    discord_world, speech_packets
):
    config = discord_world
    voice = voice_recv.VoiceRecvClient(config.client, config.guilds[0].voice_channels[0])
    assert connection_session(voice) is None  # DAVE not negotiated (yet): frames are plain
    # What discord.py's voice gateway does when Discord selects DAVE for the call
    state = voice._connection
    state.dave_protocol_version = davey.DAVE_PROTOCOL_VERSION
    state.dave_session = new_session()
    session = connection_session(voice)
    assert session is state.dave_session
    frame = speech_frame(speech_packets)
    assert open_frame(session, MEMBER_ID, frame) == frame
    with pytest.raises(DaveFrameRefused):
        open_frame(session, MEMBER_ID, frame + bytes(9) + DAVE_MARKER)
