// careline's web chat page. The visitor's token stays in this browser (localStorage); the
// conversation shown here, the patient's own words included, stays in this tab
// (sessionStorage): careline's server keeps only its own replies, sealed, for a while.
"use strict";

const L = JSON.parse(document.getElementById("labels").textContent);
const $ = (id) => document.getElementById(id);
const KEYS = { token: "careline.webchat.token", last: "careline.webchat.last",
  log: "careline.webchat.log", pending: "careline.webchat.pending" };
const KEEP = 200; // lines kept in this tab
const EMERGENCY_NUMBERS = new Set(["110", "112", "119", "120", "911", "999"]);
const PHONE = /(\+?\d[\d-]{6,}\d|(?<![\d.])\d{3}(?![\d.]))/g;

// Browsers may deny storage to a page framed by another site (third-party storage): then the
// conversation lasts as long as the page.
function storage(name) {
  try {
    const found = window[name];
    found.getItem("careline.webchat.probe");
    return found;
  } catch (e) {
    const memory = new Map();
    return {
      getItem: (key) => (memory.has(key) ? memory.get(key) : null),
      setItem: (key, value) => memory.set(key, String(value)),
      removeItem: (key) => memory.delete(key),
    };
  }
}
const local = storage("localStorage");
const session = storage("sessionStorage");

const state = {
  lang: document.documentElement.lang,
  token: local.getItem(KEYS.token),
  last: session.getItem(KEYS.last) || "0",
  log: JSON.parse(session.getItem(KEYS.log) || "[]"),
  pending: JSON.parse(session.getItem(KEYS.pending) || "[]"),
  sending: false,
  typingTimer: null,
};

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function save() {
  session.setItem(KEYS.last, state.last);
  session.setItem(KEYS.log, JSON.stringify(state.log.slice(-KEEP)));
  session.setItem(KEYS.pending, JSON.stringify(state.pending));
}

function setStatus(name) {
  const status = $("status");
  status.className = name;
  status.textContent = L[name] || "";
}

// ------------------------------------------------------------------ showing lines

// Text as nodes: phone numbers in careline's lines become tel: links.
function withLinks(text) {
  const parts = [];
  let at = 0;
  for (const match of text.matchAll(PHONE)) {
    const number = match[0];
    if (number.length === 3 && !EMERGENCY_NUMBERS.has(number)) continue;
    parts.push(document.createTextNode(text.slice(at, match.index)));
    const link = document.createElement("a");
    link.href = "tel:" + number.replace(/-/g, "");
    link.className = "tel";
    link.textContent = number;
    parts.push(link);
    at = match.index + number.length;
  }
  parts.push(document.createTextNode(text.slice(at)));
  return parts;
}

function show(line, live) {
  const box = document.createElement("div");
  box.className = line.role === "me" ? "msg me" : `msg bot ${line.kind}`;
  const who = document.createElement("span");
  who.className = "who";
  who.textContent = line.role === "me" ? L.you
    : line.kind === "handoff" ? L.staff : line.kind === "emergency" ? L.emergency : L.careline;
  box.append(who);
  if (line.role === "me") box.append(document.createTextNode(line.text));
  else box.append(...withLinks(line.text));
  if (line.id) box.dataset.id = line.id;
  $("log").append(box);
  if (line.buttons && line.buttons.length) {
    const chips = document.createElement("div");
    chips.className = "chips";
    for (const button of line.buttons) {
      const chip = document.createElement("button");
      chip.type = "button";
      chip.className = "chip";
      chip.dataset.button = button.id;
      chip.textContent = button.label;
      chip.addEventListener("click", () => press(button, line.lang));
      chips.append(chip);
    }
    $("log").append(chips);
  }
  if (live) box.scrollIntoView({ block: "end" });
  return box;
}

function markPending(id, text, failed) {
  const box = document.querySelector(`.msg.me[data-id="${id}"]`);
  if (!box) return;
  let note = box.querySelector(".state");
  if (text === null) { if (note) note.remove(); return; }
  if (!note) { note = document.createElement("span"); box.append(note); }
  note.className = failed ? "state failed" : "state";
  note.textContent = text;
}

function remember(line) {
  state.log.push(line);
  if (state.log.length > KEEP) state.log.splice(0, state.log.length - KEEP);
  save();
}

// ------------------------------------------------------------------ the API

function headers(extra) {
  return { Authorization: "Bearer " + state.token, ...extra };
}

async function visitor() {
  while (!state.token) {
    const resp = await fetch("api/visitors?lang=" + state.lang, { method: "POST" }).catch(() => null);
    if (resp && resp.status === 201) {
      state.token = (await resp.json()).token;
      local.setItem(KEYS.token, state.token);
      state.last = "0";
      save();
      return;
    }
    await sleep(retryAfter(resp));
  }
}

function retryAfter(resp) {
  const seconds = resp ? Number(resp.headers.get("Retry-After")) : NaN;
  return Number.isFinite(seconds) && seconds > 0 ? Math.min(seconds, 60) * 1000 : 3000;
}

