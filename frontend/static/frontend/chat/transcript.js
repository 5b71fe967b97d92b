// The live transcript: user turns, assistant replies streaming into their bubble, tool calls
// and results inline, and each reply's latency figures.

const LATENCY_PARTS = [
  ["stt_ms", "STT"],
  ["llm_ttft_ms", "LLM first token"],
  ["tts_ttfb_ms", "TTS first byte"],
  ["first_audio_ms", "first audio"],
];

export class Transcript {
  constructor(list) {
    this.list = list;
    this.replies = new Map(); // message id -> bubble
    this.tools = new Map(); // tool call id -> entry
    this.heard = new Map(); // user message id -> bubble (captions, then the final words)
  }

  item(className, text = "") {
    const item = document.createElement("li");
    item.className = className;
    if (text) item.append(text);
    this.list.append(item);
    item.scrollIntoView({ block: "nearest" });
    return item;
  }

  user(content, { typed = false } = {}) {
    const item = this.item("turn user");
    item.append(speaker(typed ? "You (typed)" : "You"), paragraph(content));
    return item;
  }

  // What the user said: live captions (final false) and then the stored words, in one bubble
  // per utterance (the same message id).
  spoken(event) {
    let item = this.heard.get(event.message_id);
    if (!item) {
      item = this.user("");
      item.dataset.messageId = event.message_id;
      this.heard.set(event.message_id, item);
    }
    item.querySelector("p").textContent = event.content;
    item.classList.toggle("live", !event.final);
    if (event.final) item.removeAttribute("aria-busy");
    else item.setAttribute("aria-busy", "true"); // read out once final
    return item;
  }

  reply(messageId) {
    let bubble = this.replies.get(messageId);
    if (!bubble) {
      bubble = this.item("turn assistant");
      bubble.dataset.messageId = messageId;
      const text = paragraph("");
      text.className = "text";
      bubble.append(speaker("Assistant"), text);
      this.replies.set(messageId, bubble);
    }
    return bubble;
  }

  delta(messageId, content) {
    const bubble = this.reply(messageId);
    bubble.classList.add("streaming");
    bubble.setAttribute("aria-busy", "true"); // read out once complete, not word by word
    bubble.querySelector(".text").append(content);
  }

  finished(event) {
    const bubble = this.reply(event.message_id);
    bubble.classList.remove("streaming");
    bubble.removeAttribute("aria-busy");
    if (!event.content && !bubble.querySelector(".text").textContent) {
      bubble.remove(); // the empty text before a tool call
      this.replies.delete(event.message_id);
      return;
    }
    // A reply cut after it was complete comes again, as far as it was heard: it replaces
    // the text shown (and the latency line, not a second one).
    bubble.querySelector(".text").textContent = event.content || "(cut off before a word was heard)";
    if (event.interrupted) this.interrupted(event.message_id);
    bubble.querySelector(".latency")?.remove();
    const latency = latencyLine(event.latency ?? {});
    if (latency) bubble.append(latency);
  }

  interrupted(messageId) {
    const bubble = this.replies.get(messageId);
    if (!bubble || bubble.classList.contains("interrupted")) return;
    bubble.classList.add("interrupted");
    const badge = document.createElement("span");
    badge.className = "badge interrupted";
    badge.textContent = "interrupted";
    bubble.querySelector(".speaker").append(" ", badge);
  }

  toolCall(event) {
    const entry = this.item("tool");
    entry.dataset.toolCallId = event.id;
    const summary = document.createElement("span");
    summary.textContent = `Tool ${event.name}(${formatArguments(event.arguments)})`;
    const result = document.createElement("span");
    result.className = "result";
    result.textContent = " … running";
    entry.append(summary, result);
    this.tools.set(event.id, entry);
  }

  toolResult(event) {
    const entry = this.tools.get(event.id) ?? this.item("tool");
    const outcome = event.ok ? JSON.stringify(event.result) : `failed: ${event.error}`;
    entry.classList.toggle("failed", !event.ok);
    entry.querySelector(".result")?.remove();
    const result = document.createElement("span");
    result.className = "result";
    result.textContent = ` → ${outcome}`;
    entry.append(result);
  }

  notice(text, kind = "info") {
    const item = this.item(`notice ${kind}`, text);
    if (kind === "error") item.setAttribute("role", "alert");
    return item;
  }
}

function speaker(name) {
  const label = document.createElement("span");
  label.className = "speaker";
  label.textContent = name;
  return label;
}

function paragraph(text) {
  const p = document.createElement("p");
  p.textContent = text;
  return p;
}

function formatArguments(args) {
  if (typeof args === "string") return args;
  return JSON.stringify(args ?? {});
}

function latencyLine(latency) {
  const parts = LATENCY_PARTS.filter(([key]) => typeof latency[key] === "number").map(
    ([key, label]) => `${label} ${Math.round(latency[key])} ms`,
  );
  if (latency.error) parts.push(`failed: ${latency.error}`);
  if (parts.length === 0) return null;
  const line = document.createElement("p");
  line.className = "latency";
  line.textContent = parts.join(" · ");
  return line;
}
