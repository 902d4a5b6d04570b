// The Gatewayz dashboard. Plain JavaScript, no library and no build step.
// Every value from the server is shown with textContent (never parsed as HTML), so a model
// or key name stays text. Amounts arrive as integer nano-USD strings and are formatted with
// BigInt: no floating point ever touches money.
"use strict";

const API = "/dashboard/api";
let csrf = null;
let keysById = new Map();

// ---- helpers ---------------------------------------------------------------------------

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (name === "class") node.className = value;
    else if (name === "text") node.textContent = value;
    else node.setAttribute(name, value);
  }
  for (const child of children) {
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function svg(tag, attrs) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, String(value));
  return node;
}

const NANO = 1000000000n;

// "1234567890123" nano-USD -> "$1,234.567890123": exact, trailing zeros trimmed to cents.
function usd(nano) {
  if (nano === null || nano === undefined) return "unlimited";
  let n = BigInt(nano);
  const sign = n < 0n ? "-" : "";
  if (n < 0n) n = -n;
  const whole = (n / NANO).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  let frac = (n % NANO).toString().padStart(9, "0").replace(/0+$/, "");
  if (frac.length < 2) frac = frac.padEnd(2, "0");
  return `${sign}$${whole}.${frac}`;
}

// The API's exact USD string ("12.000125000", nine decimals) in the same format. The usage
// API's nano-USD figures are JSON numbers, which JavaScript reads as floats: never used here.
function usdString(text) {
  const [whole, frac = ""] = String(text).replace("-", "").split(".");
  const nano = BigInt(whole) * NANO + BigInt(frac.padEnd(9, "0").slice(0, 9) || "0");
  return usd(String(text).startsWith("-") ? -nano : nano);
}

