// careline staff console: plain JavaScript, no build step. Talks to /console/api; every
// change sends the session's CSRF token; live updates arrive as server-sent events.
"use strict";

const API = "/console/api";
const state = { csrf: "", me: "", selected: "", chats: [], emergencies: new Set(), source: null };
const $ = (id) => document.getElementById(id);
const BASE_TITLE = "careline staff console";

async function api(path, options = {}) {
  const init = { credentials: "same-origin", headers: {}, ...options };
  if (init.method === "POST") {
    init.headers["Content-Type"] = "application/json";
    init.headers["X-CSRF-Token"] = state.csrf;
    init.body = JSON.stringify(options.body || {});
  }
  const resp = await fetch(API + path, init);
  if (resp.status === 401) { showLogin(); throw new Error("log in first"); }
  const data = await resp.json().catch(() => ({}));
  if (!resp.ok) throw new Error(data.error || "HTTP " + resp.status);
  return data;
}

function showLogin() {
  if (state.source) { state.source.close(); state.source = null; }
  $("login-view").hidden = false; $("console-view").hidden = true; $("who").hidden = true;
}

function showConsole() {
  $("login-view").hidden = true; $("console-view").hidden = false; $("who").hidden = false;
  $("me").textContent = state.me;
  connectEvents();
  loadQueue();
  loadCanned();
}

async function start() {
  try {
    const me = await api("/me");
    state.csrf = me.csrf; state.me = me.name;
    showConsole();
  } catch (e) { showLogin(); }
}

$("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("login-error").textContent = "";
  const resp = await fetch(API + "/login", {
    method: "POST", credentials: "same-origin",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ name: $("login-name").value, password: $("login-password").value }),
  });
  const data = await resp.json().catch(() => ({}));
  if (!resp.ok) { $("login-error").textContent = data.error || "Login failed"; return; }
  $("login-password").value = "";
  state.csrf = data.csrf; state.me = data.name;
  showConsole();
});

$("logout").addEventListener("click", async () => {
  try { await api("/logout", { method: "POST" }); } catch (e) { /* already out */ }
  showLogin();
});

// ---------------------------------------------------------------- live updates

function connectEvents() {
  if (state.source) return;
  const source = new EventSource(API + "/events");
  state.source = source;
  source.onopen = () => $("live").classList.add("on");
  source.onerror = () => $("live").classList.remove("on");
  source.onmessage = (message) => {
    const event = JSON.parse(message.data);
    if (event.event === "hello") return;
    if (event.event === "escalated" && event.reason === "emergency") alarm(event.conversation);
    loadQueue();
    if (event.conversation && event.conversation === state.selected) loadChat();
  };
}

function alarm(conversation) {
  state.emergencies.add(conversation);
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
  } catch (e) { /* no audio: the badge still shows */ }
}

function updateTitle() {
  const waiting = state.chats.filter((c) => c.emergency && c.state === "waiting").length;
  document.title = waiting ? `(${waiting}) 🚨 ${BASE_TITLE}` : BASE_TITLE;
}

// ----------------------------------------------------------------------- queue

function minutes(seconds) {
  return seconds < 60 ? `${seconds}s` : `${Math.floor(seconds / 60)} min`;
}

async function loadQueue() {
  const data = await api("/queue");
  state.chats = data.chats;
  const list = $("queue");
  list.replaceChildren();
  $("queue-empty").hidden = data.chats.length > 0;
  for (const chat of data.chats) {
    const item = document.createElement("li");
    item.dataset.conversation = chat.conversation;
    item.className = (chat.emergency ? "emergency " : "") + (chat.conversation === state.selected ? "selected" : "");
    const tags = document.createElement("div");
    for (const [cls, text] of [["reason", chat.reason], ["", chat.channel], ["", chat.language || "?"],
                               ["", chat.category || "-"], ["", chat.state === "staff" ? "with " + chat.claimed_by : "waiting " + minutes(chat.waited_s)]]) {
      const tag = document.createElement("span");
      tag.className = "tag " + cls; tag.textContent = text; tags.append(tag);
    }
    const summary = document.createElement("p");
    summary.className = "queue-summary";
    summary.textContent = chat.summary || (chat.last_messages || []).map((m) => m.text).join(" / ");
    item.append(tags, summary);
    item.addEventListener("click", () => { state.selected = chat.conversation; loadQueue(); loadChat(); });
    list.append(item);
  }
  updateTitle();
}

// ------------------------------------------------------------------------ chat

const ROLE_NAMES = { patient: "Patient", bot: "careline", staff: "Staff" };

function renderTranscript(lines) {
  const list = $("transcript");
  list.replaceChildren();
  for (const line of lines) {
    const item = document.createElement("li");
    item.className = line.role;
    const role = document.createElement("span");
    role.className = "role"; role.textContent = ROLE_NAMES[line.role] || line.role;
    item.append(role, document.createTextNode(line.text));
    list.append(item);
  }
  list.scrollTop = list.scrollHeight;
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

async function loadChat() {
  if (!state.selected) return;
  let chat;
  try { chat = await api("/chats/" + encodeURIComponent(state.selected)); }
  catch (e) { $("chat-error").textContent = e.message; return; }
  state.emergencies.delete(state.selected);
  $("chat-none").hidden = true; $("chat").hidden = false; $("chat-error").textContent = "";
  $("chat-title").textContent = chat.conversation;
  $("chat-meta").textContent = [chat.state, chat.reason, chat.category, chat.language,
    chat.claimed_by ? "held by " + chat.claimed_by : ""].filter(Boolean).join(" · ");
  $("claim").disabled = chat.state !== "waiting";
  const mine = chat.mine && chat.state === "staff";
  $("send").disabled = !mine; $("reply-text").disabled = !mine;
  $("release").disabled = !(mine || chat.state === "waiting");
  $("close").disabled = !(mine || chat.state === "waiting");
  renderSummary(chat.summary, chat.transcript);
  renderTranscript(chat.transcript);
}

async function act(action, body) {
  $("chat-error").textContent = "";
  try {
    await api("/chats/" + encodeURIComponent(state.selected) + "/" + action, { method: "POST", body });
  } catch (e) { $("chat-error").textContent = e.message; }
  await loadChat(); await loadQueue();
}

$("claim").addEventListener("click", () => act("claim"));
$("release").addEventListener("click", () => act("release"));
$("close").addEventListener("click", () => act("close"));
$("reveal").addEventListener("click", async () => {
  if (!confirm("Reveal the patient's personal details? This is recorded in the audit log.")) return;
  try {
    const data = await api("/chats/" + encodeURIComponent(state.selected) + "/reveal", { method: "POST" });
    renderTranscript(data.transcript);
  } catch (e) { $("chat-error").textContent = e.message; }
});

$("reply-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const text = $("reply-text").value.trim();
  if (!text) return;
  await act("reply", { text });
  if (!$("chat-error").textContent) $("reply-text").value = "";
});

async function loadCanned() {
  const lang = (navigator.language || "").startsWith("zh") ? "zh" : "en";
  const data = await api("/canned?lang=" + lang);
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
});

start();
