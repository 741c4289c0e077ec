// careline staff console: plain JavaScript, no build step. Talks to /console/api; every
// change sends the session's CSRF token; live updates arrive as server-sent events.
"use strict";

const API = "/console/api";
const BASE_TITLE = "careline staff console";
const TICK_MS = 15000;
const state = {
  csrf: "", me: "", role: "", selected: "", chat: null, chats: [], filter: "all",
  alerts: new Set(), source: null, revealed: false, clockOffset: 0, pendingReply: "",
  cannedLang: "", staff: [],
};
const $ = (id) => document.getElementById(id);

const REASONS = {
  emergency: "Emergency", patient_request: "Asked for a person", llm_failure: "Model unavailable",
  internal_error: "Bot error", answer_withheld: "Answer withheld",
};
const CATEGORIES = {
  cardiac: "Chest pain / heart", stroke: "Stroke signs", breathing: "Breathing trouble",
  self_harm: "Self-harm / suicide risk", poisoning: "Poisoning / overdose", bleeding: "Heavy bleeding",
  trauma: "Injury", allergy: "Severe allergy", burn: "Burn / scald", infant_fever: "Fever in a baby",
  pregnancy: "Pregnancy emergency", seizure: "Seizure", unconscious: "Unresponsive",
  other: "Other emergency",
};
// The channels careline knows, as staff read them: from the server (adapters/registry.py).
let CHANNELS = {};
const LANGUAGES = { zh: "中文", en: "English" };
const ROLE_NAMES = { patient: "Patient", bot: "careline", staff: "Staff" };
// A bot message longer than this (the emergency and notice templates) starts collapsed.
const COLLAPSE_CHARS = 140;

class ApiError extends Error {
  constructor(message, status, code) { super(message); this.status = status; this.code = code; }
}

async function api(path, options = {}) {
  const init = { credentials: "same-origin", headers: {}, ...options };
  if (init.method === "POST") {
    init.headers["Content-Type"] = "application/json";
    init.headers["X-CSRF-Token"] = state.csrf;
    init.body = JSON.stringify(options.body || {});
  }
  let resp;
  try { resp = await fetch(API + path, init); }
  catch (e) { throw new ApiError("careline cannot be reached; check the network", 0, "network"); }
  if (resp.status === 401) { showLogin("Your session has ended; please log in again."); throw new ApiError("log in first", 401, "login"); }
  const data = await resp.json().catch(() => ({}));
  if (!resp.ok) throw new ApiError(data.error || "HTTP " + resp.status, resp.status, data.code || "");
  return data;
}

const label = (table, value) => table[value] || value || "";

// ------------------------------------------------------------------- session

function clearPage() {
  // Nothing a patient wrote stays on screen once the session is gone.
  state.selected = ""; state.chat = null; state.chats = []; state.revealed = false;
  state.alerts.clear(); state.pendingReply = "";
  for (const id of ["queue", "transcript", "notes", "history"]) $(id).replaceChildren();
  for (const id of ["summary", "chat-title", "chat-meta", "chat-error", "me", "role"]) $(id).textContent = "";
  $("reply-text").value = ""; $("note-text").value = "";
  $("chat").hidden = true; $("chat-none").hidden = false; $("chat-revealed").hidden = true;
  $("retry").hidden = true;
  document.title = BASE_TITLE;
}

function showLogin(message) {
  if (state.source) { state.source.close(); state.source = null; }
  setLive(false);
  clearPage();
  $("console-view").hidden = true; $("who").hidden = true; $("login-view").hidden = false;
  $("login-error").textContent = message || "";
}

function showConsole() {
  $("login-view").hidden = true; $("console-view").hidden = false; $("who").hidden = false;
  $("me").textContent = state.me;
  $("role").textContent = state.role === "lead" ? "(lead)" : "";
  connectEvents();
  loadQueue();
  loadStaff();
}

function signedIn(who) {
  state.csrf = who.csrf; state.me = who.name; state.role = who.role;
  CHANNELS = who.channels || {};
  const select = $("history-channel");
  select.replaceChildren(new Option("Any", ""));
  for (const [name, text] of Object.entries(CHANNELS)) select.append(new Option(text, name));
  showConsole();
}

async function start() {
  fillCategories();
  try {
    const me = await api("/me");
    signedIn(me);
  } catch (e) { if (e.status !== 401) showLogin(); }
}

