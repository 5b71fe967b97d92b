// The test chat page: one conversation with an assistant, by voice (hands-free or push to
// talk) or typed. The server creates the session for the signed-in member; this page holds no
// key. `window.chatStats` counts what really happened (frames sent, samples played) for tests.

import { CLOSE_REASONS, SessionSocket } from "./connection.js";
import { Microphone } from "./microphone.js";
import { Player } from "./player.js";
import { Transcript } from "./transcript.js";

const root = document.getElementById("chat");
const $ = (id) => document.getElementById(id);
const ui = {
  start: $("chat-start"),
  end: $("chat-end"),
  status: $("chat-status"),
  level: $("chat-level"),
  talk: $("chat-talk"),
  interrupt: $("chat-interrupt"),
  form: $("chat-form"),
  text: $("chat-text"),
  send: $("chat-send"),
  simulated: $("chat-simulated"),
  alert: $("chat-alert"),
  alertText: $("chat-alert-text"),
  resume: $("chat-resume"),
  sessionLink: $("chat-session-link"),
  sessionHref: $("chat-session-href"),
};

const stats = (window.chatStats = {
  framesSent: 0,
  commitsSent: 0,
  interruptsSent: 0,
  marksSent: 0,
  samplesPlayed: 0,
  nonSilentSamplesPlayed: 0,
  bufferedSamples: 0,
  clears: 0,
  lastClearAt: null,
  lastClearDropped: 0,
  micLevel: 0,
  peakMicLevel: 0,
  connected: false,
  sessionId: null,
});

const transcript = new Transcript($("chat-log"));
const state = {
  session: null, // the session endpoint's answer
  socket: null,
  microphone: null,
  player: null,
  talking: false,
  connected: false,
  ended: false,
  lastPlayback: null,
  alertKind: null,
  resuming: false,
};

function mode() {
  return document.querySelector('input[name="chat-mode"]:checked').value;
}

function setStatus(text) {
  ui.status.textContent = text;
}

function yourTurn() {
  if (!state.connected) return;
  setStatus(mode() === "hands-free" ? "Your turn: speak any time." : "Your turn: hold to talk.");
}

function showAlert(text, { resumable = false, kind = "problem" } = {}) {
  state.alertKind = kind;
  ui.alertText.textContent = text;
  ui.resume.hidden = !resumable;
  ui.alert.hidden = false;
  if (resumable) ui.resume.focus();
}

function hideAlert() {
  ui.alert.hidden = true;
}

function setLive(live) {
  state.connected = stats.connected = live;
  for (const control of [ui.text, ui.send, ui.end]) control.disabled = !live;
  ui.interrupt.disabled = !live || !state.session?.interruptions_enabled;
  ui.talk.disabled = !live || !state.microphone;
}

// ---- starting ---------------------------------------------------------------------------

async function start() {
  ui.start.disabled = true;
  hideAlert();
  state.ended = false;
  // Both audio contexts start inside the click: browsers keep later ones suspended.
  const rate = Number(root.dataset.outputSampleRate) || null;
  const playerReady = rate && !state.player ? startPlayer(rate) : Promise.resolve();
  await startMicrophone();
  try {
    await playerReady;
    await newSession();
  } catch (error) {
    showAlert(error.message);
    ui.start.disabled = false;
    setStatus("Not connected");
  }
}

async function startMicrophone() {
  if (state.microphone) return;
  setStatus("Asking for the microphone…");
  const microphone = new Microphone({ onFrame: sendFrame, onLevel: showLevel });
  try {
    await microphone.start();
    state.microphone = microphone;
  } catch (error) {
    await microphone.stop();
    transcript.notice(microphoneProblem(error), "error");
    showAlert(microphoneProblem(error));
  }
}

function microphoneProblem(error) {
  if (error.name === "NotAllowedError" || error.name === "SecurityError") {
    return "Microphone access was denied. Allow it for this site in the browser's settings (the icon in the address bar) and start again. You can still type.";
  }
  if (error.name === "NotSupportedError") {
    return "Browsers allow the microphone only on https:// pages (or localhost). You can still type.";
  }
  if (error.name === "NotFoundError" || error.name === "OverconstrainedError") {
    return "No microphone was found. Connect one and start again. You can still type.";
  }
  return `The microphone could not be started (${error.name}). You can still type.`;
}

