// The playground: score texts through this server's own comments:analyze.
// Plain JavaScript, no dependencies. User text only ever reaches the page as textContent.
"use strict";

const ANALYZE_PATH = "/v1alpha1/comments:analyze";
const ATTRIBUTES_PATH = "/v1alpha1/attributes";
const MODEL_PATH = "/v1alpha1/model";
// Registry groups, in display order, with the page's names for them.
const GROUPS = [
  ["production", "Production"],
  ["bridging", "Bridging"],
  ["experimental", "Other"],
];
const MAX_TEXTS = 4;
const EXAMPLE = "Thanks for explaining. I had the same problem last year, and what helped me was asking the neighbours.";

const state = {
  // Perspective's limit, in UTF-8 bytes; replaced by the server's own from /v1alpha1/model.
  maxCommentBytes: 20480,
  attributes: [],
  loaded: false,
  nextText: 1,
};
const utf8 = new TextEncoder();

function byId(id) {
  return document.getElementById(id);
}

function element(tag, attributes = {}, text = null) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  if (text !== null) node.textContent = text;
  return node;
}

function keyHeaders() {
  const key = byId("api-key").value.trim();
  return key ? { "X-Goog-Api-Key": key } : {};
}

// One call to the server. Resolves to {data, response} or {error}; never throws.
async function callServer(path, body) {
  const init = { method: body === undefined ? "GET" : "POST", headers: keyHeaders(), cache: "no-store" };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (exc) {
    return { error: `Could not reach the server (${exc.message}).` };
  }
  let data = null;
  try {
    data = await response.json();
  } catch (exc) {
    data = null;
  }
  if (!response.ok) return { error: describeError(response, data), status: response.status };
  return { data, response };
}

// Perspective's error envelope as one sentence: its message, HTTP status and error kind.
function describeError(response, data) {
  const error = data && typeof data === "object" ? data.error : null;
  if (!error || typeof error.message !== "string") {
    return `The server answered HTTP ${response.status} ${response.statusText} without an error message.`;
  }
  const details = Array.isArray(error.details) ? error.details : [];
  const kinds = details.map((d) => d.errorType || d.reason).filter(Boolean);
  const status = [`HTTP ${response.status}`, error.status, ...kinds].filter(Boolean).join(", ");
  let message = `${error.message} (${status})`;
  const retry = response.headers.get("Retry-After");
  if (retry) message += ` Try again in ${retry} s.`;
  return message;
}

function showError(message) {
  const box = byId("error");
  box.textContent = message;
  box.hidden = !message;
}

// ---- texts ---------------------------------------------------------------------------

function addText(value = "") {
  const list = byId("texts");
  if (list.children.length >= MAX_TEXTS) return null;
  const number = state.nextText++;
  const panel = element("div", { class: "text-panel" });
  const id = `text-${number}`;
  const label = element("label", { for: id }, `Text ${list.children.length + 1}`);
  const area = element("textarea", { id, name: id, rows: "5", "aria-describedby": `${id}-counter` });
  area.value = value;
  const footer = element("div", { class: "panel-footer" });
  const counter = element("p", { class: "counter", id: `${id}-counter` });
  footer.append(counter);
  if (list.children.length > 0) {
    const remove = element("button", { type: "button", class: "small" }, "Remove");
    remove.setAttribute("aria-label", `Remove ${label.textContent}`);
    remove.addEventListener("click", () => {
      panel.remove();
      renumberTexts();
    });
    footer.append(remove);
  }
  area.addEventListener("input", () => updateCounter(area, counter));
  area.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      byId("score-form").requestSubmit();
    }
  });
  panel.append(label, area, footer);
  list.append(panel);
  updateCounter(area, counter);
  updateAddButton();
  return area;
}

function renumberTexts() {
  [...byId("texts").children].forEach((panel, i) => {
    panel.querySelector("label").textContent = `Text ${i + 1}`;
    const remove = panel.querySelector("button");
    if (remove) remove.setAttribute("aria-label", `Remove Text ${i + 1}`);
  });
  updateAddButton();
}

function updateAddButton() {
  byId("add-text").disabled = byId("texts").children.length >= MAX_TEXTS;
}

// Perspective's limit is on UTF-8 bytes, not characters: an emoji is 4 bytes.
function updateCounter(area, counter) {
  const bytes = utf8.encode(area.value).length;
  counter.textContent = `${bytes.toLocaleString("en")} / ${state.maxCommentBytes.toLocaleString("en")} bytes`;
  counter.classList.toggle("over", bytes > state.maxCommentBytes);
}

function updateAllCounters() {
  for (const area of byId("texts").querySelectorAll("textarea")) {
    updateCounter(area, byId(`${area.id}-counter`));
  }
}