$("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("login-error").textContent = "";
  const resp = await fetch(API + "/login", {
    method: "POST", credentials: "same-origin",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ name: $("login-name").value, password: $("login-password").value }),
  }).catch(() => null);
  const data = resp ? await resp.json().catch(() => ({})) : {};
  if (!resp || !resp.ok) { $("login-error").textContent = data.error || "Login failed"; return; }
  $("login-password").value = "";
  signedIn(data);
});

$("logout").addEventListener("click", async () => {
  try { await api("/logout", { method: "POST" }); } catch (e) { /* already out */ }
  showLogin();
});

// -------------------------------------------------------------- live updates

function setLive(on) {
  $("live").classList.toggle("on", on);
  $("live").setAttribute("aria-label", on ? "live updates on" : "live updates off");
}

function connectEvents() {
  if (state.source) return;
  const source = new EventSource(API + "/events");
  state.source = source;
  source.onopen = () => setLive(true);
  source.onerror = async () => {
    setLive(false);
    // The stream ends when the session does: find out, rather than reconnect forever.
    try { await api("/me"); } catch (e) { /* showLogin ran on 401 */ }
  };
  source.onmessage = (message) => {
    const event = JSON.parse(message.data);
    if (event.event === "hello") return;
    if (event.event === "escalated" && (event.reason === "emergency" || event.level === "emergency")) {
      alarm(event);
    }
    loadQueue();
    if (event.conversation && event.conversation === state.selected) loadChat();
  };
}

function alarm(event) {
  state.alerts.add(event.conversation);
  const mine = event.held_by && event.held_by === state.me;
  const what = label(CATEGORIES, event.category) || "emergency";
  $("announce").textContent = (mine ? "Emergency in a chat you hold: " : "New emergency: ") +
    what + ", " + shortLabel(event.conversation) + ".";
  beep();
}

function beep() {
  try {
    const Ctx = window.AudioContext || window.webkitAudioContext;
    const ctx = new Ctx();
    [0, 0.35].forEach((at) => {
      const osc = ctx.createOscillator(); const gain = ctx.createGain();
      osc.frequency.value = 880; osc.connect(gain); gain.connect(ctx.destination);
      gain.gain.setValueAtTime(0.2, ctx.currentTime + at);
      osc.start(ctx.currentTime + at); osc.stop(ctx.currentTime + at + 0.25);
    });
  } catch (e) { /* no audio: the badge and the title still show */ }
}

function updateTitle() {
  // Emergencies nobody has claimed, and emergencies raised in my chats that I have not opened.
  const count = state.chats.filter((c) => c.emergency &&
    (c.state === "waiting" || (c.claimed_by === state.me && state.alerts.has(c.conversation)))).length;
  document.title = count ? `(${count}) 🚨 ${BASE_TITLE}` : BASE_TITLE;
}

// --------------------------------------------------------------------- queue

function shortLabel(conversation) {
  const chat = state.chats.find((c) => c.conversation === conversation);
  return chat ? chat.label : "a chat";
}

function waited(chat) {
  const now = Date.now() / 1000 + state.clockOffset;
  const seconds = Math.max(0, Math.round(now - chat.since));
  return seconds < 60 ? "just now" : `${Math.floor(seconds / 60)} min`;
}

function statusText(chat) {
  if (chat.state === "staff") return chat.claimed_by === state.me ? "with you" : "with " + chat.claimed_by;
  return "waiting " + waited(chat);
}

function visible(chat) {
  if (state.filter === "emergency") return chat.emergency;
  if (state.filter === "mine") return chat.claimed_by === state.me;
  if (state.filter === "unassigned") return chat.state === "waiting";
  return true;
}

async function loadQueue() {
  let data;
  try { data = await api("/queue"); } catch (e) { return; }
  state.clockOffset = data.now - Date.now() / 1000;
  state.chats = data.chats;
  renderQueue();
}

function tag(text, cls) {
  const span = document.createElement("span");
  span.className = "tag " + (cls || ""); span.textContent = text;
  return span;
}

