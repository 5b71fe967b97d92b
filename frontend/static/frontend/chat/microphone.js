// The microphone: getUserMedia with the browser's voice processing, then the capture worklet
// (capture-worklet.js) that hands over 20 ms PCM16 16 kHz frames with their level.

export const MIC_CONSTRAINTS = {
  audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true, channelCount: 1 },
};

export class Microphone {
  constructor({ onFrame, onLevel }) {
    this.onFrame = onFrame; // (ArrayBuffer of 640 bytes) => void
    this.onLevel = onLevel; // (0..1 RMS) => void
    this.context = null;
    this.stream = null;
  }

  /** Ask for the microphone; rejects with the browser's error (NotAllowedError, NotFoundError…). */
  async start() {
    if (!navigator.mediaDevices?.getUserMedia) {
      throw new DOMException("This page cannot use a microphone here.", "NotSupportedError");
    }
    // Made before the permission prompt, while the click that started it still counts as
    // the user's gesture (browsers keep audio contexts made later suspended).
    this.context = new AudioContext({ latencyHint: "interactive" });
    this.stream = await navigator.mediaDevices.getUserMedia(MIC_CONSTRAINTS);
    await this.context.audioWorklet.addModule(new URL("./capture-worklet.js", import.meta.url));
    const source = this.context.createMediaStreamSource(this.stream);
    const capture = new AudioWorkletNode(this.context, "pcm16-capture", {
      numberOfInputs: 1,
      numberOfOutputs: 0,
      channelCount: 1,
      channelCountMode: "explicit",
    });
    capture.port.onmessage = ({ data }) => {
      this.onLevel(data.level);
      this.onFrame(data.pcm);
    };
    source.connect(capture);
    await this.context.resume();
  }

  get rate() {
    return this.context?.sampleRate ?? null;
  }

  async stop() {
    this.stream?.getTracks().forEach((track) => track.stop());
    this.stream = null;
    if (this.context && this.context.state !== "closed") await this.context.close();
    this.context = null;
    this.onLevel(0);
  }
}
