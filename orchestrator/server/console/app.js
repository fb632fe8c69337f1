// The lmc console: plain DOM, no framework, nothing loaded from elsewhere. Text always goes in
// through textContent (never innerHTML), so nothing a model or a task printed can run here.
"use strict";

const KEY = "lmc-token";
const $ = (sel) => document.querySelector(sel);
const el = (tag, attrs = {}, ...kids) => {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v; else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const kid of kids) node.append(kid instanceof Node ? kid : String(kid ?? ""));
  return node;
};

// ---- the server ------------------------------------------------------------------------------

class ServerError extends Error {
  constructor(status, body) { super(body.message || `the server answered ${status}`); this.status = status; this.kind = body.error; }
}

async function api(method, path, body) {
  const headers = { Authorization: `Bearer ${sessionStorage.getItem(KEY) || ""}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (!response.ok) throw new ServerError(response.status, await response.json().catch(() => ({})));
  return response;
}
const getJSON = async (path) => (await api("GET", path)).json();

// The events of a server-sent event stream read from a fetch body (fetch can send the token; EventSource cannot).
async function* events(response) {
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const raw = buffer.slice(0, cut); buffer = buffer.slice(cut + 2);
      let event = "message", data = "";
      for (const line of raw.split("\n")) {
        if (line.startsWith("event: ")) event = line.slice(7); else if (line.startsWith("data: ")) data += line.slice(6);
      }
      yield { event, data: data ? JSON.parse(data) : null };
    }
  }
}

function showError(error) {
  const box = $("#error");
  box.textContent = error ? (error.message || String(error)) : "";
  box.hidden = !error;
  if (error && error.status === 401) logout("the server no longer accepts this token; log in again");
}
const guarded = (fn) => async (...args) => { try { showError(null); await fn(...args); } catch (e) { showError(e); } };

// ---- a tiny highlighter: keywords, strings, comments, numbers ----------------------------------

const KEYWORDS = new Set(("def class return if elif else for while in import from as with try except finally raise " +
  "lambda yield not and or is None True False pass break continue async await function const let var new " +
  "this null undefined true false typeof echo fi then do done case esac export local").split(" "));
const TOKEN = /(#[^\n]*|\/\/[^\n]*)|("(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|`(?:[^`\\]|\\.)*`)|\b(\d+(?:\.\d+)?)\b|\b([A-Za-z_]\w*)\b/g;

function highlight(code, language) {
  const pre = el("pre", { class: "code", "data-language": language || "" });
  let last = 0;
  for (const m of code.matchAll(TOKEN)) {
    const [text, comment, string, number, word] = m;
    if (word && !KEYWORDS.has(word)) continue;
    pre.append(code.slice(last, m.index));
    pre.append(el("span", { class: comment ? "c" : string ? "s" : number ? "n" : "k" }, text));
    last = m.index + text.length;
  }
  pre.append(code.slice(last));
  return pre;
}

// ---- a transcript: messages and streamed chunks as blocks --------------------------------------

const MEDIA = { png: "image/png", jpeg: "image/jpeg" };

class Transcript {
  constructor(node) { this.node = node; this.open = null; }

  // A whole message, or one chunk of a stream: chunks of the same kind append to the open block.
  add(m) {
    if (m.type === "confirmation") return this.block(m, "confirmation", "waiting for approve or decline",
      m.content && m.content.content !== undefined ? highlight(String(m.content.content), m.content.format) : "");
    if (m.type === "image") {
      if (m.content === null || m.content === undefined || m.content === "") return;
      const src = m.base64 ? `data:${MEDIA[m.format] || "image/png"};base64,${m.content}` : null;
      return this.block(m, "image", `${m.role} image`, src ? el("img", { src, alt: `${m.role} image` }) : String(m.content));
    }
    if (m.type === "status") {
      if (m.role === "server" || m.start || m.content === null) { this.open = null; }
      return this.block(m, "status", "status", m.content === null ? "" : String(m.content));
    }
    if (m.type === "console" && m.format === "exit_code") {
      if (m.content !== null && m.content !== undefined && m.content !== "" && Number(m.content) !== 0)
        this.block(m, "status", "exit status", String(m.content));
      return;
    }
    if (m.type === "console" && m.format === "active_line") return;
    const key = `${m.role}/${m.type}/${m.format}`;
    if (m.content === null || m.content === undefined) { if (m.start || m.end) this.open = m.end ? null : this.open; return; }
    if (this.open && this.open.key === key && !m.start) { this.open.text += String(m.content); this.render(this.open); }
    else { this.open = this.newBlock(m, key); }
    if (m.end) this.open = null;
  }

  newBlock(m, key) {
    const kind = m.type === "error" ? "error" : m.role;
    const who = m.type === "code" ? `${m.role} code (${m.format})` : m.type === "console" ? "output"
      : m.type === "error" ? `error (${m.format})` : m.role;
    const body = el("div");
    const open = { key, text: String(m.content), body, type: m.type, format: m.format };
    this.node.append(el("div", { class: `block ${kind}`, "data-type": m.type }, el("div", { class: "who" }, who), body));
    this.render(open);
    this.node.lastChild.scrollIntoView({ block: "end" });
    return open;
  }

  render(open) {
    const content = open.type === "code" ? highlight(open.text, open.format)
      : open.type === "console" || open.type === "error" ? el("pre", { class: "output" }, open.text)
      : el("div", { class: "text" }, open.text);
    open.body.replaceChildren(content);
  }

  block(m, kind, who, content) {
    this.open = null;
    this.node.append(el("div", { class: `block ${kind}`, "data-type": m.type }, el("div", { class: "who" }, who), content));
    this.node.lastChild.scrollIntoView({ block: "end" });
  }
}

// ---- sessions ----------------------------------------------------------------------------------

let current = null;  // {kind, id}

async function refreshSessions() {
  const [conversations, computers] = await Promise.all([getJSON("/conversations"), getJSON("/computers")]);
  const item = (kind, s, label) => el("li", {}, el("a", {
    class: current && current.id === s.id ? "on" : "", "data-id": s.id, onclick: guarded(() => open(kind, s.id)),
  }, label, " ", s.running ? el("span", { class: "badge running" }, "running") : "",
     s.pending ? el("span", { class: "badge pending" }, "waiting") : ""));
  $("#conversation-list").replaceChildren(...conversations.map((c) => item("conversation", c, `${c.model} · ${c.sandbox}`)));
  $("#computer-list").replaceChildren(...computers.map((c) => item("computer", c, `${c.backend} · ${c.id.slice(0, 8)}`)));
  if (current && current.kind === "conversation") {
    const mine = conversations.find((c) => c.id === current.id);
    if (mine && current.controls) current.controls.pending(Boolean(mine.pending), mine.running);
    if (mine) showUsage(mine);
    // a chat another client (or another tab) drives: follow its saved transcript while it runs
    if (mine && current.follow && !current.streaming && (mine.running || current.wasRunning)) await current.follow(mine);
    if (mine) current.wasRunning = mine.running;
  }
}

async function open(kind, id) {
  current = { kind, id };
  const view = $("#session-view");
  view.replaceChildren();
  if (kind === "conversation") await openConversation(view, id); else openComputer(view, id);
  await attachDesktop(view, kind, id);
  await refreshSessions();
}

async function openConversation(view, id) {
  const info = await getJSON(`/conversations/${id}`);
  const log = el("div", { class: "transcript", id: "transcript" });
  let transcript = new Transcript(log);
  const input = el("input", { id: "message", placeholder: "a message to the model" });
  const send = el("button", { id: "send", class: "primary", type: "submit" }, "Send");
  const approve = el("button", { id: "approve", type: "button" }, "Approve");
  const decline = el("button", { id: "decline", type: "button" }, "Decline");
  const stop = el("button", { id: "stop", type: "button" }, "Stop");
  const controls = {
    pending(waiting, running) { approve.disabled = decline.disabled = !waiting; stop.disabled = !running && !waiting; },
  };
  current.controls = controls;
  controls.pending(Boolean(info.pending), info.running);
  const command = (name) => guarded(async () => { await api("POST", `/conversations/${id}/${name}`); controls.pending(false, true); });
  approve.addEventListener("click", command("approve"));
  decline.addEventListener("click", command("decline"));
  stop.addEventListener("click", command("stop"));
  const form = el("form", { class: "toolbar", onsubmit: guarded(async (event) => {
    event.preventDefault();
    const content = input.value.trim();
    if (!content) return;
    input.value = ""; send.disabled = true; stop.disabled = false; current.streaming = true;
    transcript.add({ role: "user", type: "message", content, start: true, end: true });
    try {
      const response = await api("POST", `/conversations/${id}/messages`, { content });
      for await (const { event, data } of events(response)) {
        if (event === "chunk") {
          transcript.add(data);
          if (data.type === "confirmation" && data.end) controls.pending(true, true);
        } else if (event === "error") transcript.add({ role: "computer", type: "error", format: data.error, content: data.message, start: true, end: true });
      }
    } finally { send.disabled = false; current.streaming = false; controls.pending(false, false); refreshSessions().catch(showError); }
  }) }, input, send);
  view.append(el("h2", {}, `${info.model}`, el("span", { class: "hint" }, ` · ${info.sandbox} · ${info.auto_run ? "runs code without asking" : "asks before running code"}`)),
    budgetLine(info),
    el("div", { class: "toolbar" }, approve, decline, stop,
      el("button", { type: "button", onclick: guarded(async () => { await api("DELETE", `/conversations/${id}`); current = null; view.replaceChildren(); await refreshSessions(); }) }, "Delete")),
    log, form);
  let shown = null;  // what the log shows: the saved messages' count and the pending code
  const follow = async (now) => {
    const messages = await getJSON(`/conversations/${id}/messages`);
    const seen = `${messages.length}/${now.pending ? JSON.stringify(now.pending) : ""}`;
    if (seen === shown) return;
    shown = seen;
    log.replaceChildren();
    transcript = new Transcript(log);
    for (const m of messages) transcript.add({ ...m, start: true, end: true });
    if (now.pending) transcript.add({ role: "assistant", type: "confirmation", content: now.pending, start: true, end: true });
  };
  current.follow = follow;
  await follow(info);
}

// ---- budget use: what a conversation spent against its per-message budgets --------------------

const spentText = (s) => `${s.steps} model call(s), ${s.tokens} tokens (${s.prompt_tokens} in, ${s.completion_tokens} out), ` +
  `${s.cost === null ? "cost unknown (litellm has no price for this model)" : `$${s.cost.toFixed(4)}`}, ${s.wall_time.toFixed(1)} s`;

function budgetLine(info) {
  const budget = Object.entries(info.budget || {}).filter(([, v]) => v !== null).map(([k, v]) => `${k.replace("max_", "")} ≤ ${v}`).join(", ");
  const line = el("p", { class: "hint", id: "budget" }, `budget per message: ${budget || "none"} (a chat over it ends with status 'budget')`,
    el("br"), el("span", { id: "usage-chat" }), el("br"), el("span", { id: "usage-total" }));
  showUsage(info, line);
  return line;
}

// The spend of the conversation `info` (GET /conversations/{id}) in its budget line; the session tick calls it while a chat streams.
function showUsage(info, line = $("#budget")) {
  const usage = info.usage;
  if (!line || !usage) return;
  line.querySelector("#usage-chat").textContent = `${usage.running ? "this message so far" : "last message"}: ${spentText(usage.chat)}`;
  line.querySelector("#usage-total").textContent = `conversation: ${spentText(usage.total)}`;
}

function openComputer(view, id) {
  const log = el("div", { class: "transcript", id: "transcript" });
  const transcript = new Transcript(log);
  const language = el("select", { id: "language" }, el("option", {}, "python"), el("option", {}, "shell"), el("option", {}, "javascript"));
  const code = el("textarea", { id: "code", rows: "5", placeholder: "code to run in this computer" });
  const run = el("button", { id: "run", class: "primary", type: "submit" }, "Run");
  const stop = el("button", { id: "stop", type: "button", onclick: guarded(() => api("POST", `/computers/${id}/stop`)) }, "Stop");
  const form = el("form", { onsubmit: guarded(async (event) => {
    event.preventDefault();
    run.disabled = true;
    transcript.add({ role: "user", type: "code", format: language.value, content: code.value, start: true, end: true });
    try {
      const response = await api("POST", `/computers/${id}/run`, { language: language.value, code: code.value });
      for await (const { event, data } of events(response)) {
        if (event === "chunk") transcript.add(data);
        else if (event === "error") transcript.add({ role: "computer", type: "error", format: data.error, content: data.message, start: true, end: true });
      }
    } finally { run.disabled = false; }
  }) }, el("div", { class: "toolbar" }, language, run, stop), code);
  view.append(el("h2", {}, `computer ${id.slice(0, 8)}`),
    el("div", { class: "toolbar" }, el("button", { type: "button", onclick: guarded(async () => { await api("DELETE", `/computers/${id}`); current = null; view.replaceChildren(); await refreshSessions(); }) }, "Close")),
    log, form);
}

function formFields(form) {
  const out = {};
  for (const field of form.elements) {
    if (!field.name) continue;
    if (field.type === "checkbox") out[field.name] = field.checked; else if (field.value.trim()) out[field.name] = field.value.trim();
  }
  return out;
}

// ---- a session's desktop: live VNC view (noVNC) with take-over, or a screenshot stream ----------

let desktopView = null;  // the open view: {close()}
// how often the fallback view asks for a screenshot, in ms
const SCREENSHOT_EVERY = 1000;

function closeDesktop() { if (desktopView) desktopView.close(); desktopView = null; }

// Shows the desktop of a computer or conversation above its transcript (nothing if it has none).
async function attachDesktop(view, kind, id) {
  closeDesktop();
  const path = `/${kind}s/${id}/desktop`;
  let info;
  try { info = await getJSON(path); } catch (e) { if (e.status === 404) return; throw e; }
  const screen = el("div", { id: "desktop-screen", class: "desktop-screen" });
  const note = el("span", { class: "hint", id: "desktop-note" });
  const takeover = el("button", { id: "takeover", type: "button" }, "Take over");
  const panel = el("div", { id: "desktop", class: "desktop" },
    el("div", { class: "toolbar" }, el("strong", {}, `desktop ${info.display}`), takeover, note), screen);
  view.insertBefore(panel, view.children[1] || null);
  desktopView = info.vnc && info.novnc ? await vncView(path, screen, takeover, note)
    : screenshotView(path, screen, takeover, note, info.fallback || "the live view is not available");
}

// The token as a WebSocket subprotocol (a browser cannot send headers on a WebSocket): base64url.
function tokenProtocol() {
  const bytes = new TextEncoder().encode(sessionStorage.getItem(KEY) || "");
  const b64 = btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  return `lmc.token.${b64}`;
}

// noVNC (Debian's novnc package, served by lmc serve) on the server's WebSocket bridge; view-only until "Take over".
async function vncView(path, screen, takeover, note) {
  const { default: RFB } = await import("/console/novnc/core/rfb.js");
  const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}${path}/vnc`;
  const rfb = new RFB(screen, url, { wsProtocols: ["binary", tokenProtocol()], shared: true });
  rfb.viewOnly = true; rfb.scaleViewport = true;
  const say = () => { note.textContent = rfb.viewOnly ? "live (VNC), view only" : "you have the mouse and keyboard; the agent may still act"; };
  rfb.addEventListener("connect", () => { screen.dataset.state = "connected"; say(); });
  rfb.addEventListener("disconnect", (e) => { screen.dataset.state = "disconnected"; note.textContent = e.detail.clean ? "the live view ended" : "the live view was lost"; });
  takeover.addEventListener("click", () => {
    rfb.viewOnly = !rfb.viewOnly;
    takeover.textContent = rfb.viewOnly ? "Take over" : "Give back";
    takeover.classList.toggle("on", !rfb.viewOnly);
    if (!rfb.viewOnly) rfb.focus();
    say();
  });
  return { close: () => rfb.disconnect() };
}

// The fallback: a PNG every second over the same token, drawn on a canvas; says why it fell back.
function screenshotView(path, screen, takeover, note, why) {
  takeover.disabled = true; takeover.title = "taking over needs the live (VNC) view";
  note.textContent = `screenshots every ${SCREENSHOT_EVERY / 1000} s: ${why}`;
  const canvas = el("canvas", { id: "desktop-image" });
  screen.append(canvas);
  let timer = null, closed = false;
  const tick = async () => {
    if (closed || !canvas.isConnected) return;
    try {
      const picture = await createImageBitmap(await (await api("GET", `${path}/screenshot`)).blob());
      canvas.width = picture.width; canvas.height = picture.height;
      canvas.getContext("2d").drawImage(picture, 0, 0);
      screen.dataset.state = "connected";
    } catch (e) { if (e.status === 404) return; note.textContent = `no screenshot: ${e.message}`; }
    if (!closed) timer = setTimeout(tick, SCREENSHOT_EVERY);
  };
  tick();
  return { close: () => { closed = true; clearTimeout(timer); } };
}

// ---- benchmarks --------------------------------------------------------------------------------

let bench = null;  // {name, rows: Map, count, timer}
const pct = (v) => (v === null || v === undefined ? "-" : `${(v * 100).toFixed(1)}%`);
const rowKey = (r) => `${r.task}\u0000${r.model}\u0000${r.trial}`;
const verdict = (r) => (r.outcome === "errored" ? `errored (${r.failure || "ungraded"})` : `${r.outcome} (reward ${r.reward})`);
const table = (id, head, rows) => el("table", { id }, el("tr", {}, ...head.map((h) => el("th", {}, h))), ...rows);

async function refreshRuns() {
  const found = await getJSON("/bench/runs");
  $("#bench-folder").textContent = found.folder;
  $("#run-list").replaceChildren(...found.runs.map((r) => el("li", {}, el("a", { "data-run": r.name, onclick: guarded(() => openRun(r.name)) },
    r.name, el("span", { class: "hint" }, ` ${r.trials} trials`), r.error ? el("span", { class: "bad" }, ` ${r.error}`) : ""))));
  for (const which of ["#compare-a", "#compare-b"]) {
    const select = $(which), chosen = select.value;
    select.replaceChildren(...found.runs.map((r) => el("option", { value: r.name }, r.name)));
    if (chosen) select.value = chosen;
  }
}

function stopPolling() { if (bench && bench.timer) clearTimeout(bench.timer); bench = null; }

async function openRun(name) {
  stopPolling();
  const view = $("#bench-view");
  view.replaceChildren();  // no table of the run shown before stays while this one loads
  const run = await getJSON(`/bench/run?name=${encodeURIComponent(name)}`);
  bench = { name, rows: new Map(), count: 0, timer: null, summary: run };
  view.replaceChildren(el("h2", {}, name), el("div", { id: "run-summary" }), el("h3", {}, "Trials"), el("div", { id: "run-trials" }),
    el("p", { class: "hint", id: "run-progress" }));
  await pollRows();
}

// Live progress: rows N.. of results.jsonl each time, kept by (task, model, trial), so none is lost or shown twice.
async function pollRows() {
  const mine = bench;
  if (!mine) return;
  const got = await getJSON(`/bench/rows?name=${encodeURIComponent(mine.name)}&after=${mine.count}`);
  if (bench !== mine) return;
  for (const row of got.rows) mine.rows.set(rowKey(row), row);
  const grew = got.count !== mine.count;
  mine.count = got.count;
  if (grew) {
    if (got.rows.length && mine.count > mine.summary.count) mine.summary = await getJSON(`/bench/run?name=${encodeURIComponent(mine.name)}`);
    if (bench !== mine) return;
    renderRun(mine);
  }
  $("#run-progress").textContent = `${mine.rows.size} trial(s) · results.jsonl has ${mine.count} row(s) · updated ${new Date().toLocaleTimeString()}`;
  mine.timer = setTimeout(() => pollRows().catch(showError), 2000);
}

function renderRun(run) {
  const s = run.summary;
  const models = table("model-table", ["model", "trials", "passed", "failed", "errored", "pass rate (graded)", "mean reward", "cost USD"],
    s.models.map((m) => el("tr", {}, el("td", {}, m.model), el("td", {}, m.trials), el("td", { class: "passed" }, m.passed),
      el("td", { class: "failed" }, m.failed), el("td", { class: m.errored_total ? "errored" : "" }, m.errored_total ? `${m.errored_total} ${JSON.stringify(m.errored)}` : 0),
      el("td", {}, pct(m.pass_rate)), el("td", {}, m.mean_reward === null ? "-" : m.mean_reward.toFixed(3)), el("td", {}, m.cost.toFixed(4)))));
  const names = s.models.map((m) => m.model);
  const tasks = table("task-table", ["task", ...names], Object.entries(s.tasks).map(([task, cells]) => el("tr", {}, el("td", {}, task),
    ...names.map((m) => { const c = cells[m]; if (!c) return el("td", {}, "");
      const errored = Object.values(c.errored).reduce((a, b) => a + b, 0);
      return el("td", { class: errored && !c.graded ? "errored" : c.passed === c.graded && c.graded ? "passed" : "failed" },
        `${c.passed}/${c.graded}` + (errored ? ` +${errored} errored` : "")); }))));
  $("#run-summary").replaceChildren(el("h3", {}, "Per model"), models, el("h3", {}, "Per task"), tasks);
  const rows = [...run.rows.values()].sort((a, b) => (a.task + a.model).localeCompare(b.task + b.model) || a.trial - b.trial);
  $("#run-trials").replaceChildren(table("trial-table", ["task", "model", "trial", "outcome", "reward", "steps", "tokens", "cost", "wall s"],
    rows.map((r) => el("tr", { class: "clickable", "data-task": r.task, "data-model": r.model, onclick: guarded(() => openTrial(run.name, r)) },
      el("td", {}, r.task), el("td", {}, r.model), el("td", {}, r.trial), el("td", { class: r.outcome }, verdict(r)),
      el("td", { class: r.outcome }, r.reward === null ? "errored" : r.reward), el("td", {}, r.steps), el("td", {}, r.tokens),
      el("td", {}, r.cost.toFixed(4)), el("td", {}, r.wall_time.toFixed(1))))));
}

async function openTrial(name, r) {
  stopPolling();
  const q = new URLSearchParams({ name, task: r.task, model: r.model, trial: String(r.trial) });
  const t = await getJSON(`/bench/trial?${q}`);
  const row = t.row;
  const fact = (k, v) => [el("dt", {}, k), el("dd", {}, v)];
  const facts = el("dl", { class: "facts", id: "trial-facts" },
    ...fact("outcome", el("span", { class: row.outcome === "errored" ? "bad" : row.outcome === "passed" ? "ok" : "warn", id: "trial-outcome" }, verdict(row))),
    ...fact("reward", row.reward === null ? "errored: not graded" : String(row.reward)),
    ...(row.detail ? fact("detail", el("pre", {}, row.detail)) : []),
    ...fact("phases", Object.entries(row.phases).map(([k, v]) => `${k} ${v.toFixed(2)} s`).join(", ") + ` (wall ${row.wall_time.toFixed(2)} s)`),
    ...fact("model", `${row.steps} call(s), ${row.tokens} tokens, ${row.cost.toFixed(4)} USD, last status ${row.status || "-"}`),
    ...fact("exit codes", Object.entries(row.exit_codes).map(([k, v]) => `${k} ${v}`).join(", ") || "-"),
    ...fact("attempts", String(row.attempts) + (row.retried.length ? ` (retried: ${row.retried.join("; ")})` : "")),
    ...(t.notes.length ? fact("notes", t.notes.join("; ")) : []));
  const log = el("div", { class: "transcript", id: "trial-transcript" });
  const transcript = new Transcript(log);
  for (const m of t.messages) transcript.add({ ...m, start: true, end: true });
  const files = t.files.map((f) => el("div", { class: "block" }, el("div", { class: "who" }, f.path + (f.clipped ? ` (last ${f.text.length} of ${f.size} bytes)` : "")),
    el("pre", { class: "output" }, f.text)));
  $("#bench-view").replaceChildren(
    el("p", {}, el("a", { class: "link", onclick: guarded(() => openRun(name)) }, `← ${name}`)),
    el("h2", {}, `${row.task} · ${row.model} · trial ${row.trial}`), facts,
    el("h3", {}, `Conversation (${t.source})`), log, el("h3", {}, "Verifier and agent files"), el("div", { id: "trial-files" }, ...files));
}

async function compareRuns(a, b) {
  stopPolling();
  const c = await getJSON(`/bench/compare?a=${encodeURIComponent(a)}&b=${encodeURIComponent(b)}`);
  const rates = new Map();
  for (const side of ["a", "b"]) for (const m of c[side].models) rates.set(`${side}\u0000${m.model}`, m);
  const models = [...new Set([...c.a.models, ...c.b.models].map((m) => m.model))];
  const cell = (side, model) => { const m = rates.get(`${side}\u0000${model}`); return m ? `${pct(m.pass_rate)} (${m.trials} trials, ${m.errored_total} errored)` : "-"; };
  $("#bench-view").replaceChildren(el("h2", {}, `${a} vs ${b}`),
    table("compare-table", ["model", a, b], models.map((m) => el("tr", {}, el("td", {}, m), el("td", {}, cell("a", m)), el("td", {}, cell("b", m))))),
    el("h3", {}, `${c.changes.length} task(s) changed reward`),
    table("change-table", ["model", "task", a, b], c.changes.map((ch) => el("tr", {}, el("td", {}, ch.model), el("td", {}, ch.task),
      el("td", { class: ch.a === null ? "errored" : "" }, ch.a === null ? "errored" : ch.a), el("td", { class: ch.b === null ? "errored" : "" }, ch.b === null ? "errored" : ch.b)))));
}

// ---- log in, tabs ------------------------------------------------------------------------------

let sessionTimer = null;

function showTab(name) {
  for (const button of document.querySelectorAll(".tab")) button.classList.toggle("on", button.dataset.tab === name);
  $("#sessions").hidden = name !== "sessions";
  $("#bench").hidden = name !== "bench";
  if (name === "bench") refreshRuns().catch(showError);
}

function loggedIn() {
  $("#login").hidden = true; $("#tabs").hidden = false;
  showTab("sessions");
  const tick = () => refreshSessions().catch(showError).finally(() => { if (sessionStorage.getItem(KEY)) sessionTimer = setTimeout(tick, 2000); });
  tick();
}

function logout(why) {
  sessionStorage.removeItem(KEY);
  clearTimeout(sessionTimer); stopPolling(); closeDesktop();
  $("#login").hidden = false; $("#tabs").hidden = true; $("#sessions").hidden = true; $("#bench").hidden = true;
  $("#login-error").hidden = !why; $("#login-error").textContent = why || "";
}

document.addEventListener("DOMContentLoaded", () => {
  $("#login-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    sessionStorage.setItem(KEY, $("#token").value.trim());
    try { await api("GET", "/conversations"); $("#token").value = ""; loggedIn(); }
    catch (e) { logout(e.status === 401 ? "this server does not know that token" : e.message); }
  });
  $("#logout").addEventListener("click", () => logout(""));
  for (const button of document.querySelectorAll(".tab")) button.addEventListener("click", () => showTab(button.dataset.tab));
  $("#conversation-form").addEventListener("submit", guarded(async (event) => {
    event.preventDefault();
    const made = await (await api("POST", "/conversations", formFields(event.target))).json();
    event.target.closest("details").open = false;
    await open("conversation", made.id);
  }));
  $("#computer-form").addEventListener("submit", guarded(async (event) => {
    event.preventDefault();
    const made = await (await api("POST", "/computers", formFields(event.target))).json();
    event.target.closest("details").open = false;
    await open("computer", made.id);
  }));
  $("#compare-form").addEventListener("submit", guarded(async (event) => { event.preventDefault(); await compareRuns($("#compare-a").value, $("#compare-b").value); }));
  if (sessionStorage.getItem(KEY)) loggedIn(); else logout("");
});
