// The operators' console: the live list, the detail, keyboard triage, sound and notifications.
// Plain ES module, no build step and no library; every text goes in with textContent, never
// innerHTML, so an alert field holding HTML shows as text. API: docs/console.md.

// Each rule's [zh, en] names by id, from the rule catalogue (schemas/catalogue.py) through
// GET /api/rules once logged in (loadRules); a rule it does not name shows its id.
const RULES = {};

const TEXT = {
  zh: {
    title: "疫情防控指挥中心", armSound: "启用声音", soundOn: "声音已启用", notify: "桌面通知",
    logout: "退出", login: "登录", user: "用户名", password: "密码", all: "全部",
    severity: "级别", status: "状态", rule: "规则", group: "分组", none: "不分组",
    byRule: "按规则", byPlace: "按地点", search: "搜索", time: "时间", place: "地点",
    grid: "网格", person: "人员", message: "说明", empty: "暂无告警", keys: "快捷键",
    source: "来源", live: "实时", stored: "历史（ClickHouse）", day: "日期",
    storedNote: "历史告警读自 ClickHouse，不随实时推送更新；状态以本控制台读到的为准。",
    close: "关闭", stale: "实时连接中断，正在重连……列表可能不是最新的。",
    sev_critical: "严重", sev_warning: "警告", sev_info: "提示",
    st_new: "新", st_acknowledged: "已确认", st_assigned: "已指派", st_resolved: "已处置",
    st_dismissed: "已忽略", more: (n) => `还有 ${n} 条，显示更多`, newAlerts: (n) => `有 ${n} 条新告警，点击或按 n 显示`,
    live: "实时", connecting: "连接中", staleShort: "已中断",
    ack: "确认", assign: "指派", comment: "备注", resolve: "处置完毕", dismiss: "忽略",
    reopen: "重新打开", trail: "处置记录", evidence: "证据事件", assignee: "指派给",
    noteLabel: "备注内容（不要填写身份证号或手机号）", selectOne: "请选择一条告警",
    bulkWill: (n, a) => `将对 ${n} 条告警执行「${a}」`, undo: "撤销", undone: "已撤销",
    checked: (n) => `已选 ${n} 条：按 A 全部确认，R 全部处置，Esc 取消`,
    unackedCritical: (n) => `${n} 条严重告警未确认`, total: (n) => `共 ${n} 条`,
    health: "运行状态", map: "地图", feed: "数据源", perSecond: "每秒", lastEvent: "最新事件",
    behind: "滞后", silentFlag: "数据源中断", workerDown: "无法连接处理程序", lag: "积压",
    deadLetters: "异常数据", sink: "入库", pending: "待写入", paused: "已暂停", errors: "错误",
    feed_checkpoint_scan: "卡口扫码", feed_venue_scan: "场所扫码", feed_patrol_event: "巡逻",
    feed_risk_area: "风险地区", feed_venue: "场所登记", yes: "是", no: "否",
    mapNote: "示意图：按配置的坐标绘制，非实际地图。", alertsHere: (n) => `${n} 条告警`,
    failed: "操作失败：", done: "已完成", loginFailed: "用户名或密码错误",
    helpKeys: [["j / k", "下一条 / 上一条"], ["a", "确认"], ["r", "处置完毕"], ["d", "忽略"],
      ["c", "备注"], ["x", "选中（批量）"], ["A / R", "批量确认 / 批量处置"], ["n", "显示新告警"],
      ["/", "搜索"], ["?", "帮助"], ["Esc", "取消"]],
  },
  en: {
    title: "Epidemic-control command centre", armSound: "Arm sound", soundOn: "Sound armed",
    notify: "Desktop notifications", logout: "Log out", login: "Log in", user: "User",
    password: "Password", all: "All", severity: "Severity", status: "Status", rule: "Rule",
    group: "Group", none: "None", byRule: "By rule", byPlace: "By place", search: "Search",
    time: "Time", place: "Place", grid: "Grid", person: "Person", message: "Message",
    empty: "No alerts", keys: "Keyboard", close: "Close",
    source: "Source", live: "Live", stored: "History (ClickHouse)", day: "Day",
    storedNote: "History is read from ClickHouse and does not follow the live stream; statuses are the ones this console read.",
    stale: "The live stream dropped; reconnecting… the list may be out of date.",
    sev_critical: "critical", sev_warning: "warning", sev_info: "info",
    st_new: "new", st_acknowledged: "acknowledged", st_assigned: "assigned",
    st_resolved: "resolved", st_dismissed: "dismissed", more: (n) => `${n} more: show them`,
    newAlerts: (n) => `${n} new alert${n === 1 ? "" : "s"}: click or press n to show`,
    live: "live", connecting: "connecting", staleShort: "stale",
    ack: "Acknowledge", assign: "Assign", comment: "Comment", resolve: "Resolve",
    dismiss: "Dismiss", reopen: "Reopen", trail: "Audit trail", evidence: "Evidence events",
    assignee: "Assignee", noteLabel: "Note (no ID or phone numbers)",
    selectOne: "Select an alert", bulkWill: (n, a) => `${a}: ${n} alerts`, undo: "Undo",
    undone: "Undone", checked: (n) => `${n} selected: A acknowledges all, R resolves all, Esc clears`,
    unackedCritical: (n) => `${n} critical unacknowledged`, total: (n) => `${n} alerts`,
    health: "Pipeline health", map: "Map", feed: "Feed", perSecond: "per s",
    lastEvent: "Newest event", behind: "Behind", silentFlag: "A feed went silent",
    workerDown: "Worker unreachable", lag: "Lag", deadLetters: "Dead letters", sink: "Sink",
    pending: "pending rows", paused: "paused", errors: "errors",
    feed_checkpoint_scan: "checkpoint scans", feed_venue_scan: "venue scans",
    feed_patrol_event: "patrol events", feed_risk_area: "risk areas", feed_venue: "venues",
    yes: "yes", no: "no",
    mapNote: "A sketch drawn from the configured coordinates, not a survey map.",
    alertsHere: (n) => `${n} alert${n === 1 ? "" : "s"}`,
    failed: "Failed: ", done: "Done", loginFailed: "Wrong user name or password",
    helpKeys: [["j / k", "next / previous"], ["a", "acknowledge"], ["r", "resolve"],
      ["d", "dismiss"], ["c", "comment"], ["x", "select for a bulk action"],
      ["A / R", "acknowledge / resolve the selected"], ["n", "show new alerts"],
      ["/", "search"], ["?", "help"], ["Esc", "cancel"]],
  },
};

