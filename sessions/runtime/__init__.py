"""The transport-agnostic live-session runtime.

``LiveSession`` owns one conversation: it takes inputs (user text, audio, interrupt, marks, end)
and emits events to a sink. The WebSocket consumer, the REST text turn and the Discord bridge
all drive it; nothing transport- or provider-specific lives here.
"""