function forgetVisitor() {
  state.token = null;
  local.removeItem(KEYS.token);
}

// Sends what waits, in order; a message stays until careline has it (or refuses it).
async function flush() {
  if (state.sending) return;
  state.sending = true;
  try {
    while (state.pending.length) {
      const message = state.pending[0];
      await visitor();
      const resp = await fetch("api/messages", {
        method: "POST",
        headers: headers({ "Content-Type": "application/json" }),
        body: JSON.stringify(message),
      }).catch(() => null);
      if (resp && (resp.status === 202 || resp.status === 200)) {
        state.pending.shift();
        save();
        markPending(message.id, null);
        continue;
      }
      if (resp && resp.status === 401) { forgetVisitor(); restartStream(); continue; }
      if (resp && (resp.status === 400 || resp.status === 413 || resp.status === 415)) {
        state.pending.shift();
        save();
        const why = resp.status === 413 ? L.too_long : ((await resp.json().catch(() => ({}))).error || "");
        markPending(message.id, `${L.rejected} ${why}`, true);
        continue;
      }
      markPending(message.id, L.not_sent, false);
      await sleep(retryAfter(resp));
    }
  } finally {
    state.sending = false;
  }
}

function newId() {
  const bytes = new Uint8Array(12);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function queue(message, shown) {
  const line = { role: "me", text: shown, id: message.id };
  remember(line);
  show(line, true);
  state.pending.push(message);
  save();
  flush();
}

function press(button, lang) {
  if (button.id === "forget") {
    // Erased here at once; careline erases its memory of the chat and confirms.
    state.log = [];
    $("log").replaceChildren();
  }
  queue({ id: newId(), button: button.id, lang: lang || state.lang }, button.label);
}

// ------------------------------------------------------------------ the event stream

let streamAbort = null;

function restartStream() {
  if (streamAbort) streamAbort.abort();
}

function onEvent(event) {
  if (event.type === "typing") {
    $("typing").hidden = false;
    clearTimeout(state.typingTimer);
    state.typingTimer = setTimeout(() => { $("typing").hidden = true; }, 8000);
    return;
  }
  if (event.type !== "message") return;
  const reply = JSON.parse(event.data);
  const line = { role: "careline", kind: reply.kind, text: reply.text, buttons: reply.buttons, lang: reply.lang };
  $("typing").hidden = true;
  if (reply.lang) state.lang = reply.lang;
  state.last = event.id || state.last;
  remember(line);
  show(line, true);
}

// Server-sent events read with fetch (EventSource cannot send the token in a header).
async function stream() {
  for (;;) {
    await visitor();
    streamAbort = new AbortController();
    let wait = 3000;
    try {
      const resp = await fetch("api/stream", {
        headers: headers({ "Last-Event-ID": state.last, Accept: "text/event-stream" }),
        signal: streamAbort.signal, cache: "no-store",
      });
      if (resp.status === 401) { forgetVisitor(); continue; }
      if (!resp.ok || !resp.body) { setStatus("offline"); await sleep(retryAfter(resp)); continue; }
      setStatus("online");
      const reader = resp.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value.replace(/\r\n?/g, "\n");
        let end;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = { type: "message", id: "", data: "" };
          for (const row of block.split("\n")) {
            const colon = row.indexOf(":");
            if (colon === 0) continue; // a comment (keep-alive)
            const field = colon < 0 ? row : row.slice(0, colon);
            const value2 = colon < 0 ? "" : row.slice(colon + 1).replace(/^ /, "");
            if (field === "event") event.type = value2;
            else if (field === "data") event.data += (event.data ? "\n" : "") + value2;
            else if (field === "id") event.id = value2;
            else if (field === "retry" && /^\d+$/.test(value2)) wait = Number(value2);
          }
          if (event.data) onEvent(event);
        }
      }
    } catch (e) { /* network gone, or restarted: reconnect below */ }
    setStatus("offline");
    await sleep(wait);
  }
}

// ------------------------------------------------------------------ start

function start() {
  $("title").textContent = L.title;
  $("intro").textContent = L.intro;
  $("text").placeholder = L.placeholder;
  $("text").setAttribute("aria-label", L.placeholder);
  $("send").textContent = L.send;
  $("forget").textContent = L.forget;
  $("typing").textContent = L.typing;
  setStatus("connecting");
  for (const line of state.log) show(line, false);
  $("log").scrollTop = $("log").scrollHeight;
  for (const message of state.pending) markPending(message.id, L.sending, false);

  $("composer").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = $("text").value.trim();
    if (!text) return;
    $("text").value = "";
    queue({ id: newId(), text }, text);
  });
  $("text").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      $("composer").requestSubmit();
    }
  });
  $("forget").addEventListener("click", () => {
    if (window.confirm(L.forget_confirm)) press({ id: "forget", label: L.forget }, state.lang);
  });
  stream();
  flush();
}

start();