const $ = (sel) => document.querySelector(sel);
const el = (tag, props = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === "class") node.className = v;
    else if (k === "dataset") Object.assign(node.dataset, v);
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const child of children) node.append(child instanceof Node ? child : String(child ?? ""));
  return node;
};

const state = {
  user: null, role: null, csrf: null, lang: localStorage.getItem("controlfeed.lang") || "zh",
  alerts: new Map(), order: [], pending: [], selected: null, checked: new Set(), shown: 0,
  streamId: null, source: null, lastMessage: 0, counts: null, sound: null, detailSeq: 0,
};

const t = (key, ...args) => {
  const value = TEXT[state.lang][key] ?? TEXT.zh[key] ?? key;
  return typeof value === "function" ? value(...args) : value;
};
const ruleName = (rule) => (RULES[rule] || [rule, rule])[state.lang === "zh" ? 0 : 1];
const place = (a) => a.venue_id || a.checkpoint_id || a.site_id || a.incident_id || "";
const fmtTime = (iso) => new Date(iso).toLocaleString(state.lang === "zh" ? "zh-CN" : "en-GB",
  { timeZone: "Asia/Shanghai", hour12: false });

async function api(path, options = {}) {
  const headers = { "accept": "application/json", ...(options.headers || {}) };
  if (options.body !== undefined) headers["content-type"] = "application/json";
  if (options.method && options.method !== "GET" && state.csrf) headers["x-csrf-token"] = state.csrf;
  const response = await fetch(path, { ...options, headers, credentials: "same-origin",
    body: options.body === undefined ? undefined : JSON.stringify(options.body) });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw Object.assign(new Error(data.error || response.statusText), { status: response.status });
  return data;
}

// ------------------------------------------------------------------ rules and language

async function loadRules() {
  try {
    const data = await api("/api/rules");
    Object.assign(RULES, Object.fromEntries(data.rules.map((r) => [r.id, [r.zh, r.en]])));
  } catch (err) { toast(t("failed") + err.message, null, 8000); }  // ids stand in for names
}

