"""A voice call end to end, offline: real speech (espeak-ng) as the Opus packets a Discord
client sends, through the bridge's receive path (voice_recv sink, DAVE rule, libopus, soxr),
the runtime's VAD and the STT simulator, a stored transcript and reply, and the reply's audio
played by discord.py's own player into a fake voice client (no network), then barge-in."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

import discord
import discord.ext.test as dpytest
import numpy as np
import pytest
from asgiref.sync import sync_to_async

from sessions.models import Message, Session
from tests.factories import AssistantFactory
from tests.voicebridge.voice.conftest import SPEECH_SECONDS_RANGE
from tests.voicebridge.voice.fake_voice import FakeVoiceClient
from voicebridge import text
from voicebridge.services import discord_binding_create, discord_bot_update
from voicebridge.voice.audio import FRAME_BYTES
from voicebridge.voice.call import VoiceCall
from voicebridge.voice.commands import calls_of, end_call, start_call
from voicebridge.voice.listen import member_of

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("libopus")]
TONE_HZ = 200  # the TTS simulator speaks a 200 Hz tone


@dataclass
class Call:
    client: discord.Client
    guild: discord.Guild
    text_channel: discord.TextChannel
    voice_channel: discord.VoiceChannel
    member: discord.Member
    voice: FakeVoiceClient
    call: VoiceCall

    def sent(self) -> list[discord.Message]:
        messages = []
        while not dpytest.sent_queue.empty():
            messages.append(dpytest.get_message())
        return messages

    def posts(self) -> list[str]:
        return [message.content for message in self.sent()]


async def shown(message: discord.Message) -> str:
    """A sent message as Discord holds it now, after any edits."""
    return (await message.channel.fetch_message(message.id)).content


@pytest.fixture
async def call(transactional_db, providers, bot):
    intents = discord.Intents.default()
    intents.members = True  # dpytest builds its members through the member cache
    client = discord.Client(intents=intents)
    await client._async_setup_hook()
    dpytest.configure(client, text_channels=1, voice_channels=1, members=1)
    config = dpytest.get_config()
    guild = config.guilds[0]
    assistant = await sync_to_async(AssistantFactory)(
        organization=bot.organization, first_message=""
    )
    await sync_to_async(discord_binding_create)(
        bot=bot, guild_id=str(guild.id), assistant=assistant
    )
    voice_channel = guild.voice_channels[0]
    member = config.members[0]
    ask = text.Ask(
        bot_id=bot.id,
        guild_id=str(guild.id),
        channel_id=str(voice_channel.id),
        author_id=str(member.id),
        author_name=member.display_name,
        content="",
    )
    route = await text.route_for(ask)
    assert route is not None
    voice = FakeVoiceClient(asyncio.get_running_loop(), guild)
    started = await start_call(
        client,
        route=route,
        voice=voice,
        guild_id=guild.id,
        voice_channel_id=voice_channel.id,
        text_channel=config.channels[0],
    )
    yield Call(client, guild, config.channels[0], voice_channel, member, voice, started)
    await end_call(client, guild.id)
    voice.close()
    await dpytest.empty_queue()


async def eventually(check: Callable[[], object], timeout: float = 20) -> None:
    async with asyncio.timeout(timeout):
        while not await sync_to_async(check)():
            await asyncio.sleep(0.05)


def stored() -> list[Message]:
    sessions = Session.objects.unscoped().filter(channel=Session.Channel.DISCORD)
    messages = Message.objects.unscoped().filter(session__in=sessions)
    return list(messages.order_by("session__created_at", "sequence"))


def peak_hz(pcm: bytes) -> float:
    left = np.frombuffer(pcm, "<i2")[0::2].astype(np.float64)
    spectrum = np.abs(np.fft.rfft(left * np.hanning(len(left))))
    return float(np.fft.rfftfreq(len(left), 1 / 48_000)[spectrum.argmax()])


def loud(frame: bytes) -> bool:
    return int(np.abs(np.frombuffer(frame, "<i2")).max()) > 500


async def test_speech_in_a_call_is_transcribed_stored_answered_aloud_and_posted(
    call, providers, speech_packets
):
    providers.script_transcription({"text": "Please add buy milk to my list."})
    providers.script_chat({"text": "Sure, noted."})
    await call.voice.say(call.member, speech_packets)

    await eventually(lambda: len(stored()) == 2)
    [session] = await sync_to_async(
        lambda: list(Session.objects.unscoped().filter(channel=Session.Channel.DISCORD))
    )()
    assert session.metadata["discord"]["channel_id"] == str(call.voice_channel.id)
    assert session.metadata["discord"]["user_id"] == str(call.member.id)
    user, reply = await sync_to_async(stored)()
    assert (user.role, user.content) == ("user", "Please add buy milk to my list.")
    assert (reply.role, reply.content, reply.interrupted) == ("assistant", "Sure, noted.", False)

    # The VAD sent the whole utterance to the STT: as long as the speech, plus its margins
    [upload] = [r for r in providers.requests(provider="openai") if "transcriptions" in r["path"]]
    heard_seconds = (upload["body"]["file"]["bytes"] - 44) / 32_000  # WAV of 16 kHz mono PCM16
    low, high = SPEECH_SECONDS_RANGE
    assert low < heard_seconds < high + 1.0, heard_seconds

    # The reply was played: 48 kHz stereo frames of the TTS tone, encoded by libopus
    await eventually(lambda: not call.call.speaker.speaking and not call.voice.is_playing())
    frames = [f for f in call.voice.frames if loud(f)]
    assert {len(f) for f in call.voice.frames} == {FRAME_BYTES}
    spoken_ms = len(frames) * 20
    assert spoken_ms == pytest.approx(len("Sure, noted.") * 65, abs=100)  # simulator pace
    assert peak_hz(b"".join(frames)) == pytest.approx(TONE_HZ, abs=3)
    assert call.voice.packets and all(len(p) < FRAME_BYTES for p in call.voice.packets)

    await call.call.poster.drain()
    assert call.posts() == [
        f"🎙️ **{call.member.display_name}**: Please add buy milk to my list.",
        "Sure, noted.",
    ]


async def test_speaking_over_the_reply_stops_it_and_stores_what_was_heard(
    call, providers, speech_packets
):
    long_reply = " ".join(["This reply goes on and on for a long while."] * 8)  # ~23 s
    providers.script_transcription({"text": "Tell me a story."}, {"text": "Stop."})
    providers.script_chat({"text": long_reply}, {"text": "Okay."})
    await call.voice.say(call.member, speech_packets)
    await eventually(lambda: sum(map(loud, call.voice.frames)) >= 50)  # a second of it played

    await call.voice.say(call.member, speech_packets[:40])  # barge in
    await eventually(lambda: call.voice.stops >= 1)
    await eventually(lambda: len(stored()) >= 2)
    messages = await sync_to_async(stored)()
    cut = messages[1]
    assert (cut.role, cut.interrupted) == ("assistant", True)
    assert cut.content and long_reply.startswith(cut.content)
    # stored as far as it was heard: the share of the reply's audio played before the stop
    played = sum(map(loud, call.voice.frames[: call.voice.frames_at_stop[0]]))
    total = len(long_reply) * 65 / 20  # the simulator speaks 65 ms a character
    assert len(cut.content) / len(long_reply) == pytest.approx(played / total, abs=0.08)

    await eventually(lambda: [m.content for m in stored()][-2:] == ["Stop.", "Okay."])
    await eventually(lambda: not call.call.speaker.speaking and not call.voice.is_playing())
    # nothing more of the cut reply was played: after the stop, only "Okay."
    after_stop = sum(map(loud, call.voice.frames[call.voice.frames_at_stop[0] :]))
    assert after_stop == pytest.approx(len("Okay.") * 65 / 20, abs=3)
    await call.call.poster.drain()
    posted = [await shown(m) for m in call.sent()]
    assert posted == [
        f"🎙️ **{call.member.display_name}**: Tell me a story.",
        f"{cut.content} *(interrupted)*",  # posted whole, then edited to what was heard
        f"🎙️ **{call.member.display_name}**: Stop.",
        "Okay.",
    ]


async def test_members_without_an_allowed_role_are_not_heard(call, providers, bot, speech_packets):
    await sync_to_async(discord_bot_update)(bot=bot, allowed_role_ids=["1300000000000000999"])
    # the bot as /join loads it: open to one role, which the member does not have
    call.call.route = await text.route_for(call.call.ask_for(member_of(call.member)))
    await call.voice.say(call.member, speech_packets)
    await asyncio.sleep(1.5)  # longer than an utterance takes to reach the STT
    assert not call.call.conversations
    assert not providers.requests(provider="openai")
    assert await sync_to_async(stored)() == []


async def test_leaving_ends_the_call(call):
    assert calls_of(call.client)[call.guild.id] is call.call
    assert await end_call(call.client, call.guild.id)
    assert call.call.closed and call.guild.id not in calls_of(call.client)
    assert not await end_call(call.client, call.guild.id)


async def test_after_the_assistant_ends_the_session_the_next_words_start_a_new_one(
    call, providers, speech_packets
):
    await sync_to_async(
        lambda: (
            type(call.call.route.binding.assistant)
            .objects.unscoped()
            .filter(pk=call.call.route.binding.assistant_id)
            .update(end_call_phrases=["goodbye"])
        )
    )()
    call.call.route = await text.route_for(call.call.ask_for(member_of(call.member)))
    providers.script_transcription({"text": "That is all."}, {"text": "One more thing."})
    providers.script_chat({"text": "Goodbye!"}, {"text": "Yes?"})
    await call.voice.say(call.member, speech_packets)
    await eventually(lambda: Session.objects.unscoped().filter(status="ended").exists())

    await call.voice.say(call.member, speech_packets)
    await eventually(lambda: len(stored()) == 4)
    sessions = await sync_to_async(
        lambda: list(
            Session.objects.unscoped().order_by("created_at").values_list("status", "ended_reason")
        )
    )()
    assert sessions == [("ended", "end-call-phrase"), ("active", "")]
    assert [m.content for m in await sync_to_async(stored)()] == [
        "That is all.",
        "Goodbye!",
        "One more thing.",
        "Yes?",
    ]


async def test_an_assistant_that_may_not_be_interrupted_finishes_its_reply(
    call, providers, speech_packets
):
    assistant = call.call.route.binding.assistant
    await sync_to_async(
        lambda: (
            type(assistant)
            .objects.unscoped()
            .filter(pk=assistant.pk)
            .update(interruptions_enabled=False)
        )
    )()
    call.call.route = await text.route_for(call.call.ask_for(member_of(call.member)))
    reply = "This is a reply of about three seconds, said to the end."
    providers.script_transcription({"text": "Tell me."}, {"text": "Wait."})
    providers.script_chat({"text": reply}, {"text": "Yes?"})
    await call.voice.say(call.member, speech_packets)
    await eventually(lambda: sum(map(loud, call.voice.frames)) >= 25)

    await call.voice.say(call.member, speech_packets[:40])  # talking over it
    await eventually(lambda: [m.content for m in stored()][-2:] == ["Wait.", "Yes?"])
    await eventually(lambda: not call.call.speaker.speaking and not call.voice.is_playing())
    assert call.voice.stops == 0
    messages = await sync_to_async(stored)()
    assert (messages[1].content, messages[1].interrupted) == (reply, False)
    played = sum(map(loud, call.voice.frames)) * 20
    assert played == pytest.approx((len(reply) + len("Yes?")) * 65, abs=200)