function renderQueue() {
  const list = $("queue");
  list.replaceChildren();
  const shown = state.chats.filter(visible);
  $("queue-empty").hidden = shown.length > 0;
  $("queue-empty").textContent = state.chats.length ? "No chats match this filter." : "No chats are waiting.";
  for (const chat of shown) {
    const item = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.dataset.conversation = chat.conversation;
    item.dataset.conversation = chat.conversation;
    item.className = [chat.emergency ? "emergency" : "", chat.conversation === state.selected ? "selected" : "",
      chat.unread ? "unread" : ""].join(" ").trim();
    const head = document.createElement("div");
    head.className = "card-head";
    const name = document.createElement("strong");
    name.textContent = chat.label;
    head.append(name);
    if (chat.unread) head.append(tag("new message", "unread"));
    const when = tag(statusText(chat), "status");
    when.dataset.since = chat.since;
    head.append(when);
    const tags = document.createElement("div");
    tags.append(tag(label(REASONS, chat.reason), "reason"));
    if (chat.category) tags.append(tag(label(CATEGORIES, chat.category), "category"));
    tags.append(tag(label(CHANNELS, chat.channel)), tag(label(LANGUAGES, chat.language) || "language ?"));
    if (chat.timed_out) tags.append(tag("claim overdue", "overdue"));
    const summary = document.createElement("p");
    summary.className = "queue-summary";
    summary.textContent = chat.summary || (chat.last_messages || []).filter((m) => m.role === "patient")
      .map((m) => m.text).join(" / ");
    button.append(head, tags, summary);
    button.setAttribute("aria-label", `${chat.label}, ${label(REASONS, chat.reason)}, ${statusText(chat)}`);
    button.addEventListener("click", () => select(chat.conversation));
    item.append(button);
    list.append(item);
  }
  updateTitle();
}

function tick() {
  // "waiting N min" moves on by itself, without waiting for an event.
  for (const chat of state.chats) {
    const el = document.querySelector(`#queue li[data-conversation="${CSS.escape(chat.conversation)}"] .status`);
    if (el) el.textContent = statusText(chat);
  }
}
setInterval(tick, TICK_MS);

for (const button of document.querySelectorAll(".filters button")) {
  button.addEventListener("click", () => {
    state.filter = button.dataset.filter;
    for (const b of document.querySelectorAll(".filters button")) b.setAttribute("aria-pressed", String(b === button));
    renderQueue();
  });
}

function select(conversation) {
  if (state.selected !== conversation) {
    state.revealed = false; state.pendingReply = "";
    $("reply-text").value = ""; $("retry").hidden = true; $("chat-error").textContent = "";
  }
  state.selected = conversation;
  state.alerts.delete(conversation);
  document.body.classList.add("chat-open");
  renderQueue();
  loadChat();
}

$("back").addEventListener("click", () => { document.body.classList.remove("chat-open"); });

// ---------------------------------------------------------------------- chat

function renderTranscript(lines) {
  const list = $("transcript");
  list.replaceChildren();
  for (const line of lines) {
    const item = document.createElement("li");
    item.className = line.role;
    const role = document.createElement("span");
    role.className = "role"; role.textContent = ROLE_NAMES[line.role] || line.role;
    item.append(role);
    if (line.role === "bot" && line.text.length > COLLAPSE_CHARS) {
      const details = document.createElement("details");
      const head = document.createElement("summary");
      head.textContent = line.text.split("\n")[0].slice(0, 80) + "…";
      details.append(head, document.createTextNode(line.text));
      item.append(details);
    } else {
      item.append(document.createTextNode(line.text));
    }
    if (line.sources && line.sources.length) {
      const used = document.createElement("div");
      used.className = "sources";
      used.textContent = "Knowledge used: " + line.sources.join(", ");
      item.append(used);
    }
    list.append(item);
  }
  list.scrollTop = list.scrollHeight;
}

function renderNotes(notes) {
  const list = $("notes");
  list.replaceChildren();
  for (const note of notes) {
    const item = document.createElement("li");
    const by = document.createElement("span");
    by.className = "role";
    by.textContent = note.by + " · " + new Date(note.at * 1000).toLocaleString();
    item.append(by, document.createTextNode(note.text));
    list.append(item);
  }
}

function renderSummary(summary, transcript) {
  const box = $("summary");
  if (summary) {
    box.textContent = [
      "Chief complaint: " + summary.chief_complaint,
      "Symptoms: " + (summary.symptoms.join(", ") || "-"),
      "Duration: " + summary.duration,
      "Red flags: " + (summary.red_flags.join(", ") || "none"),
      "Patient wants: " + summary.patient_wants,
    ].join("\n");
  } else {
    box.textContent = "No summary yet. Last messages: " +
      transcript.filter((l) => l.role === "patient").slice(-3).map((l) => l.text).join(" / ");
  }
}

function setError(message, retry) {
  $("chat-error").textContent = message || "";
  $("retry").hidden = !retry;
}