function applyLanguage() {
  document.documentElement.lang = state.lang === "zh" ? "zh-CN" : "en";
  for (const node of document.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
  $("#lang").textContent = state.lang === "zh" ? "English" : "中文";
  if (state.sound) $("#arm-sound").textContent = t("soundOn");
  const rules = $("#rule-filter");
  const chosen = rules.value;
  rules.replaceChildren(el("option", { value: "" }, t("all")),
    ...Object.keys(RULES).map((r) => el("option", { value: r }, ruleName(r))));
  rules.value = chosen;
  const keys = $("#help-keys");
  keys.replaceChildren(...t("helpKeys").flatMap(([k, v]) => [el("dt", {}, el("kbd", {}, k)), el("dd", {}, v)]));
}

// ------------------------------------------------------------------ filters in the URL

const FILTERS = ["source", "day", "severity", "status", "rule", "group", "q"];

function filtersFromUrl() {
  const params = new URLSearchParams(location.search);
  for (const name of FILTERS) {
    const input = $("#filters").elements[name];
    if (input) input.value = params.get(name) || "";
  }
}

function filtersToUrl() {
  const params = new URLSearchParams();
  for (const name of FILTERS) {
    const value = $("#filters").elements[name].value;
    if (value) params.set(name, value);
  }
  const query = params.toString();
  history.replaceState(null, "", query ? `?${query}` : location.pathname);
}

// A day of the filter is a day of China Standard Time, as the operators count them.
const dayStart = (day) => new Date(`${day}T00:00:00+08:00`);
const fromHistory = () => $("#filters").elements.source.value === "history";

function apiQuery() {
  const params = new URLSearchParams();
  for (const name of ["severity", "status", "rule", "q"]) {
    const value = $("#filters").elements[name].value;
    if (value) params.set(name, value);
  }
  const day = $("#filters").elements.day.value;
  if (day) {
    const since = dayStart(day);
    params.set("since", since.toISOString());
    params.set("until", new Date(since.getTime() + 86400000).toISOString());
  }
  params.set("limit", "500");
  return `${fromHistory() ? "/api/history" : "/api/alerts"}?${params}`;
}

function matches(a) {
  const f = $("#filters").elements;
  if (f.severity.value && a.severity !== f.severity.value) return false;
  if (f.status.value && a.status !== f.status.value) return false;
  if (f.rule.value && a.rule !== f.rule.value) return false;
  if (fromHistory()) return false;  // the history list is ClickHouse's answer: no live additions
  if (f.day.value) {
    const at = new Date(a.event_time) - dayStart(f.day.value);
    if (at < 0 || at >= 86400000) return false;
  }
  const q = f.q.value.trim().toLowerCase();
  if (q && ![a.message, a.rule, a.alert_id, place(a), a.grid, a.person_masked]
    .some((v) => v && String(v).toLowerCase().includes(q))) return false;
  return true;
}

// ------------------------------------------------------------------ the list

async function loadList() {
  let data;
  try { data = await api(apiQuery()); } catch (err) {
    data = { alerts: [], total: 0 };
    toast(t("failed") + err.message, null, 8000);
  }
  $("#stored-note").hidden = !fromHistory();
  $("#stored-total").textContent = `ClickHouse: ${t("total", data.total)}.`;
  state.alerts = new Map(data.alerts.map((a) => [a.alert_id, a]));
  state.order = data.alerts.map((a) => a.alert_id);
  state.pending = [];
  state.shown = 0;
  state.total = data.total;
  state.loaded = data.alerts.length;
  if (data.counts) state.counts = data.counts;
  if (state.selected && !state.alerts.has(state.selected)) state.selected = null;
  renderList();
  renderCounts();
  return data.stream_id || state.streamId;
}

function row(a) {
  const tr = el("tr", { dataset: { id: a.alert_id, status: a.status } },
    el("td"),
    el("td", {}, el("span", { class: `sev sev-${a.severity}` }, t(`sev_${a.severity}`))),
    el("td", {}, fmtTime(a.event_time)),
    el("td", {}, ruleName(a.rule)),
    el("td", { title: place(a) }, a.place_name || place(a)),
    el("td", {}, a.grid || ""),
    el("td", {}, a.person_masked || ""),
    el("td", {}, el("span", { class: `st st-${a.status}` }, t(`st_${a.status}`)),
      a.assignee ? ` ${a.assignee}` : ""),
    el("td", { class: "message" }, a.message));
  if (a.alert_id === state.selected) tr.classList.add("selected");
  if (state.checked.has(a.alert_id)) tr.classList.add("checked");
  tr.addEventListener("click", () => select(a.alert_id));
  return tr;
}

const PAGE = 500;  // rows in the page at a time: the DOM stays small with 10,000 alerts

function renderList() {
  const body = $("#alerts tbody");
  const group = $("#filters").elements.group.value;
  const rows = [];
  const shown = state.order.slice(0, state.shown || PAGE);
  if (!group) {
    for (const id of shown) rows.push(row(state.alerts.get(id)));
  } else {
    const groups = new Map();
    for (const id of shown) {
      const a = state.alerts.get(id);
      const key = group === "rule" ? ruleName(a.rule) : (place(a) || "—");
      if (!groups.has(key)) groups.set(key, []);
      groups.get(key).push(a);
    }
    for (const [key, items] of groups) {
      rows.push(el("tr", { class: "group" }, el("th", { colspan: "9" }, `${key} (${items.length})`)));
      for (const a of items) rows.push(row(a));
    }
  }
  const more = (state.order.length - shown.length) + Math.max(0, (state.total || 0) - (state.loaded || 0));
  if (more > 0) {
    rows.push(el("tr", { class: "more" }, el("td", { colspan: "9" },
      el("button", { type: "button", id: "more", onclick: showMore }, t("more", more)))));
  }
  body.replaceChildren(...rows);
  $("#empty").hidden = state.order.length > 0;
  renderBanner();
  renderBulk();
}

async function showMore() {
  // Older alerts: from memory first, then the next page of the server's newest-first list
  // (new alerts only push it down, so the next offset overlaps, never skips; known ones drop).
  if ((state.shown || PAGE) >= state.order.length && state.loaded < state.total) {
    const data = await api(`${apiQuery()}&offset=${state.loaded}`);
    state.loaded += data.alerts.length;
    state.total = data.total;
    for (const a of data.alerts) {
      if (state.alerts.has(a.alert_id)) continue;
      state.alerts.set(a.alert_id, a);
      state.order.push(a.alert_id);
    }
  }
  state.shown = (state.shown || PAGE) + PAGE;
  renderList();
}

function updateRow(id) {
  const old = document.querySelector(`#alerts tbody tr[data-id="${CSS.escape(id)}"]`);
  const a = state.alerts.get(id);
  if (old && a) old.replaceWith(row(a));
}

function renderBanner() {
  const banner = $("#new-banner");
  banner.hidden = state.pending.length === 0;
  banner.textContent = t("newAlerts", state.pending.length);
}

function showPending() {
  // The new alerts go on top, newest first; the rows the operator was reading keep their order.
  state.order = [...state.pending.slice().reverse(), ...state.order];
  state.pending = [];
  renderList();
}

function renderCounts() {
  const c = state.counts;
  if (!c) return;
  const n = c.unacknowledged_critical;
  $("#counts").textContent = `${t("total", c.alerts)} · ${t("unackedCritical", n)}`;
  document.title = `${n ? `(${n}) ` : ""}${t("title")}`;
  setFavicon(n);
}

function setFavicon(n) {
  const colour = n ? "#c53030" : "#2b6cb0";
  const label = n > 99 ? "99+" : String(n || "");
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><circle cx="16" cy="16" r="15" fill="${colour}"/>` +
    (label ? `<text x="16" y="21" font-size="${label.length > 2 ? 11 : 15}" text-anchor="middle" fill="#fff" font-family="sans-serif" font-weight="bold">${label}</text>` : "") + "</svg>";
  $("#favicon").href = `data:image/svg+xml,${encodeURIComponent(svg)}`;
}

// ------------------------------------------------------------------ selection and detail

function visibleIds() {
  return [...document.querySelectorAll("#alerts tbody tr[data-id]")].map((tr) => tr.dataset.id);
}

function select(id) {
  state.selected = id;
  for (const tr of document.querySelectorAll("#alerts tbody tr.selected")) tr.classList.remove("selected");
  const tr = document.querySelector(`#alerts tbody tr[data-id="${CSS.escape(id)}"]`);
  if (tr) { tr.classList.add("selected"); tr.scrollIntoView({ block: "nearest" }); }
  loadDetail(id);
}

function move(step) {
  const ids = visibleIds();
  if (!ids.length) return;
  const at = ids.indexOf(state.selected);
  const next = at < 0 ? 0 : Math.min(ids.length - 1, Math.max(0, at + step));
  select(ids[next]);
}

async function loadDetail(id) {
  const seq = ++state.detailSeq;
  let data;
  try { data = await api(`/api/alerts/${encodeURIComponent(id)}`); } catch (err) { toast(t("failed") + err.message); return; }
  if (seq !== state.detailSeq) return;
  renderDetail(data);
}

function evidenceList(events) {
  if (!events || !events.length) return "";
  const fields = ["checkpoint_id", "venue_id", "unit_id", "kind", "direction", "role", "person_masked",
    "phone_masked", "temperature_c", "health_code", "incident_type"];
  return el("ul", { class: "evidence" }, ...events.map((e) => el("li", { dataset: { event: e.event_id } },
    `${fmtTime(e.event_time)} · ${e.event_id} · ` +
    fields.filter((f) => e[f] !== undefined && e[f] !== null && e[f] !== "").map((f) => f === "temperature_c" ? `${e[f]} °C` : e[f]).join(" · "))));
}

function renderDetail({ alert: a, trail, rule_text: ruleText, evidence, evidence_note: evidenceNote }) {
  const pane = $("#detail");
  const can = state.role === "operator" || state.role === "admin";
  const button = (action, key) => el("button", { type: "button", dataset: { action },
    onclick: () => act([a.alert_id], action) }, t(action), el("kbd", {}, key));
  const actions = {
    new: [button("ack", "a"), button("resolve", "r"), button("dismiss", "d")],
    acknowledged: [button("resolve", "r"), button("dismiss", "d")],
    assigned: [button("resolve", "r"), button("dismiss", "d")],
    resolved: [button("reopen", "o")], dismissed: [button("reopen", "o")],
  }[a.status] || [];
  const fields = [
    [t("rule"), ruleName(a.rule)], [t("severity"), t(`sev_${a.severity}`)],
    [t("status"), t(`st_${a.status}`) + (a.assignee ? ` (${a.assignee})` : "")],
    [t("time"), fmtTime(a.event_time)], [t("place"), a.place_name ? `${a.place_name} (${place(a)})` : place(a)], [t("grid"), a.grid || ""],
    [t("person"), a.person_masked || ""], [t("evidence"), (a.evidence || []).join(", ")],
    ["alert_id", a.alert_id],
  ];
  const note = el("textarea", { rows: "2", id: "note", "aria-label": t("noteLabel"), placeholder: t("noteLabel") });
  pane.replaceChildren(
    el("h2", {}, a.message),
    el("p", {}, ruleText[state.lang === "zh" ? "zh" : "en"]),
    el("dl", {}, ...fields.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)])),
    can ? el("div", { class: "actions" }, ...actions) : "",
    can ? el("div", { class: "actions" }, note, el("button", { type: "button", dataset: { action: "comment" },
      onclick: () => act([a.alert_id], "comment", note.value) }, t("comment"), el("kbd", {}, "c"))) : "",
    el("h3", {}, t("trail")),
    el("ol", { class: "trail" }, ...trail.map((r) => el("li", {},
      `${fmtTime(r.at)} · ${r.actor} · ${t(r.action) || r.action} → ${t(`st_${r.status}`)}`,
      r.note ? el("div", {}, r.note) : ""))),
    el("h3", {}, t("evidence")),
    evidenceList(evidence),
    el("p", { class: "muted" }, evidenceNote || ""),
  );
}