// ---- attributes ----------------------------------------------------------------------

async function loadAttributes() {
  const status = byId("attributes-status");
  status.textContent = "Loading the attributes this server scores…";
  const [attributes, model] = await Promise.all([callServer(ATTRIBUTES_PATH), callServer(MODEL_PATH)]);
  if (attributes.error) {
    status.textContent = `Could not load the attributes: ${attributes.error}`;
    if (attributes.status === 400 || attributes.status === 403) {
      byId("key-field").hidden = false;
      status.textContent += " Enter an API key below.";
    }
    return;
  }
  if (model.data && model.data.maxCommentBytes) {
    state.maxCommentBytes = model.data.maxCommentBytes;
    updateAllCounters();
  }
  byId("model-version").textContent = attributes.data.modelVersion;
  state.attributes = attributes.data.attributes || [];
  renderAttributes();
  state.loaded = true;
  status.textContent = `${state.attributes.length} attributes.`;
}

function renderAttributes() {
  const groups = byId("attribute-groups");
  groups.replaceChildren();
  const known = new Set(GROUPS.map(([name]) => name));
  for (const [group, title] of GROUPS) {
    const members = state.attributes.filter((a) => a.group === group || (group === "experimental" && !known.has(a.group)));
    if (!members.length) continue;
    const box = element("div", { class: "group", role: "group", "aria-labelledby": `group-${group}` });
    box.append(element("h3", { id: `group-${group}` }, title));
    const actions = element("div", { class: "group-actions" });
    for (const [text, checked] of [["All", true], ["None", false]]) {
      const button = element("button", { type: "button", class: "small" }, text);
      button.setAttribute("aria-label", `${text} of the ${title.toLowerCase()} attributes`);
      button.addEventListener("click", () => {
        for (const input of box.querySelectorAll("input")) input.checked = checked;
      });
      actions.append(button);
    }
    box.append(actions);
    for (const attribute of members) {
      const id = `attr-${attribute.name}`;
      const row = element("div", { class: "check" });
      const input = element("input", { type: "checkbox", id, name: "attribute", value: attribute.name });
      input.checked = attribute.name === "TOXICITY" || (group === "bridging" && attribute.name.startsWith("REASONING"));
      const label = element("label", { for: id }, attribute.name);
      label.append(element("span", { class: "definition" }, attribute.definition || ""));
      row.append(input, label);
      box.append(row);
    }
    groups.append(box);
  }
}

function chosenAttributes() {
  return [...document.querySelectorAll('input[name="attribute"]:checked')].map((input) => input.value);
}

function supportsSpans(name) {
  const attribute = state.attributes.find((a) => a.name === name);
  return !attribute || attribute.supportsSpans !== false;
}

// ---- scoring -------------------------------------------------------------------------

function requestBody(text, attributes) {
  const body = {
    comment: { text },
    requestedAttributes: Object.fromEntries(attributes.map((name) => [name, {}])),
    doNotStore: byId("do-not-store").checked,
  };
  const languages = byId("languages").value.split(",").map((l) => l.trim()).filter(Boolean);
  if (languages.length) body.languages = languages;
  if (byId("spans").checked) body.spanAnnotations = true;
  return body;
}

// "queue;dur=1.2, inference;dur=30.5, total;dur=33.0" -> {queue: 1.2, inference: 30.5, total: 33.0}
function serverTimings(header) {
  const timings = {};
  for (const part of (header || "").split(",")) {
    const match = /^\s*([\w-]+)\s*;\s*dur=([\d.]+)/.exec(part);
    if (match) timings[match[1]] = Number(match[2]);
  }
  return timings;
}

async function score(event) {
  event.preventDefault();
  showError("");
  if (!state.loaded) await loadAttributes();
  const texts = [...byId("texts").querySelectorAll("textarea")].map((area) => area.value);
  const attributes = chosenAttributes();
  const button = byId("score");
  button.disabled = true;
  byId("results-status").textContent = texts.length > 1 ? `Scoring ${texts.length} texts…` : "Scoring…";
  const answers = await Promise.all(
    texts.map(async (text) => {
      const started = performance.now();
      const answer = await callServer(ANALYZE_PATH, requestBody(text, attributes));
      answer.roundTripMs = performance.now() - started;
      return answer;
    }),
  );
  button.disabled = false;
  const results = byId("results");
  results.replaceChildren(...answers.map((answer, i) => renderResult(i + 1, texts[i], attributes, answer)));
  const failed = answers.filter((a) => a.error).length;
  byId("results-status").textContent = failed
    ? `${answers.length - failed} of ${answers.length} scored; ${failed} refused (see below).`
    : `${answers.length} scored.`;
}