async function loadChat() {
  if (!state.selected) return;
  const conversation = state.selected;
  let chat;
  try { chat = await api("/chats/" + encodeURIComponent(conversation)); }
  catch (e) { if (e.status !== 401) setError(e.message); return; }
  if (conversation !== state.selected) return;
  state.chat = chat;
  $("chat-none").hidden = true; $("chat").hidden = false;
  $("chat-title").textContent = chat.label + (chat.emergency ? " — EMERGENCY" : "");
  $("chat").classList.toggle("emergency", Boolean(chat.emergency));
  $("chat-meta").textContent = [
    chat.state === "staff" ? (chat.mine ? "held by you" : "held by " + chat.claimed_by)
      : chat.state === "waiting" ? "waiting for staff" : "ended (history)",
    label(REASONS, chat.reason), label(CATEGORIES, chat.category), label(CHANNELS, chat.channel),
    label(LANGUAGES, chat.language), chat.conversation,
  ].filter(Boolean).join(" · ");
  const mine = chat.mine && chat.state === "staff";
  const lead = state.role === "lead";
  const open = chat.state === "waiting" || chat.state === "staff";
  $("claim").disabled = chat.state !== "waiting";
  $("takeover").hidden = !(lead && chat.state === "staff" && !chat.mine);
  $("send").disabled = !mine; $("reply-text").disabled = !mine; $("canned").disabled = !mine;
  $("reveal").disabled = !chat.can_reveal;
  $("release").disabled = !(mine || (chat.state === "waiting" && !chat.emergency));
  $("close").disabled = !(mine || (chat.state === "waiting" && !chat.emergency));
  $("close").title = chat.state === "waiting" && chat.emergency ? "Claim this emergency before closing it" : "";
  $("assign").disabled = !open || !(mine || chat.state === "waiting" || lead);
  $("assign-to").disabled = $("assign").disabled;
  renderSummary(chat.summary, chat.transcript);
  renderNotes(chat.notes || []);
  if (state.revealed && chat.can_reveal) {
    await showRevealed();  // an update must not silently hide what the nurse chose to see
  } else {
    state.revealed = false; $("chat-revealed").hidden = true;
    renderTranscript(chat.transcript);
  }
  loadCanned(chat.language);
  loadQueueLater();
}

let queueTimer = null;
function loadQueueLater() {
  // Opening a chat clears its unread mark; refresh the cards once, shortly.
  if (queueTimer) return;
  queueTimer = setTimeout(() => { queueTimer = null; loadQueue(); }, 200);
}

async function showRevealed() {
  const data = await api("/chats/" + encodeURIComponent(state.selected) + "/reveal", { method: "POST" });
  state.revealed = true;
  $("chat-revealed").hidden = false;
  renderTranscript(data.transcript);
  renderNotes(data.notes || []);
}

async function act(action, body) {
  setError("");
  try {
    await api("/chats/" + encodeURIComponent(state.selected) + "/" + action, { method: "POST", body });
    return true;
  } catch (e) {
    if (e.status !== 401) setError(e.message);
    return false;
  } finally {
    const error = $("chat-error").textContent; const retry = !$("retry").hidden;
    await loadChat(); await loadQueue();
    setError(error, retry);  // a reload must not wipe the error the nurse needs to see
  }
}

$("claim").addEventListener("click", () => act("claim"));
$("takeover").addEventListener("click", () => {
  if (confirm("Take this chat over from " + (state.chat ? state.chat.claimed_by : "a colleague") + "?")) {
    act("assign", { to: state.me });
  }
});
$("release").addEventListener("click", () => {
  if (confirm("Give this chat back to the bot? The patient is told that the bot answers again.")) act("release");
});
$("close").addEventListener("click", () => {
  if (confirm("Close this chat? The patient is told the conversation has ended.")) act("close");
});
$("assign").addEventListener("click", () => {
  const to = $("assign-to").value;
  if (!to) { setError("Pick a colleague to assign the chat to."); return; }
  if (confirm("Assign this chat to " + to + "?")) act("assign", { to });
});
$("reveal").addEventListener("click", async () => {
  if (!confirm("Reveal the patient's personal details? This is recorded in the audit log.")) return;
  try { await showRevealed(); } catch (e) { if (e.status !== 401) setError(e.message); }
});