// ------------------------------------------------------------------ actions

async function act(ids, action, note) {
  const failures = [];
  for (const id of ids) {
    const a = state.alerts.get(id);
    try {
      const data = await api(`/api/alerts/${encodeURIComponent(id)}/actions`, { method: "POST",
        body: { action, note: note || undefined, version: a ? a.version : undefined } });
      state.alerts.set(id, data.alert);
      updateRow(id);
    } catch (err) { failures.push(err.message); }
  }
  if (failures.length) toast(t("failed") + failures[0]); else if (ids.length === 1) toast(t("done"));
  if (state.selected && ids.includes(state.selected)) loadDetail(state.selected);
}

function bulk(action) {
  const ids = [...state.checked];
  if (!ids.length) return;
  let cancelled = false;
  const undo = el("button", { type: "button", id: "undo", onclick: () => { cancelled = true; toast(t("undone")); } }, t("undo"));
  toast(t("bulkWill", ids.length, t(action)), undo, 5000);
  setTimeout(() => { if (!cancelled) { state.checked.clear(); renderList(); act(ids, action); } }, 5000);
}

function renderBulk() {
  const bar = $("#bulk");
  bar.hidden = state.checked.size === 0;
  bar.textContent = t("checked", state.checked.size);
}

let toastTimer = null;
function toast(text, extra, ms = 2500) {
  const box = $("#toast");
  box.replaceChildren(el("span", {}, text), ...(extra ? [extra] : []));
  box.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { box.hidden = true; }, ms);
}