function count(value) {
  return value === null || value === undefined ? "–" : String(value).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

function utc(iso) {
  return iso ? iso.replace("T", " ").replace(/(\.\d+)?(Z|\+00:00)$/, "") : "";
}

// A datetime-local value, read as UTC, as ISO 8601.
function fromLocalInput(value) {
  if (!value) return "";
  return value.length > 16 ? `${value}Z` : `${value}:00Z`; // with seconds, or without
}

function notice(message, isError) {
  const box = document.getElementById("notice");
  box.textContent = message;
  box.className = isError ? "error" : "ok";
  box.hidden = false;
}

async function api(path, options) {
  const opts = Object.assign({ credentials: "same-origin", headers: {} }, options || {});
  if (opts.method && opts.method !== "GET") {
    opts.headers["X-CSRF-Token"] = csrf;
    opts.headers["Content-Type"] = "application/json";
  }
  const resp = await fetch(API + path, opts);
  if (resp.status === 401) {
    window.location.assign("/dashboard/login");
    throw new Error("logged out");
  }
  const body = await resp.json();
  if (!resp.ok) {
    const message = `${body.error || resp.statusText} (request id ${body.request_id || "?"})`;
    notice(message, true);
    throw new Error(message);
  }
  return body;
}

function row(cells, attrs) {
  const tr = el("tr", attrs);
  for (const cell of cells) {
    if (cell instanceof Node) tr.append(cell.tagName === "TD" || cell.tagName === "TH" ? cell : el("td", {}, cell));
    else tr.append(el("td", {}, cell === null || cell === undefined ? "" : cell));
  }
  return tr;
}

function num(value) {
  return el("td", { class: "num" }, value);
}

// ---- charts ----------------------------------------------------------------------------

const COLORS = ["#2563eb", "#dc2626", "#16a34a", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#65a30d", "#6b7280"];
const W = 560, H = 180, PAD_L = 78, PAD_B = 22, PAD_T = 10, PAD_R = 10;

// Lines with a dot per measured bucket (latency: no requests, no point).
// values: per series, an array of BigInt (or null for "no data"); format: BigInt -> label.
function lineChart(title, buckets, series, format) {
  const figure = el("figure", { class: "chart" });
  figure.append(el("figcaption", { text: title }));
  const box = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": title });
  let max = 0n;
  for (const s of series) for (const v of s.values) if (v !== null && v > max) max = v;
  const plotW = W - PAD_L - PAD_R, plotH = H - PAD_T - PAD_B;
  const x = (i) => PAD_L + (buckets.length <= 1 ? plotW / 2 : (i * plotW) / (buckets.length - 1));
  // BigInt scaling to 1/1000 of a pixel, then a small float for the drawing only.
  const y = (v) => PAD_T + plotH - (max === 0n ? 0 : Number((v * BigInt(plotH * 1000)) / max) / 1000);
  for (const [value, label] of [[0n, format(0n)], [max, format(max)]]) {
    box.append(svg("line", { x1: PAD_L, x2: W - PAD_R, y1: y(value), y2: y(value), class: "grid" }));
    const text = svg("text", { x: PAD_L - 6, y: y(value) + 4, "text-anchor": "end", class: "axis" });
    text.textContent = label;
    box.append(text);
  }
  const ticks = buckets.length > 2 ? [0, Math.floor((buckets.length - 1) / 2), buckets.length - 1] : [0];
  for (const i of ticks) {
    const text = svg("text", { x: x(i), y: H - 6, "text-anchor": i === 0 ? "start" : i === buckets.length - 1 ? "end" : "middle", class: "axis" });
    text.textContent = utc(buckets[i]).slice(5, 16);
    box.append(text);
  }
  series.forEach((s, k) => {
    const color = COLORS[k % COLORS.length];
    let d = "";
    let pen = false;
    s.values.forEach((v, i) => {
      if (v === null) { pen = false; return; }
      d += `${pen ? "L" : "M"}${x(i).toFixed(1)},${y(v).toFixed(1)}`;
      pen = true;
      const dot = svg("circle", { cx: x(i).toFixed(1), cy: y(v).toFixed(1), r: 2.2, fill: color });
      const tip = svg("title");
      tip.textContent = `${s.name} · ${utc(buckets[i])} · ${format(v)}`;
      dot.append(tip);
      box.append(dot);
    });
    if (d) box.append(svg("path", { d, stroke: color, fill: "none", "stroke-width": 1.6 }));
  });
  figure.append(box);
  figure.append(legendOf(series));
  return figure;
}

// Stacked bars: one column per time bucket, one colour per series (requests, errors, spend
// add up across models or keys). Heights are scaled with BigInt like the lines.
function barChart(title, buckets, series, format) {
  const figure = el("figure", { class: "chart" });
  figure.append(el("figcaption", { text: title }));
  const box = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": title });
  const totals = buckets.map((_, i) => series.reduce((sum, s) => sum + (s.values[i] ?? 0n), 0n));
  const max = totals.reduce((a, b) => (b > a ? b : a), 0n);
  const plotW = W - PAD_L - PAD_R, plotH = H - PAD_T - PAD_B;
  const slot = plotW / Math.max(buckets.length, 1);
  const height = (v) => (max === 0n ? 0 : Number((v * BigInt(plotH * 1000)) / max) / 1000);
  for (const [value, label] of [[0n, format(0n)], [max, format(max)]]) {
    const y = PAD_T + plotH - height(value);
    box.append(svg("line", { x1: PAD_L, x2: W - PAD_R, y1: y, y2: y, class: "grid" }));
    const text = svg("text", { x: PAD_L - 6, y: y + 4, "text-anchor": "end", class: "axis" });
    text.textContent = label;
    box.append(text);
  }
  const ticks = buckets.length > 2 ? [0, Math.floor((buckets.length - 1) / 2), buckets.length - 1] : [0];
  for (const i of ticks) {
    const anchor = i === 0 ? "start" : i === buckets.length - 1 ? "end" : "middle";
    const x = i === 0 ? PAD_L : i === buckets.length - 1 ? W - PAD_R : PAD_L + (i + 0.5) * slot;
    const text = svg("text", { x, y: H - 6, "text-anchor": anchor, class: "axis" });
    text.textContent = utc(buckets[i]).slice(5, 16);
    box.append(text);
  }
  buckets.forEach((bucket, i) => {
    let top = PAD_T + plotH;
    series.forEach((s, k) => {
      const v = s.values[i];
      if (v === null || v === 0n) return;
      const h = Math.max(height(v), 1);
      top -= h;
      const bar = svg("rect", { x: (PAD_L + i * slot + slot * 0.1).toFixed(2), y: top.toFixed(2), width: Math.max(slot * 0.8, 1).toFixed(2), height: h.toFixed(2), fill: COLORS[k % COLORS.length] });
      const tip = svg("title");
      tip.textContent = `${s.name} · ${utc(bucket)} · ${format(v)}`;
      bar.append(tip);
      box.append(bar);
    });
  });
  figure.append(box);
  figure.append(legendOf(series));
  return figure;
}

function legendOf(series) {
  const legend = el("ul", { class: "legend" });
  series.forEach((s, k) => legend.append(el("li", {}, el("span", { class: `swatch c${k % COLORS.length}` }), s.name)));
  return legend;
}

const big = (v) => (v === null || v === undefined ? null : BigInt(v));

function card(label, value, id) {
  return el("div", { class: "card", id }, el("div", { class: "card-label", text: label }), el("div", { class: "card-value", text: value }));
}

function rangeQuery() {
  const choice = document.getElementById("range").value;
  const params = new URLSearchParams();
  params.set("by", document.getElementById("by").value);
  if (choice === "custom") {
    const start = fromLocalInput(document.getElementById("range-start").value);
    const end = fromLocalInput(document.getElementById("range-end").value);
    if (start) params.set("start", start);
    if (end) params.set("end", end);
  } else {
    const hours = { "1h": 1, "24h": 24, "7d": 168, "30d": 720 }[choice];
    const end = new Date();
    params.set("start", new Date(end.getTime() - hours * 3600 * 1000).toISOString());
    params.set("end", end.toISOString());
  }
  return params;
}

// Answers with status >= 400 as /metrics counts them (this process, or every worker's),
// refusals before routing included: those have no usage record, so the charts miss them.
function errorAnswers(data) {
  const total = data.answers.reduce((sum, a) => sum + a.count, 0);
  const box = el("div", { class: "wide", id: "error-answers" });
  box.append(el("h3", { text: "Error answers since the gateway started (from /metrics)" }));
  box.append(el("p", { class: "muted", text: "Every answer with status 400 and above, by route, model and status, refusals included: an unknown model, a body that is not JSON, a missing or wrong key, a task no route serves. Those are refused before routing and have no usage record, so the charts above do not count them. Counted since the gateway process started (not in the range above)." }));
  const table = el("table", { id: "errors-table" });
  table.append(el("thead", {}, row(["Route", "Model", "Status", "Answers"].map((h, i) => el("th", { class: i === 3 ? "num" : "", text: h })))));
  const body = el("tbody");
  for (const a of data.answers) body.append(row([a.route, a.model || "–", el("td", { class: "bad" }, a.status), num(count(a.count))]));
  if (!data.answers.length) body.append(row([el("td", { class: "muted", colspan: "4" }, "none")]));
  table.append(body);
  box.append(el("div", { class: "scroll" }, table));
  return { box, total };
}

async function loadOverview() {
  const [data, answers] = await Promise.all([api(`/series?${rangeQuery()}`), api("/errors")]);
  const t = data.total.totals;
  const refused = errorAnswers(answers);
  const cards = document.getElementById("cards");
  cards.replaceChildren(
    card("Requests (usage records)", count(t.requests), "card-requests"),
    card("Errors among them", count(t.errors), "card-errors"),
    card("Mean latency", t.latency_ms_avg === null ? "–" : `${count(t.latency_ms_avg)} ms`, "card-latency"),
    card("Spend", usd(t.cost_nano_usd), "card-spend"),
    card("Error answers since start (/metrics)", count(refused.total), "card-error-answers"),
  );
  document.getElementById("range-label").textContent =
    `${utc(data.start)} to ${utc(data.end)} UTC, one bar per ${data.step_s >= 3600 ? data.step_s / 3600 + " h" : data.step_s / 60 + " min"}, per ${data.by}`;
  const pick = (field) => data.series.map((s) => ({ name: s.name, values: s[field].map(big) }));
  const charts = document.getElementById("charts");
  charts.replaceChildren(
    barChart("Requests", data.buckets, pick("requests"), (v) => count(v)),
    barChart("Errors among usage records (status ≥ 400; refusals before routing: below)", data.buckets, pick("errors"), (v) => count(v)),
    lineChart("Mean latency (ms)", data.buckets, pick("latency_ms_avg"), (v) => `${count(v)} ms`),
    barChart("Spend (USD)", data.buckets, pick("cost_nano_usd"), usd),
  );
  const table = el("table", { id: "series-table" });
  const heads = ["Per " + data.by, "Requests", "Errors", "Mean latency ms", "Spend (USD)"];
  table.append(el("thead", {}, row(heads.map((h, i) => el("th", { class: i ? "num" : "", text: h })))));
  const body = el("tbody");
  for (const s of data.series) {
    body.append(row([s.name, num(count(s.totals.requests)), num(count(s.totals.errors)), num(count(s.totals.latency_ms_avg)), num(usd(s.totals.cost_nano_usd))]));
  }
  table.append(body);
  charts.append(el("div", { class: "scroll wide" }, table));
  charts.append(refused.box);
}

// ---- usage -----------------------------------------------------------------------------

let usageCursor = null;

function usageQuery() {
  const params = new URLSearchParams();
  const add = (name, value) => { if (value) params.set(name, value); };
  add("api_key_id", document.getElementById("u-key").value);
  add("model", document.getElementById("u-model").value.trim());
  add("task", document.getElementById("u-task").value.trim());
  add("start", fromLocalInput(document.getElementById("u-start").value));
  add("end", fromLocalInput(document.getElementById("u-end").value));
  return params;
}

async function loadUsage(more) {
  const params = usageQuery();
  document.getElementById("u-csv").setAttribute("href", `${API}/usage.csv?${params}`);
  params.set("limit", document.getElementById("u-limit").value);
  if (more && usageCursor) params.set("cursor", usageCursor);
  const data = await api(`/usage?${params}`);
  const body = document.querySelector("#u-table tbody");
  if (!more) body.replaceChildren();
  for (const r of data.data) {
    const key = keysById.get(r.api_key_id);
    const status = el("td", { class: r.status >= 400 ? "bad" : "good" }, r.status);
    body.append(row([utc(r.created_at), el("code", { text: r.request_id }), key ? `${key.name} (id:${r.api_key_id})` : `id:${r.api_key_id}`,
      r.model, r.task, r.provider, status, num(count(r.input_tokens)), num(count(r.output_tokens)), num(count(r.latency_ms)), num(usdString(r.cost_usd))]));
  }
  usageCursor = data.next_cursor;
  document.getElementById("u-more").hidden = !usageCursor;
  const t = data.totals;
  document.getElementById("u-totals").textContent =
    `${count(t.requests)} records match · ${count(t.input_tokens)} input and ${count(t.output_tokens)} output tokens · ${usdString(t.cost_usd)} in all`;
}

// ---- keys ------------------------------------------------------------------------------

const limitText = (v) => (v === null ? "" : String(v));
const limitValue = (text) => (text.trim() === "" ? null : Number.parseInt(text, 10));

async function loadKeys() {
  const data = await api("/keys");
  keysById = new Map(data.keys.map((k) => [k.id, k]));
  const select = document.getElementById("u-key");
  const chosen = select.value;
  select.replaceChildren(el("option", { value: "" }, "all keys"));
  for (const k of data.keys) select.append(el("option", { value: String(k.id) }, `${k.name} (id:${k.id})`));
  select.value = chosen;
  const body = document.querySelector("#k-table tbody");
  body.replaceChildren();
  for (const k of data.keys) {
    const active = k.revoked_at === null;
    const credit = el("input", { size: 7, placeholder: "USD", "aria-label": `credit for ${k.name}`, class: "credit-amount" });
    const creditBtn = el("button", { type: "button", class: "credit" }, "Credit");
    creditBtn.addEventListener("click", async () => {
      const done = await api(`/keys/${k.id}/credit`, { method: "POST", body: JSON.stringify({ usd: credit.value.trim() }) });
      await loadKeys();
      notice(`credited ${usd(done.credited_nano_usd)} to ${done.name}; balance ${usd(done.balance_nano_usd)}`);
    });
    const inputs = ["rpm", "tpm", "max_concurrency"].map((f) =>
      el("input", { type: "number", min: "0", size: 5, value: limitText(k.limits[f]), placeholder: "default", "aria-label": `${f} of ${k.name}`, class: `limit-${f}` }));
    const save = el("button", { type: "button", class: "save-limits" }, "Save");
    save.addEventListener("click", async () => {
      const [rpm, tpm, max_concurrency] = inputs.map((i) => limitValue(i.value));
      await api(`/keys/${k.id}/limits`, { method: "PUT", body: JSON.stringify({ rpm, tpm, max_concurrency }) });
      await loadKeys();
      notice(`limits of ${k.name} saved`);
    });
    const revoke = el("button", { type: "button", class: "revoke danger" }, "Revoke");
    revoke.addEventListener("click", async () => {
      if (!window.confirm(`Revoke key ${k.name} (id:${k.id})? Requests with it fail at once.`)) return;
      await api(`/keys/${k.id}/revoke`, { method: "POST", body: "{}" });
      await loadKeys();
      notice(`revoked ${k.name} (id:${k.id})`);
    });
    body.append(row([
      num(k.id), el("td", { class: "key-name" }, el("div", { text: k.name }), el("code", { class: "muted", text: k.prefix })),
      k.role, utc(k.created_at).slice(0, 16),
      el("td", { class: active ? "good" : "bad" }, active ? "active" : el("span", {}, "revoked", el("br"), utc(k.revoked_at).slice(0, 16))),
      num(usd(k.balance_nano_usd)),
      active ? el("td", {}, credit, creditBtn) : "",
      active ? el("td", { class: "limits" }, ...inputs, save) : "",
      active ? el("td", {}, revoke) : "",
    ], { "data-key-id": String(k.id) }));
  }
}

async function createKey(event) {
  event.preventDefault();
  const text = (id) => document.getElementById(id).value.trim();
  const body = { name: text("k-name"), role: document.getElementById("k-role").value };
  if (text("k-balance")) body.balance_usd = text("k-balance");
  for (const [field, id] of [["rpm", "k-rpm"], ["tpm", "k-tpm"], ["max_concurrency", "k-conc"]]) {
    if (text(id)) body[field] = limitValue(text(id));
  }
  const made = await api("/keys", { method: "POST", body: JSON.stringify(body) });
  document.getElementById("new-key-value").textContent = made.key;
  document.getElementById("new-key").hidden = false;
  document.getElementById("key-form").reset();
  await loadKeys();
  notice(`created ${made.info.role} key ${made.info.name} (id:${made.info.id})`);
}

// ---- models and upstreams --------------------------------------------------------------

// A probe's result as hf check prints it: pass, FAIL or skip (see docs/HF_CHECK.md).
const RESULT = { pass: "pass", fail: "FAIL", skip: "skip" };

function lastCheck(check) {
  if (!check) return el("td", { class: "check muted" }, "never checked");
  const verdict = check.passed ? "passed" : "FAILED";
  const stale = check.stale ? " (stale: changed since)" : "";
  const cell = el("td", { class: `check ${check.passed && !check.stale ? "good" : "bad"}` });
  cell.append(el("div", { class: "verdict", text: `${verdict} ${utc(check.checked_at).slice(0, 16)}${stale}` }));
  if (Array.isArray(check.probes) && check.probes.length) {
    const list = el("ul", { class: "probes" });
    for (const p of check.probes) {
      const result = RESULT[p.result] || String(p.result);
      const item = el("li", { class: `probe-${p.result}` }, el("b", { text: result }), ` ${p.probe} (${p.client})`);
      if (p.latency_ms !== null && p.latency_ms !== undefined) item.append(` ${count(p.latency_ms)} ms`);
      if (p.reason) item.append(el("span", { class: "reason", text: `: ${p.reason}` }));
      list.append(item);
    }
    cell.append(list);
  }
  return cell;
}

async function loadModels() {
  // GET /hf/tasks/models as an admin sees it: every entry (local-only ones too) with its
  // own last check, whatever Hub id it shares with others.
  const list = await api("/models");
  const body = document.querySelector("#m-table tbody");
  body.replaceChildren();
  for (const m of list.models) {
    const routes = (m.routes || []).map((r) => `${r.provider}: ${r.model}`).join(", ");
    const p = m.pricing || {};
    const hub = el("td", { class: "hub" }, m.hub_model_id);
    if (m.local_only) hub.append(el("div", { class: "muted local-only", text: "local-only: never pushed to the Hub" }));
    body.append(row([m.provider_model_id, hub, m.task_type,
      el("td", { class: m.status === "live" ? "good" : "muted" }, m.status), m.source || "", el("td", { class: "routes" }, routes),
      `${p.input_per_million_usd ?? "0"}, ${p.output_per_million_usd ?? "0"}`, lastCheck(m.last_check)]));
  }
}

async function loadUpstreams() {
  const data = await api("/routes");
  const body = document.querySelector("#r-table tbody");
  body.replaceChildren();
  for (const m of data.models) {
    for (const r of m.routes) {
      body.append(row([m.id, m.policy || "default", r.shown_as === r.provider ? r.provider : `${r.provider} (shown as ${r.shown_as})`, r.model,
        el("td", { class: r.breaker === "closed" ? "good" : "bad" }, r.breaker),
        num(count(r.latency_ms)), num(count(r.first_token_latency_ms)), num(r.throughput ?? "–"),
        num(r.error_ratio), num(count(r.samples)), num(r.retry_after_s ?? "")]));
    }
  }
}

// ---- navigation ------------------------------------------------------------------------

const LOADERS = { overview: loadOverview, usage: () => loadUsage(false), keys: loadKeys, models: loadModels, upstreams: loadUpstreams };

async function show(tab) {
  if (!LOADERS[tab]) tab = "overview";
  const current = document.querySelector("section.tab:not([hidden])");
  if (current && current.id !== tab) document.getElementById("notice").hidden = true;
  for (const section of document.querySelectorAll("section.tab")) section.hidden = section.id !== tab;
  for (const link of document.querySelectorAll("#tabs a")) link.classList.toggle("active", link.dataset.tab === tab);
  document.body.dataset.loaded = "";
  try {
    await LOADERS[tab]();
  } finally {
    document.body.dataset.loaded = tab;
  }
}

async function start() {
  const session = await api("/session");
  csrf = session.csrf_token;
  document.getElementById("who").textContent = `${session.name} (id:${session.api_key_id})`;
  const names = document.getElementById("model-names");
  for (const id of session.models) names.append(el("option", { value: id }));
  document.getElementById("logout").addEventListener("click", async () => {
    await fetch("/dashboard/logout", { method: "POST", credentials: "same-origin", headers: { "X-CSRF-Token": csrf } });
    window.location.assign("/dashboard/login");
  });
  document.getElementById("range").addEventListener("change", (e) => {
    document.body.classList.toggle("custom-range", e.target.value === "custom");
  });
  document.getElementById("range-form").addEventListener("submit", (e) => { e.preventDefault(); show("overview"); });
  document.getElementById("usage-form").addEventListener("submit", (e) => { e.preventDefault(); show("usage"); });
  document.getElementById("u-more").addEventListener("click", () => loadUsage(true));
  document.getElementById("key-form").addEventListener("submit", (e) => createKey(e).catch(() => {}));
  window.addEventListener("hashchange", () => show(window.location.hash.slice(1)));
  await loadKeys();
  await show(window.location.hash.slice(1) || "overview");
}

document.addEventListener("DOMContentLoaded", () => { start().catch((err) => notice(String(err.message || err), true)); });
