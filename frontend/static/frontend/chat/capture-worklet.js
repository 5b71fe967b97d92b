// Microphone capture: the context's rate down to PCM16 16 kHz mono, in 20 ms frames.
//
// A moving average over one output period (3 taps from 48 kHz) is the low-pass that keeps
// most of what lies above the new Nyquist frequency out; linear interpolation then picks the
// samples at the 16 kHz instants. Each frame goes to the main thread with its level (RMS).

const TARGET_RATE = 16000;
const FRAME_SAMPLES = 320; // 20 ms at 16 kHz = 640 bytes

class Pcm16CaptureProcessor extends AudioWorkletProcessor {
  constructor() {
    super();
    this.step = sampleRate / TARGET_RATE; // input samples per output sample
    this.taps = Math.max(1, Math.round(this.step));
    this.history = new Float32Array(this.taps);
    this.historyIndex = 0;
    this.historySum = 0;
    this.previous = 0; // the last filtered input sample
    this.phase = 0; // where the next output sample lies after `previous`, in input samples
    this.newFrame();
  }

  newFrame() {
    this.frame = new Int16Array(FRAME_SAMPLES);
    this.filled = 0;
    this.squares = 0;
  }

  lowPass(sample) {
    this.historySum += sample - this.history[this.historyIndex];
    this.history[this.historyIndex] = sample;
    this.historyIndex = (this.historyIndex + 1) % this.taps;
    if (this.historyIndex === 0) {
      // Recompute now and then so rounding errors cannot accumulate.
      this.historySum = this.history.reduce((sum, value) => sum + value, 0);
    }
    return this.historySum / this.taps;
  }

  push(sample) {
    const clamped = Math.max(-1, Math.min(1, sample));
    this.frame[this.filled++] = clamped < 0 ? clamped * 0x8000 : clamped * 0x7fff;
    this.squares += clamped * clamped;
    if (this.filled === FRAME_SAMPLES) {
      const level = Math.sqrt(this.squares / FRAME_SAMPLES);
      this.port.postMessage({ pcm: this.frame.buffer, level }, [this.frame.buffer]);
      this.newFrame();
    }
  }

  process(inputs) {
    const channels = inputs[0];
    if (!channels || channels.length === 0) return true;
    const length = channels[0].length;
    for (let i = 0; i < length; i++) {
      let mixed = 0;
      for (const channel of channels) mixed += channel[i];
      const current = this.lowPass(mixed / channels.length);
      // Output instants between `previous` (0) and `current` (1).
      while (this.phase <= 1) {
        this.push(this.previous + (current - this.previous) * this.phase);
        this.phase += this.step;
      }
      this.phase -= 1;
      this.previous = current;
    }
    return true;
  }
}

registerProcessor("pcm16-capture", Pcm16CaptureProcessor);