// ------------------------------------------------------------------ the stream

function connect() {
  if (state.source) state.source.close();
  const source = new EventSource(`/api/stream?from=${encodeURIComponent(state.streamId)}`);
  state.source = source;
  setConn("connecting");
  const seen = () => { state.lastMessage = Date.now(); setConn("live"); };
  source.addEventListener("open", seen);
  source.addEventListener("ping", (e) => { seen(); const d = JSON.parse(e.data); state.counts = d.counts; renderCounts(); });
  source.addEventListener("reset", async (e) => { seen(); state.streamId = e.lastEventId; await loadList(); });
  source.addEventListener("alert", (e) => { seen(); onAlert(JSON.parse(e.data)); });
  source.addEventListener("state", (e) => { seen(); onState(JSON.parse(e.data)); });
  source.addEventListener("error", () => setConn(state.lastMessage ? "stale" : "connecting"));
}

function onAlert(a) {
  if (state.alerts.has(a.alert_id)) return;  // shown already: never twice
  state.alerts.set(a.alert_id, a);
  if (matches(a)) { state.pending.push(a.alert_id); renderBanner(); }
  announce(a);
}

function onState(a) {
  const known = state.alerts.get(a.alert_id);
  if (!known) return;
  // In place: a status change never reorders the list. An alert of the history list comes
  // as its new state only ("partial"): the console's memory no longer holds the alert.
  state.alerts.set(a.alert_id, a.partial ? { ...known, status: a.status, version: a.version, assignee: a.assignee } : a);
  updateRow(a.alert_id);
  if (a.alert_id === state.selected) loadDetail(a.alert_id);
}

