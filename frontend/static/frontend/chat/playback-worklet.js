// Playback of the assistant's PCM16 with a small jitter buffer.
//
// Audio arrives from the main thread already at this context's rate, tagged with its reply's
// message id. A reply starts playing once PREBUFFER of it is queued (or all of it has come),
// so a frame arriving a little late does not leave a gap. `clear` drops everything queued in
// the message handler, i.e. before the next 128-sample render quantum. Counters of what was
// really played (per reply, and non-silent samples) go back to the main thread.

const STATS_EVERY_QUANTA = 8;
const SILENCE = 1 / 1024; // below about -60 dBFS counts as silence

class Pcm16PlaybackProcessor extends AudioWorkletProcessor {
  constructor(options) {
    super();
    const prebufferMs = options.processorOptions?.prebufferMs ?? 60;
    this.prebuffer = Math.round((sampleRate * prebufferMs) / 1000);
    this.queue = []; // {id, samples: Float32Array, offset}
    this.buffered = 0;
    this.complete = new Set(); // replies whose last audio has arrived
    this.playing = false;
    this.played = {}; // message id -> samples played
    this.samplesPlayed = 0;
    this.nonSilentSamplesPlayed = 0;
    this.quanta = 0;
    this.port.onmessage = (event) => this.receive(event.data);
  }

  receive(message) {
    if (message.type === "audio") {
      const pcm = new Int16Array(message.pcm);
      const samples = new Float32Array(pcm.length);
      for (let i = 0; i < pcm.length; i++) samples[i] = pcm[i] / 0x8000;
      this.queue.push({ id: message.id, samples, offset: 0 });
      this.buffered += samples.length;
    } else if (message.type === "samples") {
      this.queue.push({ id: message.id, samples: message.samples, offset: 0 });
      this.buffered += message.samples.length;
    } else if (message.type === "end") {
      this.complete.add(message.id);
      this.finishIfDone(message.id);
    } else if (message.type === "clear") {
      const dropped = this.buffered;
      this.queue = [];
      this.buffered = 0;
      this.playing = false;
      this.port.postMessage({
        type: "cleared",
        dropped,
        at: currentTime,
        reason: message.reason,
        ...this.stats(),
      });
    }
  }

  finishIfDone(id) {
    if (!this.complete.has(id) || this.queue.some((chunk) => chunk.id === id)) return;
    this.complete.delete(id);
    this.port.postMessage({ type: "finished", id, samples: this.played[id] ?? 0 });
  }

  stats() {
    return {
      played: { ...this.played },
      samplesPlayed: this.samplesPlayed,
      nonSilentSamplesPlayed: this.nonSilentSamplesPlayed,
      buffered: this.buffered,
      playing: this.playing,
    };
  }

  readyToPlay() {
    if (this.queue.length === 0) return false;
    const last = this.queue[this.queue.length - 1];
    return this.buffered >= this.prebuffer || this.complete.has(last.id);
  }

  process(inputs, outputs) {
    const output = outputs[0];
    const channel = output[0];
    if (!this.playing) this.playing = this.readyToPlay();
    let written = 0;
    while (this.playing && written < channel.length && this.queue.length > 0) {
      const chunk = this.queue[0];
      const count = Math.min(channel.length - written, chunk.samples.length - chunk.offset);
      for (let i = 0; i < count; i++) {
        const value = chunk.samples[chunk.offset + i];
        channel[written + i] = value;
        if (Math.abs(value) > SILENCE) this.nonSilentSamplesPlayed++;
      }
      chunk.offset += count;
      written += count;
      this.buffered -= count;
      this.samplesPlayed += count;
      this.played[chunk.id] = (this.played[chunk.id] ?? 0) + count;
      if (chunk.offset === chunk.samples.length) {
        this.queue.shift();
        this.finishIfDone(chunk.id);
      }
    }
    if (this.queue.length === 0) this.playing = false; // an underrun: buffer up again
    channel.fill(0, written);
    for (let c = 1; c < output.length; c++) output[c].set(channel);
    if (++this.quanta % STATS_EVERY_QUANTA === 0) {
      this.port.postMessage({ type: "stats", ...this.stats() });
    }
    return true;
  }
}

registerProcessor("pcm16-playback", Pcm16PlaybackProcessor);