async function sendReply(text) {
  const sent = await act("reply", { text });
  if (sent) {
    state.pendingReply = "";
    if ($("reply-text").value.trim() === text) $("reply-text").value = "";
    setError("");
  } else {
    // Not sent: the text stays where the nurse wrote it, with a way to try again.
    state.pendingReply = text;
    if (!$("reply-text").value.trim()) $("reply-text").value = text;
    setError("Not sent: " + $("chat-error").textContent.replace(/^Not sent: /, ""), true);
  }
}

$("reply-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const text = $("reply-text").value.trim();
  if (text && !$("send").disabled) sendReply(text);
});
$("retry").addEventListener("click", () => {
  const text = $("reply-text").value.trim() || state.pendingReply;
  if (text) sendReply(text);
});
$("reply-text").addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    $("reply-form").requestSubmit();
  }
});

$("note-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const text = $("note-text").value.trim();
  if (!text) return;
  if (await act("notes", { text })) $("note-text").value = "";
});

async function loadCanned(lang) {
  // Canned replies in the patient's language, not the nurse's browser's.
  const want = lang === "zh" || lang === "en" ? lang : "zh";
  if (state.cannedLang === want) return;
  state.cannedLang = want;
  let data;
  try { data = await api("/canned?lang=" + want); } catch (e) { state.cannedLang = ""; return; }
  const select = $("canned");
  select.replaceChildren(select.options[0]);
  for (const reply of data.replies) {
    const option = document.createElement("option");
    option.value = reply; option.textContent = reply.length > 60 ? reply.slice(0, 60) + "…" : reply;
    select.append(option);
  }
}
$("canned").addEventListener("change", () => {
  if ($("canned").value) $("reply-text").value = $("canned").value;
  $("canned").selectedIndex = 0;
  $("reply-text").focus();
});

async function loadStaff() {
  let data;
  try { data = await api("/staff"); } catch (e) { return; }
  const select = $("assign-to");
  select.replaceChildren(select.options[0]);
  for (const person of data.staff) {
    if (person.name === state.me) continue;
    const option = document.createElement("option");
    option.value = person.name; option.textContent = person.name + (person.role === "lead" ? " (lead)" : "");
    select.append(option);
  }
}

// ------------------------------------------------------------------- history

function fillCategories() {
  const select = $("history-category");
  for (const [value, text] of Object.entries(CATEGORIES)) {
    const option = document.createElement("option");
    option.value = value; option.textContent = text; select.append(option);
  }
}

function showTab(history) {
  $("tab-queue").setAttribute("aria-pressed", String(!history));
  $("tab-history").setAttribute("aria-pressed", String(history));
  $("queue-box").hidden = history; $("history-box").hidden = !history;
  $("queue-title").textContent = history ? "History" : "Queue";
}
$("tab-queue").addEventListener("click", () => showTab(false));
$("tab-history").addEventListener("click", () => { showTab(true); searchHistory(); });

async function searchHistory() {
  const params = new URLSearchParams();
  for (const name of ["q", "channel", "category", "from", "to"]) {
    const value = $("history-" + name).value;
    if (value) params.set(name, value);
  }
  let data;
  try { data = await api("/history?" + params.toString()); }
  catch (e) { $("history-empty").hidden = false; $("history-empty").textContent = e.message; return; }
  const list = $("history");
  list.replaceChildren();
  $("history-empty").hidden = data.results.length > 0;
  $("history-empty").textContent = "Nothing found.";
  for (const item of data.results) {
    const li = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = [item.label, new Date(item.ended_at * 1000).toLocaleString(),
      label(REASONS, item.reason), label(CATEGORIES, item.category), label(CHANNELS, item.channel),
      item.action + " by " + item.actor].filter(Boolean).join(" · ");
    button.addEventListener("click", () => select(item.conversation));
    li.append(button);
    list.append(li);
  }
}
$("history-form").addEventListener("submit", (event) => { event.preventDefault(); searchHistory(); });

// ------------------------------------------------------------------ keyboard

document.addEventListener("keydown", (event) => {
  if (!event.altKey || $("console-view").hidden) return;
  const key = event.key.toLowerCase();
  if (key === "n") {
    event.preventDefault();
    const shown = state.chats.filter(visible);
    if (!shown.length) return;
    const at = shown.findIndex((c) => c.conversation === state.selected);
    select(shown[(at + 1) % shown.length].conversation);
  } else if (key === "c" && !$("claim").disabled && state.selected) {
    event.preventDefault(); act("claim");
  } else if (key === "r" && !$("canned").disabled) {
    event.preventDefault(); $("canned").focus();
  }
});

start();