function setConn(kind) {
  const conn = $("#conn");
  conn.dataset.state = kind;
  conn.textContent = t(kind === "stale" ? "staleShort" : kind);
  $("#stale").hidden = kind !== "stale";
}

setInterval(() => {
  if (state.lastMessage && Date.now() - state.lastMessage > 12000) setConn("stale");
}, 1000);

// ------------------------------------------------------------------ sound and notifications

const TONES = { critical: [[880, 0], [880, 0.25], [880, 0.5]], warning: [[660, 0]], info: [] };

function announce(a) {
  if (state.sound) {
    for (const [freq, at] of TONES[a.severity] || []) {
      const osc = state.sound.createOscillator();
      const gain = state.sound.createGain();
      osc.frequency.value = freq;
      gain.gain.value = 0.2;
      osc.connect(gain).connect(state.sound.destination);
      osc.start(state.sound.currentTime + at);
      osc.stop(state.sound.currentTime + at + 0.18);
    }
  }
  if (a.severity === "critical" && "Notification" in window && Notification.permission === "granted" && document.hidden) {
    new Notification(ruleName(a.rule), { body: a.message, tag: a.alert_id });
  }
}

// ------------------------------------------------------------------ keyboard

function onKey(e) {
  if (e.target.closest("input, textarea, select")) {
    if (e.key === "Escape") e.target.blur();
    return;
  }
  const selected = state.selected;
  const keys = {
    j: () => move(1), k: () => move(-1), n: showPending,
    a: () => selected && act([selected], "ack"), r: () => selected && act([selected], "resolve"),
    d: () => selected && act([selected], "dismiss"), o: () => selected && act([selected], "reopen"),
    c: () => $("#note")?.focus(),
    x: () => { if (!selected) return; state.checked.has(selected) ? state.checked.delete(selected) : state.checked.add(selected); updateRow(selected); renderBulk(); },
    A: () => bulk("ack"), R: () => bulk("resolve"),
    "/": () => $("#search").focus(), "?": () => $("#help").showModal(),
    Escape: () => { state.checked.clear(); renderList(); },
  };
  const handler = keys[e.key];
  if (handler && !e.ctrlKey && !e.metaKey && !e.altKey) { e.preventDefault(); handler(); }
}

// ------------------------------------------------------------------ pipeline health

const ago = (s) => (s == null ? "—" : s < 90 ? `${Math.round(s)} s` : s < 5400 ? `${Math.round(s / 60)} min` : `${(s / 3600).toFixed(1)} h`);

