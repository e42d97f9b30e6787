// Headroom's walk page: reads the form, asks /api/walk, draws the walk as SVG and plays it.
// Plain JavaScript, no library: every chart is drawn here.
"use strict";

const $ = (id) => document.getElementById(id);
const SVGNS = "http://www.w3.org/2000/svg";
let W = 800; // the chart being drawn: its width in CSS pixels
const PAD = { l: 56, r: 10, t: 10, b: 22 };

let options = null; // /api/options
let data = null; // the last walk
let cursor = 0; // point index: 0 = start, i = after engine step i - 1
let timer = null;

// ---------------------------------------------------------------------------------------------
// Formatting.

function num(v, digits) {
  if (v === null || v === undefined || !isFinite(v)) return "–";
  return Number(v).toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
}
const usd = (v) =>
  v === null || v === undefined || !isFinite(v) ? "–" : (v < 0 ? "−$" : "$") + num(Math.abs(v), Math.abs(v) >= 100 ? 0 : 2);
const pct = (v) => num(100 * v, 2) + "%";
const hourOf = (i) => (data ? data.hours[i] : 0);

// ---------------------------------------------------------------------------------------------
// The form.

function visible(el) {
  for (let e = el; e && e !== document.body; e = e.parentElement) {
    if (e.hidden) return false;
  }
  return true;
}

function scenario() {
  return $("scenario").value;
}

function refreshForm() {
  const sc = scenario();
  const process = sc === "history" ? "history" : "gbm";
  const oracle = $("oracle").value;
  const size = document.querySelector("input[name=size_by]:checked").value;
  // A stale-oracle scenario replaces the oracle: its own fields then do not apply.
  $("oracle").disabled = sc === "stale";
  document.querySelectorAll("[data-oracle]").forEach((e) => (e.hidden = sc === "stale" || e.dataset.oracle !== oracle));
  document.querySelectorAll("[data-scenario]").forEach((e) => {
    e.hidden = !e.dataset.scenario.split(" ").includes(sc);
  });
  document.querySelectorAll("[data-process]").forEach((e) => (e.hidden = e.dataset.process !== process));
  document.querySelectorAll("[data-size]").forEach((e) => (e.hidden = e.dataset.size !== size));
  document.querySelectorAll("[data-window]").forEach((e) => {
    if (sc === "history") e.hidden = $("window").value !== e.dataset.window;
  });
  const p = options && options.presets.find((x) => x.key === $("preset").value);
  $("preset-hint").textContent = p
    ? `Liquidation threshold ${num(p.lt, 4)}; incentive ${pct(p.incentive)} of the debt.`
    : "";
}

// The walk's query: every visible named field, and the scenario's process, shock and fault.
function query(extra) {
  const q = new URLSearchParams();
  document.querySelectorAll("#form [name]").forEach((e) => {
    if (e.name === "size_by" || e.disabled || !visible(e) || e.value === "") return;
    q.set(e.name, e.value);
  });
  const sc = scenario();
  q.set("process", sc === "history" ? "history" : "gbm");
  if (sc === "gap" || sc === "wick") q.set("shock", sc);
  if (sc === "stale") {
    // The chosen oracle is replaced by one that serves the price of `stale_hours` ago.
    q.set("shock", "gap");
    q.set("oracle", "lag");
    q.set("lag_hours", $("stale_hours").value);
  }
  if (sc === "bad-print") q.set("fault", "bad-print");
  if (sc !== "history" && sc !== "simulated" && !q.has("sigma")) q.set("sigma", $("sigma").value);
  for (const [k, v] of Object.entries(extra || {})) q.set(k, v);
  return q;
}

// Fills the form from the page's own query (a shared link), then walks if it asks to.
function fromLocation() {
  const q = new URLSearchParams(location.search);
  for (const [k, v] of q) {
    if (k === "scenario" || k === "size_by") continue;
    const e = document.querySelector(`#form [name="${k}"]`);
    if (e) e.value = v;
  }
  if (q.has("scenario")) $("scenario").value = q.get("scenario");
  if (q.has("debt")) document.querySelector("input[name=size_by][value=debt]").checked = true;
  return q.has("go");
}

// ---------------------------------------------------------------------------------------------
// Asking the server.