// The first ``units`` UTF-16 units of ``text``, without splitting a surrogate pair.
function clip(text, units) {
  const code = text.charCodeAt(units - 1);
  return text.slice(0, code >= 0xd800 && code <= 0xdbff ? units - 1 : units);
}

function renderResult(number, text, attributes, answer) {
  const card = element("article", { class: "result", "aria-labelledby": `result-${number}-title` });
  card.append(element("h3", { id: `result-${number}-title` }, `Text ${number}`));
  const preview = text.length > 280 ? `${clip(text, 280)}…` : text;
  card.append(element("p", { class: "quote" }, preview || "(empty)"));
  if (answer.error) {
    card.append(element("p", { class: "error", role: "alert" }, answer.error));
    return card;
  }
  const data = answer.data;
  const timings = serverTimings(answer.response.headers.get("Server-Timing"));
  const parts = [`model ${data.modelVersion || answer.response.headers.get("X-Model-Version")}`];
  if ("total" in timings) {
    const ms = (name) => (timings[name] || 0).toFixed(1);
    parts.push(`server ${ms("total")} ms (tokenization ${ms("tokenization")} ms, queue ${ms("queue")} ms, model ${ms("inference")} ms)`);
  }
  parts.push(`round trip ${answer.roundTripMs.toFixed(0)} ms`);
  if (data.languages && data.languages.length) parts.push(`languages ${data.languages.join(", ")}`);
  card.append(element("p", { class: "meta" }, parts.join(" · ")));

  const scores = data.attributeScores || {};
  const bars = element("ul", { class: "bars" });
  for (const name of attributes.filter((a) => a in scores)) {
    const value = scores[name].summaryScore.value;
    const row = element("li", { class: "bar-row", "data-attribute": name });
    const labelId = `result-${number}-${name}`;
    row.append(element("span", { class: "bar-name", id: labelId }, name));
    const bar = element("div", {
      class: "bar", role: "meter", "aria-valuemin": "0", "aria-valuemax": "1",
      "aria-valuenow": value.toFixed(3), "aria-labelledby": labelId,
    });
    const fill = element("div", { class: "bar-fill" });
    fill.style.width = `${(100 * value).toFixed(1)}%`; // CSSOM: allowed by the page's CSP
    bar.append(fill);
    row.append(bar, element("span", { class: "bar-value" }, value.toFixed(3)));
    bars.append(row);
  }
  card.append(bars);
  const spanned = attributes.filter((a) => a in scores && supportsSpans(a));
  if (byId("spans").checked && spanned.length) card.append(renderSpans(number, text, spanned, scores));
  return card;
}

// Each sentence shaded by its score for one attribute. Perspective's span offsets count
// UTF-16 code units, which is what JavaScript string indices count, so slice() is exact
// (an emoji is two units in both).
function renderSpans(number, text, attributes, scores) {
  const box = element("div", { class: "span-view" });
  const id = `spans-${number}-attribute`;
  const field = element("div", { class: "field" });
  field.append(element("label", { for: id }, "Sentences shaded by"));
  const select = element("select", { id });
  for (const name of attributes) select.append(element("option", { value: name }, name));
  field.append(select);
  const view = element("p", { class: "spans", "aria-label": "Sentence scores" });
  const draw = () => {
    const spans = [...(scores[select.value].spanScores || [])].sort((a, b) => (a.begin || 0) - (b.begin || 0));
    const nodes = [];
    let at = 0;
    for (const span of spans) {
      const begin = span.begin || 0;
      const end = span.end || 0;
      if (begin > at) nodes.push(document.createTextNode(text.slice(at, begin)));
      const value = span.score.value;
      const mark = element("mark", { "data-score": value.toFixed(3), title: `${select.value} ${value.toFixed(3)}` }, text.slice(begin, end));
      mark.style.backgroundColor = `rgba(220, 38, 38, ${(0.08 + 0.6 * value).toFixed(3)})`;
      nodes.push(mark);
      at = Math.max(at, end);
    }
    if (at < text.length) nodes.push(document.createTextNode(text.slice(at)));
    view.replaceChildren(...nodes);
  };
  select.addEventListener("change", draw);
  draw();
  box.append(field, view);
  return box;
}

// ---- start ---------------------------------------------------------------------------

function start() {
  if (document.body.dataset.keyRequired === "true") byId("key-field").hidden = false;
  byId("api-key").addEventListener("change", () => {
    if (!state.loaded) loadAttributes();
  });
  byId("add-text").addEventListener("click", () => {
    const area = addText();
    if (area) area.focus();
  });
  byId("score-form").addEventListener("submit", score);
  addText(EXAMPLE);
  loadAttributes();
}

document.addEventListener("DOMContentLoaded", start);