async function newSession() {
  setStatus("Starting a session…");
  const response = await fetch(root.dataset.sessionEndpoint, {
    method: "POST",
    headers: { "X-CSRFToken": root.dataset.csrfToken, Accept: "application/json" },
    credentials: "same-origin",
  });
  const body = await response.json().catch(() => ({}));
  if (response.redirected) throw new Error("You are signed out. Sign in again, then start.");
  if (!response.ok || !body.session_id) {
    throw new Error(body.error ?? `The session could not be created (${response.status}).`);
  }
  state.session = body;
  if (body.output_sample_rate && !state.player) await startPlayer(body.output_sample_rate);
  state.player?.setInputRate(body.output_sample_rate);
  ui.sessionHref.href = body.session_url;
  connect();
}

async function startPlayer(rate) {
  const player = new Player({
    onStats: playbackStats,
    onMark: sendMark,
    onCleared: cleared,
    onFinished: yourTurn,
  });
  await player.start(rate);
  state.player = player;
}

function connect() {
  setStatus("Connecting…");
  state.socket?.close();
  // Our own origin, always: the server accepts the login cookie from its own pages only.
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const url = `${scheme}://${location.host}${state.session.ws_path}`;
  state.socket = new SessionSocket(url, {
    onEvent: handle,
    onAudio: (buffer) => state.player?.play(buffer),
    onClose: closed,
  });
  state.socket.connect();
}

// ---- server events ----------------------------------------------------------------------

const handlers = {
  connected(event) {
    setLive(true);
    if (state.alertKind === "connection") hideAlert();
    stats.sessionId = event.session_id;
    if (mode() === "push-to-talk") ui.talk.focus();
    yourTurn();
    if (event.simulated && event.notice) {
      ui.simulated.textContent = event.notice;
      ui.simulated.hidden = false;
    }
    ui.sessionLink.hidden = false;
  },
  "speech-started"() {
    setStatus("Listening…");
  },
  "speech-stopped"() {
    setStatus("Transcribing…");
  },
  transcript(event) {
    transcript.spoken(event);
    if (event.final) setStatus("Thinking…");
  },
  "assistant-delta"(event) {
    transcript.delta(event.message_id, event.content);
  },
  "audio-start"(event) {
    state.player?.setInputRate(event.sample_rate);
    state.player?.audioStart(event.message_id);
    setStatus("Speaking…");
  },
  "audio-end"(event) {
    state.player?.audioEnd(event.message_id);
  },
  "tool-call"(event) {
    transcript.toolCall(event);
  },
  "tool-result"(event) {
    transcript.toolResult(event);
  },
  "assistant-message"(event) {
    transcript.finished(event);
    if (!state.player) yourTurn(); // a text-only reply: nothing left to play
    if (event.latency?.error) transcript.notice(`The reply failed: ${event.latency.error}.`, "error");
  },
  clear(event) {
    state.player?.flush("server");
    transcript.interrupted(event.message_id);
  },
  error(event) {
    const text = event.retryable === undefined ? event.message : `${event.message} (${event.code})`;
    transcript.notice(text, "error");
    if (event.code.endsWith("_unavailable") || event.code === "tool_failed") showAlert(text);
  },
  "session-ended"(event) {
    state.ended = true;
    setStatus(`The session ended (${event.reason}).`);
    transcript.notice(`Session ended: ${event.reason}.`);
  },
};

function handle(event) {
  handlers[event.type]?.(event);
}

function closed(code) {
  const wasLive = state.connected;
  setLive(false);
  state.player?.flush("disconnected");
  if (state.ended || code === 1000) {
    finish();
    return;
  }
  if (!wasLive && code === 4403 && state.resuming) {
    // The session ended while we were away: carry on in a new one.
    state.resuming = false;
    transcript.notice("That session had ended; this is a new one.");
    newSession().catch((error) => showAlert(error.message));
    return;
  }
  state.resuming = false;
  setStatus("Disconnected");
  const resumable = ![4400, 4404].includes(code);
  const reason = CLOSE_REASONS[code] ?? `The connection closed (${code}).`;
  showAlert(reason, { resumable, kind: "connection" });
}

function finish() {
  state.socket = null;
  ui.start.disabled = false;
  ui.start.textContent = "Start a new conversation";
  ui.sessionLink.hidden = false;
  state.microphone?.stop();
  state.microphone = null;
}

