// The assistant's voice: PCM16 frames into the playback worklet (playback-worklet.js), and
// what it really played back out as `mark`s, so an interrupted reply is stored as heard.

const MARK_EVERY_MS = 250;

export class Player {
  constructor({ onStats, onMark, onCleared, onFinished }) {
    this.onStats = onStats; // (stats) => void
    this.onMark = onMark; // (messageId, playedMs) => void
    this.onCleared = onCleared; // (stats) => void
    this.onFinished = onFinished; // (messageId) => void: all of a reply's audio was played
    this.context = null;
    this.node = null;
    this.inputRate = null;
    this.current = null; // the reply whose audio is arriving
    this.sentMarks = new Map(); // message id -> {ms, at}
    this.pendingClear = null;
  }

  /** Create the audio context at the assistant's output rate (call from a user gesture). */
  async start(rate) {
    this.inputRate = rate;
    try {
      this.context = new AudioContext({ sampleRate: rate, latencyHint: "interactive" });
    } catch {
      this.context = new AudioContext({ latencyHint: "interactive" }); // resampled below
    }
    await this.context.audioWorklet.addModule(new URL("./playback-worklet.js", import.meta.url));
    this.node = new AudioWorkletNode(this.context, "pcm16-playback", {
      numberOfInputs: 0,
      outputChannelCount: [1],
      processorOptions: { prebufferMs: 60 },
    });
    this.node.port.onmessage = ({ data }) => this.receive(data);
    this.node.connect(this.context.destination);
    await this.context.resume();
  }

  receive(data) {
    if (data.type === "stats") {
      this.onStats(data);
      for (const [id, samples] of Object.entries(data.played)) this.mark(id, samples, false);
    } else if (data.type === "finished") {
      this.mark(data.id, data.samples, true);
      this.onFinished(data.id);
    } else if (data.type === "cleared") {
      this.onStats(data);
      this.onCleared(data);
      this.pendingClear?.(data);
      this.pendingClear = null;
    }
  }

  mark(id, samples, force) {
    const ms = Math.round((samples / this.context.sampleRate) * 1000);
    const last = this.sentMarks.get(id);
    const now = performance.now();
    if (last && (last.ms === ms || (!force && now - last.at < MARK_EVERY_MS))) return;
    this.sentMarks.set(id, { ms, at: now });
    this.onMark(id, ms);
  }

  /** The rate of the audio that will arrive (resampled here if the context runs at another). */
  setInputRate(rate) {
    if (rate) this.inputRate = rate;
  }

  audioStart(messageId) {
    this.current = messageId;
  }

  audioEnd(messageId) {
    this.node?.port.postMessage({ type: "end", id: messageId });
  }

  /** One binary frame of the current reply. */
  play(buffer) {
    if (!this.node || !this.current) return;
    if (this.context.sampleRate === this.inputRate) {
      this.node.port.postMessage({ type: "audio", id: this.current, pcm: buffer }, [buffer]);
      return;
    }
    const samples = resample(new Int16Array(buffer), this.inputRate, this.context.sampleRate);
    this.node.port.postMessage({ type: "samples", id: this.current, samples }, [samples.buffer]);
  }

  /** Drop everything queued now; resolves with what had been played. */
  flush(reason) {
    if (!this.node) return Promise.resolve(null);
    const cleared = new Promise((resolve) => {
      this.pendingClear = resolve;
      setTimeout(() => resolve(null), 200);
    });
    this.node.port.postMessage({ type: "clear", reason });
    this.current = null;
    return cleared;
  }

  /** Send the marks of everything played so far (before a barge-in). */
  markAll(stats) {
    for (const [id, samples] of Object.entries(stats?.played ?? {})) this.mark(id, samples, true);
  }

  async stop() {
    if (this.context && this.context.state !== "closed") await this.context.close();
    this.context = null;
    this.node = null;
  }
}

/** Linear interpolation from one rate to another (only when the browser refused the rate). */
function resample(pcm, from, to) {
  const length = Math.max(1, Math.round((pcm.length * to) / from));
  const out = new Float32Array(length);
  const step = from / to;
  for (let i = 0; i < length; i++) {
    const position = i * step;
    const index = Math.floor(position);
    const next = Math.min(index + 1, pcm.length - 1);
    const fraction = position - index;
    out[i] = (pcm[Math.min(index, pcm.length - 1)] * (1 - fraction) + pcm[next] * fraction) / 0x8000;
  }
  return out;
}