async function walk(extra) {
  stop();
  const view = $("view");
  view.dataset.state = "loading";
  const q = query(extra);
  let res, body;
  try {
    res = await fetch("/api/walk?" + q.toString());
    body = await res.json();
  } catch (e) {
    return showError("The server did not answer: " + e);
  }
  if (!res.ok) return showError(body.error || "HTTP " + res.status);
  $("error").hidden = true;
  const keep = extra && extra.topup_eth ? cursor : 0;
  data = body;
  render();
  setCursor(Math.min(keep, data.hours.length - 1));
  view.dataset.state = "ready";
}

function showError(message) {
  const e = $("error");
  e.textContent = message;
  e.hidden = false;
  $("view").dataset.state = "error";
}

// ---------------------------------------------------------------------------------------------
// Charts.

function el(name, attrs, parent) {
  const e = document.createElementNS(SVGNS, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (parent) parent.appendChild(e);
  return e;
}

// Sizes the chart's coordinates to its box (text keeps its shape) and gives its scales.
function scales(svg, n, lo, hi) {
  W = Math.max(svg.clientWidth || 800, 200);
  const h = Math.max(svg.clientHeight || 200, 80);
  svg.setAttribute("viewBox", `0 0 ${W} ${h}`);
  if (!(hi > lo)) {
    const m = isFinite(lo) ? lo : 1;
    lo = m * 0.9 - 1e-9;
    hi = m * 1.1 + 1e-9;
  }
  const span = hi - lo;
  lo -= 0.05 * span;
  hi += 0.05 * span;
  const width = W;
  const x = (i) => PAD.l + ((width - PAD.l - PAD.r) * i) / Math.max(n - 1, 1);
  const y = (v) => PAD.t + ((h - PAD.t - PAD.b) * (hi - v)) / (hi - lo);
  return { x, y, lo, hi, h };
}

function extent(...series) {
  let lo = Infinity, hi = -Infinity;
  for (const s of series) for (const v of s) if (v !== null && isFinite(v)) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  return [lo, hi];
}

function path(values, sc, step) {
  let d = "", pen = false, prev = null;
  values.forEach((v, i) => {
    if (v === null || !isFinite(v)) { pen = false; prev = null; return; }
    const X = sc.x(i).toFixed(1), Y = sc.y(v).toFixed(1);
    if (!pen) d += `M${X},${Y}`;
    else if (step && prev !== null) d += `H${X}V${Y}`;
    else d += `L${X},${Y}`;
    pen = true;
    prev = v;
  });
  return d;
}

function axes(svg, sc, n, fmt) {
  const g = el("g", { class: "axis" }, svg);
  for (let k = 0; k <= 4; k++) {
    const v = sc.lo + ((sc.hi - sc.lo) * k) / 4;
    const Y = sc.y(v);
    el("line", { x1: PAD.l, x2: W - PAD.r, y1: Y, y2: Y, class: "grid" }, g);
    el("text", { x: PAD.l - 4, y: Y + 4, "text-anchor": "end" }, g).textContent = fmt(v);
  }
  const last = hourOf(n - 1);
  const ticks = W < 420 ? 2 : 4;
  for (let k = 0; k <= ticks; k++) {
    const i = Math.round(((n - 1) * k) / ticks);
    el("text", { x: sc.x(i), y: sc.h - 6, "text-anchor": k === 0 ? "start" : k === ticks ? "end" : "middle" }, g).textContent =
      last > 72 ? `day ${num(hourOf(i) / 24, 1)}` : `h ${num(hourOf(i), 0)}`;
  }
}

function cursorLine(svg, sc) {
  const line = el("line", { x1: sc.x(0), x2: sc.x(0), y1: PAD.t, y2: sc.h - PAD.b, class: "cursor" }, svg);
  line.xOf = sc.x;
  return line;
}

function drawPrice() {
  const svg = $("chart-price");
  svg.replaceChildren();
  const c = data.cdp, n = data.hours.length;
  const [lo, hi] = extent(c.price, c.oracle, c.liq_price);
  const sc = scales(svg, n, lo, hi);
  axes(svg, sc, n, (v) => num(v, v >= 100 ? 0 : 2));
  if (c.trigger_step !== null) {
    const X = sc.x(c.trigger_step + 1);
    el("line", { x1: X, x2: X, y1: PAD.t, y2: sc.h - PAD.b, class: "trigger" }, svg);
  }
  el("path", { d: path(c.liq_price, sc, true), class: "liq" }, svg);
  el("path", { d: path(c.oracle, sc, true), class: "oracle" }, svg);
  el("path", { d: path(c.price, sc, false), class: "market" }, svg);
  for (const e of c.events) {
    const i = e.step + 1;
    if (e.kind === "topup") el("path", { d: `M${sc.x(i)},${sc.y(e.market_price) - 9}l-6,10h12z`, class: "topmark" }, svg);
    else el("circle", { cx: sc.x(i), cy: sc.y(e.market_price), r: 5, class: e.wrongful ? "sale wrongful" : "sale" }, svg);
  }
  return cursorLine(svg, sc);
}

function drawHf() {
  const svg = $("chart-hf");
  svg.replaceChildren();
  const hf = data.cdp.hf, n = data.hours.length;
  const [lo0, hi0] = extent(hf, [1]);
  const hi = Math.min(hi0, 4);
  const sc = scales(svg, n, Math.min(lo0, 0.9), hi);
  axes(svg, sc, n, (v) => num(v, 2));
  el("line", { x1: PAD.l, x2: W - PAD.r, y1: sc.y(1), y2: sc.y(1), class: "one" }, svg);
  el("path", { d: path(hf.map((v) => (v === null ? null : Math.min(v, sc.hi))), sc, false), class: "hf" }, svg);
  return cursorLine(svg, sc);
}

function drawPn() {
  const svg = $("chart-pn");
  svg.replaceChildren();
  const p = data.pn, n = data.hours.length;
  const [lo, hi] = extent(p.p, p.n);
  const sc = scales(svg, n, lo, hi);
  axes(svg, sc, n, (v) => usd(v));
  el("path", { d: path(p.n, sc, false), class: "nline" }, svg);
  el("path", { d: path(p.p, sc, false), class: "pline" }, svg);
  for (const e of p.events) {
    if (e.kind !== "roll") continue;
    const i = e.step + 1;
    el("circle", { cx: sc.x(i), cy: sc.y(p.p[i]), r: 4, class: "rollmark" }, svg);
  }
  return cursorLine(svg, sc);
}

let cursors = [];

// ---------------------------------------------------------------------------------------------
// Tables and readouts.

function row(tbody, cells, attrs) {
  const tr = document.createElement("tr");
  for (const [k, v] of Object.entries(attrs)) tr.dataset[k] = v;
  for (const c of cells) {
    const td = document.createElement("td");
    td.textContent = c;
    tr.appendChild(td);
  }
  tbody.appendChild(tr);
  return tr;
}

function kv(table, pairs) {
  table.replaceChildren();
  for (const [k, v, id] of pairs) {
    const tr = document.createElement("tr");
    const th = document.createElement("th");
    th.textContent = k;
    const td = document.createElement("td");
    td.textContent = v;
    if (id) td.id = id;
    tr.append(th, td);
    table.appendChild(tr);
  }
}

const KIND = { liquidation: "liquidation", auction: "auction settles", topup: "your top-up", roll: "roll", settlement: "settlement" };

function drawTables() {
  const body = document.querySelector("#cdp-events tbody");
  body.replaceChildren();
  for (const e of data.cdp.events) {
    const sale = e.kind !== "topup";
    row(
      body,
      [
        e.step, num(hourOf(e.step + 1), 1), KIND[e.kind] || e.kind, num(e.eth, 4), sale ? usd(e.usd) : "",
        sale ? usd(e.fee_usd) : "", e.step_slippage_usd === undefined ? "" : usd(e.step_slippage_usd),
        sale ? (e.wrongful ? "yes" : "no") : "",
        e.step_borrower_loss_usd === undefined ? "" : usd(e.step_borrower_loss_usd),
      ],
      { step: e.step, round: e.round, kind: e.kind, eth: e.eth, usd: e.usd, fee: e.fee_usd, wrongful: e.wrongful },
    );
  }
  const pb = document.querySelector("#pn-events tbody");
  pb.replaceChildren();
  for (const e of data.pn.events) {
    row(
      pb,
      [e.step, num(hourOf(e.step + 1), 1), KIND[e.kind] || e.kind, usd(e.usd), num(e.eth, 4), usd(e.fee_usd),
        e.step_slippage_usd === undefined ? "" : usd(e.step_slippage_usd)],
      { step: e.step, round: e.round, kind: e.kind, eth: e.eth, usd: e.usd, fee: e.fee_usd },
    );
  }
}

function drawPosition() {
  const p = data.position;
  const t = $("position");
  if (!p || p.error) {
    kv(t, []);
    $("position-note").textContent = p ? "Closed forms unavailable: " + p.error : "";
    return;
  }
  const r = p.report, i = p.input;
  kv(t, [
    ["liquidation price", usd(r.liquidation_price)],
    ["health factor", num(r.health_factor, 4)],
    ["distance", `${pct(r.distance_pct)} = ${num(r.distance_sigmas, 2)} sigma`],
    [`P(liquidation) in ${num(i.horizon_days, 1)} days`, `${pct(r.p_liq_continuous)} continuous, ${pct(r.p_liq_discrete)} checked every ${num(i.oracle_minutes, 0)} min`],
    [`top-up for a ${pct(i.gap)} gap`, `${num(r.topup_for_gap, 4)} ETH`],
    ["incentive at risk", usd(r.bonus_at_risk_usd)],
  ]);
  $("position-note").textContent =
    `headroom position --collateral ${i.collateral} --debt ${num(i.debt, 2).replace(/,/g, "")} --price ${i.price} --lt ${num(i.lt, 6)} ` +
    `--bonus ${num(i.bonus, 6)} --vol ${num(i.vol, 4)} --horizon-days ${num(i.horizon_days, 4)} --oracle-minutes ${i.oracle_minutes} --gap ${i.gap}`;
}

function drawSummary() {
  const c = data.cdp, m = c.metrics, pm = data.pn.metrics;
  const liqs = c.events.filter((e) => e.kind === "liquidation").length;
  const rolls = data.pn.events.filter((e) => e.kind === "roll").length;
  const s = $("summary");
  s.dataset.triggerStep = c.trigger_step === null ? "" : c.trigger_step;
  s.dataset.liquidations = liqs;
  s.dataset.rolls = rolls;
  s.dataset.steps = data.steps;
  const trig = c.trigger_step === null ? "The trigger never fires on this path." : `The trigger fires in step ${c.trigger_step} (hour ${num(hourOf(c.trigger_step + 1), 1)}).`;
  s.textContent =
    `${trig} CDP: ${liqs} liquidation${liqs === 1 ? "" : "s"} (${m.wrongful_exits} wrongful), bonus and fees ${usd(m.fees_usd)}, slippage ${usd(m.slippage_usd)}, bad debt ${usd(m.shortfall_usd)}; at the last price the borrower is ${usd(c.borrower_loss[c.borrower_loss.length - 1])} worse off than without forced sales. ` +
    `P/N: ${rolls} roll${rolls === 1 ? "" : "s"}, fees ${usd(pm.fees_usd)}, slippage ${usd(pm.slippage_usd)}; never liquidated.`;
  const t = data.topup;
  const sales = c.events.filter((e) => e.kind !== "topup");
  const plural = (k) => `${k} liquidation${k === 1 ? "" : "s"}`;
  let said = "";
  if (t && t.landed_step === null) said = `Sent in step ${t.step}; it would land after the end of the path.`;
  else if (t && !t.took) said = `Sent in step ${t.step}, landed in step ${t.landed_step}: too late, the position was already liquidated.`;
  else if (t) {
    const before = sales.filter((e) => e.step < t.landed_step).length;
    const after = sales.length - before;
    said = `Sent in step ${t.step}, landed in step ${t.landed_step}: ` +
      (sales.length === 0
        ? "in time, no liquidation."
        : before > 0
          ? `too late for ${plural(before)} before it` + (after > 0 ? `, and ${after} more after it.` : ".")
          : `in time, but too small: ${plural(after)} still happened.`);
  }
  $("topup-result").textContent = said;
}

function drawCharts() {
  cursors = [drawPrice(), drawHf(), drawPn()];
}

function render() {
  $("scrub").max = data.hours.length - 1;
  drawCharts();
  drawTables();
  drawPosition();
  drawSummary();
  $("toml").textContent = data.toml;
}

function setCursor(i) {
  if (!data) return;
  const n = data.hours.length;
  cursor = Math.max(0, Math.min(n - 1, i));
  $("scrub").value = cursor;
  $("view").dataset.cursor = cursor;
  for (const line of cursors) {
    const x = line.xOf(cursor);
    line.setAttribute("x1", x);
    line.setAttribute("x2", x);
  }
  const c = data.cdp, p = data.pn, k = cursor;
  $("clock").textContent = `step ${k} of ${n - 1}, hour ${num(hourOf(k), 1)}`;
  const state = c.hf[k] === null ? "closed" : c.hf[k] < 1 ? "liquidatable" : "safe";
  kv($("now"), [
    ["market price", usd(c.price[k])],
    ["oracle print", usd(c.oracle[k])],
    ["liquidation price", usd(c.liq_price[k])],
    ["health factor", c.hf[k] === null ? "closed" : num(c.hf[k], 4), "now-hf"],
    ["collateral", `${num(c.collateral[k], 4)} ETH`],
    ["debt", usd(c.debt[k])],
    ["liquidations so far", `${c.exits[k]} (${c.wrongful[k]} wrongful)`],
    ["bonus and fees so far", usd(c.fees[k])],
    ["slippage so far", usd(c.slippage[k])],
    ["the borrower's loss to forced sales", usd(c.borrower_loss[k])],
  ]);
  $("now").dataset.state = state;
  kv($("pn-now"), [
    ["P (the holder's claim)", usd(p.p[k])],
    ["N (the borrower's)", usd(p.n[k])],
    ["rolls so far", String(p.exits[k])],
    ["roll fees so far", usd(p.fees[k])],
    ["roll slippage so far", usd(p.slippage[k])],
  ]);
  for (const tr of document.querySelectorAll("#cdp-events tbody tr, #pn-events tbody tr")) {
    tr.classList.toggle("future", Number(tr.dataset.step) + 1 > k);
  }
}

// ---------------------------------------------------------------------------------------------
// Playing.

function stop() {
  if (timer !== null) clearInterval(timer);
  timer = null;
  $("play").innerHTML = "&#9654; Play";
  $("view").dataset.playing = "no";
}

function play() {
  if (!data) return;
  if (timer !== null) return stop();
  if (cursor >= data.hours.length - 1) setCursor(0);
  $("play").innerHTML = "&#10074;&#10074; Pause";
  $("view").dataset.playing = "yes";
  timer = setInterval(() => {
    const speed = Number($("speed").value);
    if (cursor >= data.hours.length - 1) return stop();
    setCursor(cursor + speed);
  }, 40);
}

// ---------------------------------------------------------------------------------------------
// Start.

async function init() {
  const res = await fetch("/api/options");
  options = await res.json();
  for (const p of options.presets) $("preset").add(new Option(p.label, p.key));
  for (const w of options.windows) $("window").add(new Option(w.label, w.key));
  $("window").add(new Option("Another window (start and hours)", "custom"));
  if (!options.history) {
    const o = [...$("scenario").options].find((x) => x.value === "history");
    o.disabled = true;
    o.textContent += " (data file not found)";
  }
  $("preset").value = "aave-v3";
  $("oracle").value = "heartbeat";
  const go = fromLocation();
  refreshForm();
  $("form").addEventListener("change", refreshForm);
  $("preset").addEventListener("change", () => {
    const maker = $("preset").value.startsWith("maker");
    $("oracle").value = maker ? "osm" : "heartbeat";
    refreshForm();
  });
  $("form").addEventListener("submit", (e) => {
    e.preventDefault();
    walk();
  });
  $("play").addEventListener("click", play);
  $("back").addEventListener("click", () => { stop(); setCursor(cursor - 1); });
  $("next").addEventListener("click", () => { stop(); setCursor(cursor + 1); });
  $("scrub").addEventListener("input", () => { stop(); setCursor(Number($("scrub").value)); });
  $("topup").addEventListener("click", () => {
    if (!data) return;
    walk({ topup_eth: $("topup_eth").value, topup_step: Math.min(cursor, data.steps - 1) });
  });
  let resizing = null;
  window.addEventListener("resize", () => {
    clearTimeout(resizing);
    resizing = setTimeout(() => {
      if (!data) return;
      drawCharts();
      setCursor(cursor);
    }, 150);
  });
  $("view").dataset.state = "idle";
  if (go) walk();
}

init();