function resume() {
  hideAlert();
  state.resuming = true;
  connect();
}

// ---- audio ------------------------------------------------------------------------------

function sendFrame(buffer) {
  if (!state.connected) return;
  if (mode() === "push-to-talk" && !state.talking) return;
  if (state.socket.sendAudio(buffer)) stats.framesSent++;
}

function showLevel(level) {
  stats.micLevel = level;
  stats.peakMicLevel = Math.max(stats.peakMicLevel, level);
  const shown = Math.min(1, level * 4);
  ui.level.value = shown;
  ui.level.textContent = shown.toFixed(2);
}

function playbackStats(data) {
  state.lastPlayback = data;
  stats.samplesPlayed = data.samplesPlayed;
  stats.nonSilentSamplesPlayed = data.nonSilentSamplesPlayed;
  stats.bufferedSamples = data.buffered;
}

function cleared(data) {
  stats.clears++;
  stats.lastClearAt = performance.now();
  stats.lastClearDropped = data.dropped; // queued samples that were never played
  yourTurn();
}

function sendMark(messageId, playedMs) {
  if (state.socket?.send({ type: "mark", message_id: messageId, played_ms: playedMs })) {
    stats.marksSent++;
  }
}

/** Barge-in from this page: silence now, tell the server what was heard, then stop it. */
async function bargeIn({ always = false } = {}) {
  if (!state.session?.interruptions_enabled) return;
  const playing = state.lastPlayback && (state.lastPlayback.playing || state.lastPlayback.buffered > 0);
  if (!always && !playing) return;
  const heard = await state.player?.flush("barge-in");
  state.player?.markAll(heard);
  if (state.socket?.send({ type: "interrupt" })) stats.interruptsSent++;
}

function talk(pressed) {
  if (pressed === state.talking || !state.connected || !state.microphone) return;
  state.talking = pressed;
  ui.talk.setAttribute("aria-pressed", String(pressed));
  ui.talk.textContent = pressed ? "Listening… release to send" : "Hold to talk";
  if (pressed) {
    bargeIn();
  } else if (state.socket?.send({ type: "audio-commit" })) {
    stats.commitsSent++;
  }
}

// ---- wiring -----------------------------------------------------------------------------

function sendTyped(event) {
  event.preventDefault();
  const content = ui.text.value.trim();
  if (!content || !state.connected) return;
  bargeIn().then(() => {
    if (state.socket?.send({ type: "user-message", content })) {
      transcript.user(content, { typed: true });
      ui.text.value = "";
      setStatus("Thinking…");
    }
  });
}

function modeChanged() {
  const pushToTalk = mode() === "push-to-talk";
  ui.talk.hidden = !pushToTalk;
  if (state.talking) talk(false);
  yourTurn();
}

function spaceKey(event) {
  if (event.code !== "Space" || mode() !== "push-to-talk" || event.repeat) return;
  const tag = event.target.tagName;
  if (tag === "INPUT" && event.target.type === "text") return;
  if (tag === "TEXTAREA" || (tag === "BUTTON" && event.target !== ui.talk)) return;
  event.preventDefault();
  talk(event.type === "keydown");
}

ui.start.addEventListener("click", start);
ui.end.addEventListener("click", () => state.socket?.send({ type: "end-session" }));
ui.interrupt.addEventListener("click", () => bargeIn({ always: true }));
ui.resume.addEventListener("click", resume);
ui.form.addEventListener("submit", sendTyped);
ui.talk.addEventListener("pointerdown", (event) => {
  ui.talk.setPointerCapture?.(event.pointerId);
  talk(true);
});
for (const name of ["pointerup", "pointercancel"]) ui.talk.addEventListener(name, () => talk(false));
// Leaving the page ends the conversation (a reload starts a new one), rather than leaving
// the session open until it expires.
window.addEventListener("pagehide", () => state.socket?.send({ type: "end-session" }));
document.addEventListener("keydown", spaceKey);
document.addEventListener("keyup", spaceKey);
for (const radio of document.querySelectorAll('input[name="chat-mode"]')) {
  radio.addEventListener("change", modeChanged);
}
modeChanged();
// Start works once everything above is wired: a click before would do nothing.
ui.start.disabled = ui.start.dataset.archived === "true";
