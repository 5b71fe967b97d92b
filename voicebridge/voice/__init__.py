"""Discord voice for the bridge: the bot joins a voice channel, hears allowed members and
speaks the assistant's replies, as one more transport of the live-session runtime.

- ``audio``: 48 kHz stereo 20 ms frames <-> the runtime's rates (soxr, libopus).
- ``dave``: the DAVE end-to-end layer of received frames (the connection's davey session).
- ``playback``: replies played through discord.py's player; barge-in stops it.
- ``listen``: discord-ext-voice-recv's sink: DAVE, Opus, resampling, off the event loop.
- ``call``: who is heard, and each member's ``LiveSession`` with the call as its ``Sink``.
- ``commands``: ``/join`` and ``/leave``.
"""
