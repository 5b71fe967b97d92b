"""A voice channel the bot has joined for a bound assistant: who is heard, and each member's
conversation with the assistant as a live session of the runtime.

Each allowed member who speaks has a ``MemberConversation``: a ``LiveSession`` (the same
runtime as a WebSocket call: VAD, transcription, turns, barge-in) whose ``Sink`` is
``CallSink``. Their audio reaches the session through a queue, in order, from the receive
thread. Discord sends nothing while a member is silent, but the VAD ends an utterance on
silence, so a gap in a member's packets is fed to the session as silence (up to
``FILL_SILENCE_MS``). The session's replies are spoken through the call's one ``Speaker`` and
posted, with the transcript, in the text channel where ``/join`` was used.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass
from typing import Protocol

from channels.db import database_sync_to_async

from sessions.models import Message
from sessions.protocol import (
    AssistantMessage,
    AudioEnd,
    AudioStart,
    Clear,
    Error,
    Mark,
    ProtocolError,
    ServerEvent,
    SessionEnded,
    ToolResult,
    Transcript,
)
from sessions.runtime import store
from sessions.runtime.session import LiveSession, SessionOver
from sessions.runtime.vad import SAMPLE_RATE
from voicebridge import text
from voicebridge.reply import shorten
from voicebridge.voice.playback import Speaker, VoiceOut
from voicebridge.voice.posting import Poster

logger = logging.getLogger(__name__)

GAP_MS = 100  # no packet for this long: the member is silent
FILL_SILENCE_MS = 3_500  # past the longest end of turn (end_of_turn_silence_ms <= 3,000)
IDLE_CHECK_SECONDS = 1.0  # while quiet: how often to notice that the session has ended
START_ATTEMPTS = 2  # the session may end between finding and starting it: take a new one
TRANSCRIPT_CHARS = 500
INTERRUPTED = "*(interrupted)*"


@dataclass(frozen=True)
class VoiceMember:
    """A member heard in the call, as the gateway describes them."""

    user_id: int
    name: str
    role_ids: frozenset[str] = frozenset()


@database_sync_to_async
def stored_content(organization_id: uuid.UUID, message_id: str) -> str | None:
    message = Message.objects.for_org(organization_id).filter(pk=message_id).first()
    return None if message is None else message.content


class CallSink:
    """The ``Sink`` of one member's live session: audio to the call's speaker, the transcript
    and the replies to the text channel."""

    def __init__(self, call: VoiceCall, member: VoiceMember) -> None:
        self.call = call
        self.member = member
        self.audio_message: str | None = None  # the reply whose audio is arriving
        self.posted: set[str] = set()  # ids of the replies posted in the text channel
        self.ended = asyncio.Event()

    async def send_event(self, event: ServerEvent) -> None:
        speaker, poster = self.call.speaker, self.call.poster
        match event:
            case AudioStart(message_id=message_id, sample_rate=rate, encoding=encoding):
                self.audio_message = message_id
                await speaker.start(message_id, sample_rate=rate, encoding=encoding)
            case AudioEnd(message_id=message_id):
                speaker.end(message_id)
            case Clear(message_id=message_id):
                await speaker.clear(message_id)
                await self._show_cut(message_id)
            case Transcript(content=content, final=True):  # not the live captions
                poster.post(f"🎙️ **{self.member.name}**: {shorten(content, TRANSCRIPT_CHARS)}")
            case AssistantMessage(message_id=message_id, content=content, interrupted=cut):
                self._show_reply(message_id, content, cut)
            case ToolResult(name=name, ok=ok, error=error):
                poster.post(f"🔧 {name} ✓" if ok else f"🔧 {name} ⚠️ {shorten(error or '', 80)}")
            case Error(code=code, message=message) if code != "tool_failed":
                poster.post(f"⚠️ {message}")
            case SessionEnded():
                self.ended.set()

    def _show_reply(self, message_id: str, content: str, cut: bool) -> None:
        """Post a reply; one posted already and announced again (cut after it was complete)
        is edited to what was heard."""
        line = f"{content} {INTERRUPTED}".strip() if cut else content
        if message_id in self.posted:
            self.call.poster.edit(message_id, line)
        elif content.strip():
            self.posted.add(message_id)
            self.call.poster.post(line, key=message_id)

    async def _show_cut(self, message_id: str) -> None:
        """A reply cut short after it was posted: show it as far as it was heard."""
        try:
            heard = await stored_content(self.call.route.bot.organization_id, message_id)
        except text.DATABASE_DOWN:
            heard = None
        if heard is not None:
            self.call.poster.edit(message_id, f"{heard} {INTERRUPTED}".strip())

    async def send_audio(self, chunk: bytes) -> None:
        if self.audio_message is not None:
            await self.call.speaker.feed(self.audio_message, chunk)

    async def close(self) -> None:
        self.ended.set()


class MemberConversation:
    """One member's live session in the call, fed from a queue of 16 kHz mono PCM."""

    def __init__(self, call: VoiceCall, member: VoiceMember) -> None:
        self.call = call
        self.member = member
        self.sink = CallSink(call, member)
        self.live: LiveSession | None = None
        self.session_id: uuid.UUID | None = None
        self.audio: asyncio.Queue[bytes] = asyncio.Queue()
        self._marked: tuple[str, float] | None = None
        self.task = asyncio.create_task(self._run(), name=f"discord-voice-{member.user_id}")

    @property
    def over(self) -> bool:
        return self.task.done() or self.sink.ended.is_set()

    async def _run(self) -> None:
        try:
            self.live = await self._start()
            if self.live is not None:
                await self._listen(self.live)
        except text.DATABASE_DOWN:
            self.call.poster.post(text.FAILED_DATABASE)
        except Exception:  # a bug here must not silence the call for this member: say so
            logger.exception("Discord voice conversation of %s failed", self.member.user_id)
            self.call.poster.post(text.FAILED_OURS)
        finally:
            if self.live is not None:
                await self.live.close()

    async def _start(self) -> LiveSession | None:
        ask = self.call.ask_for(self.member)
        for _ in range(START_ATTEMPTS):
            session = await text.session_for(self.call.route, ask)
            context = await store.load_context(session.id)
            if context is None:
                continue
            live = LiveSession(self.sink)
            try:
                await live.start(context, greet=False)
            except SessionOver:
                continue
            self.session_id = session.id
            return live
        self.call.poster.post(text.FAILED_OURS)
        return None

    async def _listen(self, live: LiveSession) -> None:
        silence_fed = FILL_SILENCE_MS
        while not live.ended:
            quiet = silence_fed >= FILL_SILENCE_MS  # the VAD has had its silence: just wait
            try:
                pcm = await asyncio.wait_for(
                    self.audio.get(), IDLE_CHECK_SECONDS if quiet else GAP_MS / 1000
                )
                silence_fed = 0
            except TimeoutError:
                if quiet:
                    continue  # look again whether the session has ended meanwhile
                pcm = bytes(SAMPLE_RATE * GAP_MS // 1000 * 2)
                silence_fed += GAP_MS
            try:
                await self._report_playback(live)
                await live.audio(pcm)
            except ProtocolError as exc:  # the session ended, or cannot hear at all
                if exc.code == "no_transcriber":
                    self.call.poster.post("This assistant has no transcriber: it cannot hear.")
                return

    async def _report_playback(self, live: LiveSession) -> None:
        """What the listener heard of the reply being spoken, as a client's playback mark,
        so a barge-in stores the reply as far as it was played."""
        message_id = self.sink.audio_message
        played = self.call.speaker.played_ms(message_id) if message_id else None
        if message_id is None or played is None or self._marked == (message_id, played):
            return
        self._marked = (message_id, played)
        await live.handle(Mark(message_id=message_id, played_ms=played))


class TextChannel(Protocol):
    async def send(self, content: str, **kwargs: object) -> object: ...


class VoiceCall:
    """The bot in one voice channel for one bound assistant."""

    def __init__(
        self,
        *,
        route: text.Route,
        guild_id: str,
        voice_channel_id: str,
        voice: VoiceOut,
        text_channel: TextChannel,
    ) -> None:
        self.route = route
        self.guild_id = guild_id
        self.voice_channel_id = voice_channel_id
        self.speaker = Speaker(voice)
        self.poster = Poster(text_channel)
        self.conversations: dict[int, MemberConversation] = {}
        self.closed = False

    def hears(self, member: VoiceMember) -> bool:
        """Only members with one of the bot's allowed roles are heard."""
        return not self.closed and self.route.bot.allows(set(member.role_ids))

    def ask_for(self, member: VoiceMember) -> text.Ask:
        """The member as a speaker of this call (the text path's session key: bot, channel,
        member), so what they say here continues their conversation in this channel."""
        return text.Ask(
            bot_id=self.route.bot.id,
            guild_id=self.guild_id,
            channel_id=self.voice_channel_id,
            author_id=str(member.user_id),
            author_name=member.name,
            role_ids=member.role_ids,
            content="",
        )

    def deliver(self, member: VoiceMember, pcm: bytes) -> None:
        """16 kHz mono PCM of a member (on the event loop, in the order it was spoken)."""
        if not self.hears(member):
            return
        conversation = self.conversations.get(member.user_id)
        if conversation is None or conversation.over:
            conversation = self.conversations[member.user_id] = MemberConversation(self, member)
        conversation.audio.put_nowait(pcm)

    async def close(self) -> None:
        """Leave: stop speaking, store what each member's session said, stop posting."""
        self.closed = True
        self.speaker.stop()
        tasks = [c.task for c in self.conversations.values()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.poster.close()
