// The session's WebSocket (docs/PROTOCOL.md): JSON events and binary audio both ways. The
// browser sends the member's login cookie with it; no token is needed from our own pages.

export const CLOSE_REASONS = {
  1000: "The session ended.",
  1006: "The connection to the server was lost.",
  1012: "The server restarted.",
  1013: "The server lost its database or message bus.",
  4400: "The connection was refused (bad option).",
  4401: "You are no longer signed in. Sign in again, then resume.",
  4403: "This session has ended.",
  4404: "This session does not exist for you.",
  4409: "This conversation was opened somewhere else (another tab?).",
  4429: "Your organization is at its limit of simultaneous sessions. Try again in a moment.",
};

export class SessionSocket {
  constructor(url, { onEvent, onAudio, onClose }) {
    this.url = url;
    this.onEvent = onEvent;
    this.onAudio = onAudio;
    this.onClose = onClose;
    this.socket = null;
  }

  connect() {
    const socket = new WebSocket(this.url);
    socket.binaryType = "arraybuffer";
    socket.onmessage = ({ data }) => {
      if (typeof data === "string") this.onEvent(JSON.parse(data));
      else this.onAudio(data);
    };
    socket.onclose = ({ code }) => {
      if (this.socket !== socket) return; // closed by us: nothing to report
      this.socket = null;
      this.onClose(code);
    };
    this.socket = socket;
  }

  get open() {
    return this.socket?.readyState === WebSocket.OPEN;
  }

  send(message) {
    if (!this.open) return false;
    this.socket.send(JSON.stringify(message));
    return true;
  }

  sendAudio(buffer) {
    if (!this.open) return false;
    this.socket.send(buffer);
    return true;
  }

  close() {
    const socket = this.socket;
    this.socket = null;
    socket?.close(1000);
  }
}