async function refreshHealth() {
  let data;
  try { data = await api("/api/health"); } catch { return; }
  const w = data.worker;
  const flag = $("#health-flag");
  const silent = w.reachable ? w.feeds.filter((f) => f.silent && f.feed !== "risk_area" && f.feed !== "venue") : [];
  flag.hidden = w.reachable && silent.length === 0;
  flag.textContent = w.reachable ? `${t("silentFlag")}: ${silent.map((f) => t(`feed_${f.feed}`)).join(", ")}` : t("workerDown");
  const panel = $("#health");
  if (panel.hidden) return;
  if (!w.reachable) {
    panel.replaceChildren(el("p", { class: "bad" }, `${t("workerDown")}: ${w.url} (${w.reason})`));
    return;
  }
  const feeds = el("table", {}, el("thead", {}, el("tr", {}, ...[t("feed"), t("perSecond"), t("lastEvent"), t("behind")].map((h) => el("th", {}, h)))),
    el("tbody", {}, ...w.feeds.map((f) => el("tr", { dataset: { feed: f.feed } },
      el("td", {}, t(`feed_${f.feed}`)),
      el("td", {}, f.per_second == null ? "…" : f.per_second.toFixed(1)),
      el("td", {}, f.last_event_time ? fmtTime(f.last_event_time * 1000) : "—"),
      el("td", { class: f.silent ? "bad" : "" }, ago(f.behind_s))))));
  const pairs = (title, obj) => el("div", {}, el("h3", {}, title),
    el("table", {}, el("tbody", {}, ...Object.entries(obj).map(([k, v]) => el("tr", {}, el("td", {}, k), el("td", {}, Math.round(v)))))));
  panel.replaceChildren(el("div", {}, el("h3", {}, t("health")), feeds), pairs(t("lag"), w.lag),
    pairs(t("deadLetters"), w.dead_letters),
    el("div", {}, el("h3", {}, t("sink")), el("p", {}, `${t("pending")}: ${w.sink.pending_rows} · ${t("paused")}: ${t(w.sink.paused ? "yes" : "no")} · ${t("errors")}: ${w.sink.errors}`)));
}

// ------------------------------------------------------------------ the map

const SVG = "http://www.w3.org/2000/svg";
const svg = (tag, attrs = {}, ...children) => {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  for (const child of children) node.append(child instanceof Node ? child : String(child));
  return node;
};

function hull(points) {  // convex hull (monotone chain) of [x, y] points
  const p = [...points].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  if (p.length < 3) return p;
  const cross = (o, a, b) => (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]);
  const lower = [], upper = [];
  for (const q of p) { while (lower.length >= 2 && cross(lower.at(-2), lower.at(-1), q) <= 0) lower.pop(); lower.push(q); }
  for (const q of p.reverse()) { while (upper.length >= 2 && cross(upper.at(-2), upper.at(-1), q) <= 0) upper.pop(); upper.push(q); }
  return [...lower.slice(0, -1), ...upper.slice(0, -1)];
}

