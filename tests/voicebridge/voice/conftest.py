"""Voice test material made at test time: real speech from espeak-ng, encoded by libopus into
the 20 ms Opus packets a Discord client sends.

libopus, espeak-ng and sox are system packages (Debian libopus0, espeak-ng, sox). Without them
these tests skip with the reason; CI installs them and sets REQUIRE_BROWSER=1, which turns a
missing tool into a failure instead.
"""

from __future__ import annotations

import shutil
import subprocess
import uuid
from pathlib import Path

import discord
import discord.ext.test as dpytest
import pytest
from discord import app_commands, opus

from tests.conftest import need_tool
from voicebridge.voice.audio import FRAME_BYTES, OpusUnavailable, load_opus
from voicebridge.voice.commands import COMMANDS

SPOKEN = "Please add buy milk to my list."
SPEECH_SECONDS_RANGE = (1.2, 4.0)  # what espeak-ng takes to say SPOKEN at 150 words a minute


@pytest.fixture(scope="session")
def libopus() -> None:
    try:
        load_opus()
    except OpusUnavailable as exc:
        need_tool(False, str(exc))


@pytest.fixture(scope="session")
def speech_pcm(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """SPOKEN as a Discord client captures it: 48 kHz stereo s16le."""
    need_tool(bool(shutil.which("espeak-ng")), "espeak-ng is not installed (apt install espeak-ng)")
    need_tool(bool(shutil.which("sox")), "sox is not installed (apt install sox)")
    folder: Path = tmp_path_factory.mktemp("speech")
    wav, raw = folder / "speech.wav", folder / "speech.raw"
    subprocess.run(["espeak-ng", "-s", "150", "-w", str(wav), SPOKEN], check=True)
    to_discord = ["-r", "48000", "-c", "2", "-b", "16", "-e", "signed-integer", "-t", "raw"]
    subprocess.run(["sox", str(wav), *to_discord, str(raw), "norm", "-3"], check=True)
    return raw.read_bytes()


def opus_packets(pcm: bytes) -> list[bytes]:
    """48 kHz stereo PCM as 20 ms Opus packets, encoded by libopus as discord.py does."""
    encoder = opus.Encoder()
    pcm += bytes(-len(pcm) % FRAME_BYTES)
    return [
        encoder.encode(pcm[i : i + FRAME_BYTES], encoder.SAMPLES_PER_FRAME)
        for i in range(0, len(pcm), FRAME_BYTES)
    ]


@pytest.fixture(scope="session")
def speech_packets(libopus: None, speech_pcm: bytes) -> list[bytes]:
    return opus_packets(speech_pcm)


class VoiceBot(discord.Client):
    """A bot with the voice commands, as the bridge's client publishes them."""

    def __init__(self, bot_id: uuid.UUID) -> None:
        intents = discord.Intents.default()
        intents.members = True  # dpytest builds its members through the member cache
        super().__init__(intents=intents)
        self.bot_id = bot_id
        self.tree = app_commands.CommandTree(self)
        for command in COMMANDS:
            self.tree.add_command(command)


@pytest.fixture
async def discord_world(transactional_db, bot):
    client = VoiceBot(bot.id)
    await client._async_setup_hook()
    tree = client._connection._command_tree
    dpytest.configure(client, text_channels=1, voice_channels=1, members=1)
    client._connection._command_tree = tree  # as tests/voicebridge/driver.configure does
    yield dpytest.get_config()
    await dpytest.empty_queue()