async function refreshMap() {
  const box = $("#map");
  if (box.hidden) return;
  let data;
  try { data = await api("/api/places"); } catch { return; }
  const places = data.places.filter((p) => Number.isFinite(p.lat) && Number.isFinite(p.lon));
  if (!places.length) { box.replaceChildren(el("p", { class: "muted" }, t("empty"))); return; }
  const lats = places.map((p) => p.lat), lons = places.map((p) => p.lon);
  const [minLat, maxLat, minLon, maxLon] = [Math.min(...lats), Math.max(...lats), Math.min(...lons), Math.max(...lons)];
  const k = Math.cos(((minLat + maxLat) / 2) * Math.PI / 180);
  const W = 1000, H = 400, pad = 30;
  const sx = (W - 2 * pad) / Math.max(1e-6, (maxLon - minLon) * k), sy = (H - 2 * pad) / Math.max(1e-6, maxLat - minLat);
  const s = Math.min(sx, sy);
  const xy = (p) => [pad + (p.lon - minLon) * k * s, H - pad - (p.lat - minLat) * s];
  const layers = [];
  const byGrid = new Map();
  for (const p of places) if (p.grid) { if (!byGrid.has(p.grid)) byGrid.set(p.grid, []); byGrid.get(p.grid).push(xy(p)); }
  for (const [grid, pts] of byGrid) {
    const h = hull(pts);
    const cx = pts.reduce((a, q) => a + q[0], 0) / pts.length, cy = pts.reduce((a, q) => a + q[1], 0) / pts.length;
    const count = data.grids[grid] || 0;
    layers.push(svg("g", { "data-grid": grid },
      h.length >= 3 ? svg("polygon", { points: h.map((q) => q.join(",")).join(" "), fill: count ? "#fed7d7" : "#e2e8f0", stroke: "#a0aec0", "fill-opacity": "0.6" }) : svg("g"),
      svg("title", {}, `${grid}: ${t("alertsHere", count)}`),
      count ? svg("text", { x: cx, y: cy, "text-anchor": "middle", class: "grid-count", fill: "#9b2c2c" }, `${grid} · ${count}`) : svg("g")));
  }
  for (const p of places) {
    const [x, y] = xy(p);
    const alert = data.alerts[p.id];
    const title = svg("title", {}, `${p.name} (${p.id})${alert ? ` · ${t("alertsHere", alert.open)}` : ""}`);
    const mark = p.kind === "checkpoint" ? svg("rect", { x: x - 6, y: y - 6, width: 12, height: 12, fill: "#2b6cb0" })
      : p.kind === "site" ? svg("polygon", { points: `${x},${y - 8} ${x - 7},${y + 6} ${x + 7},${y + 6}`, fill: "#2f855a" })
      : svg("circle", { cx: x, cy: y, r: 2.5, fill: p.status === "closed" ? "#718096" : "#805ad5" });
    const g = svg("g", { "data-place": p.id, class: "place" }, mark, title);
    if (p.kind !== "venue") g.append(svg("text", { x: x + 9, y: y + 4, "font-size": "11" }, p.name.split(" ")[0]));
    if (alert) {
      g.append(svg("circle", { cx: x, cy: y, r: 8 + Math.min(10, alert.open * 2), fill: "none", stroke: alert.critical ? "#c53030" : "#dd6b20", "stroke-width": "3", class: "alert-marker" }));
      g.addEventListener("click", () => { $("#search").value = p.id; filtersToUrl(); loadList(); });
      g.style.cursor = "pointer";
    }
    layers.push(g);
  }
  box.replaceChildren(svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": t("map") }, ...layers), el("p", { class: "muted" }, t("mapNote")));
}

function toggle(button, section, then) {
  const open = section.hidden;
  section.hidden = !open;
  button.setAttribute("aria-pressed", String(open));
  if (open && then) then();
}

// ------------------------------------------------------------------ start

async function start() {
  applyLanguage();
  filtersFromUrl();
  try {
    const me = await api("/api/me");
    Object.assign(state, { user: me.user, role: me.role, csrf: me.csrf });
  } catch {
    $("#login").hidden = false;
    return;
  }
  $("#login").hidden = true;
  $("#app").hidden = false;
  $("#logout").hidden = false;
  $("#whoami").textContent = `${state.user} (${state.role})`;
  await loadRules();
  applyLanguage();  // the rule filter, now with the rules
  filtersFromUrl();  // its choice from the URL too, which the first pass had no option for
  state.streamId = await loadList();
  connect();
  refreshHealth();
  setInterval(() => { refreshHealth(); refreshMap(); }, 5000);
}

$("#login-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const form = e.target.elements;
  try {
    await api("/api/login", { method: "POST", body: { name: form.name.value, password: form.password.value } });
    form.password.value = "";
    await start();
  } catch { $("#login-error").textContent = t("loginFailed"); }
});
$("#logout").addEventListener("click", async () => { await api("/api/logout", { method: "POST", body: {} }); location.reload(); });
$("#filters").addEventListener("input", () => { filtersToUrl(); loadList(); });
$("#filters").addEventListener("submit", (e) => e.preventDefault());
$("#new-banner").addEventListener("click", showPending);
$("#show-health").addEventListener("click", (e) => toggle(e.target, $("#health"), refreshHealth));
$("#show-map").addEventListener("click", (e) => toggle(e.target, $("#map"), refreshMap));
$("#lang").addEventListener("click", () => {
  state.lang = state.lang === "zh" ? "en" : "zh";
  localStorage.setItem("controlfeed.lang", state.lang);
  applyLanguage(); renderList(); renderCounts();
  if (state.selected) loadDetail(state.selected);
});
$("#arm-sound").addEventListener("click", (e) => {
  state.sound = state.sound || new AudioContext();
  state.sound.resume();
  e.target.setAttribute("aria-pressed", "true");
  e.target.textContent = t("soundOn");
});
$("#notify").addEventListener("click", async (e) => {
  if (!("Notification" in window)) return;
  const answer = await Notification.requestPermission();
  e.target.setAttribute("aria-pressed", String(answer === "granted"));
});
document.addEventListener("keydown", onKey);
start();
