// bptrace present: play the step-through written into this page (the JSON in #data).
// Every text comes from the data as written by bptrace; this script only shows and hides it.
"use strict";
(function () {
  const data = JSON.parse(document.getElementById("data").textContent);
  const steps = data.steps;
  const $ = (id) => document.getElementById(id);
  const boxes = Array.from(document.querySelectorAll("#graph .box"));
  const edgeEls = Array.from(document.querySelectorAll("#graph .edge"));
  const PARTS = {
    value: "Forward pass", partial: "Local derivatives", grad: "Gradients",
    chain: "Chain rule", update: "Update", summary: "Summary",
  };
  const state = { s: 0, k: 0, focus: null, table: null };

  // What the first k reveals of a step show: per kind, the set of names (or edges) shown.
  function shownBy(step, k) {
    const shown = { value: new Set(), partial: new Set(), grad: new Set(), chain: new Set(),
      update: new Set(), summary: new Set(), rows: new Map() };
    for (const r of step.reveals.slice(0, k)) {
      shown[r.kind].add(r.of);
      if (!shown.rows.has(r.table)) shown.rows.set(r.table, new Set());
      for (const row of r.rows) shown.rows.get(r.table).add(row);
    }
    return shown;
  }

  // Write a number into its place; show or hide its line (or part of a line) with it.
  function put(el, text, visible) {
    if (!el) return;
    if (el.textContent !== text) el.textContent = text;
    (el.closest(".part") || el).classList.toggle("hide", !visible);
  }

  function render() {
    const step = steps[state.s];
    const shown = shownBy(step, state.k);
    const now = state.k > 0 ? step.reveals[state.k - 1] : null;
    const pathsOf = state.focus !== null ? state.focus
      : now && now.kind === "chain" ? now.of : null;
    const on = pathsOf !== null ? data.focus[pathsOf] : null;
    const onNames = new Set(on ? on.names : []);
    const onEdges = new Set(on ? on.edges : []);
    for (const box of boxes) {
      const i = Number(box.dataset.name);
      put($("v" + i), step.values[i], i < data.leaves || shown.value.has(i));
      // the loss's ∂L/∂L = 1, the seed, from the first local derivative on
      const seeded = i === data.loss && shown.partial.size > 0;
      put($("g" + i), step.grads[i], shown.grad.has(i) || shown.chain.has(i) || seeded);
      put($("a" + i), step.after[i] || "", shown.update.has(i));
      const current = now !== null && now.kind !== "partial" && now.of === i;
      box.classList.toggle("now", current);
      box.classList.toggle("on", onNames.has(i));
      box.classList.toggle("dim", on !== null && !onNames.has(i));
      if (box.hasAttribute("aria-pressed")) {
        box.setAttribute("aria-pressed", String(state.focus === i));
      }
    }
    for (const edge of edgeEls) {
      const e = Number(edge.dataset.edge);
      const partial = step.partials[e];
      const label = $("p" + e);
      put(label, partial ? partial.value : "", shown.partial.has(e));
      // a local derivative's edge; for a gradient, the edges it sums over (its node's uses)
      const current = now !== null && ((now.kind === "partial" && now.of === e) ||
        (now.kind === "grad" && data.edges[e][1] === data.names[now.of] && shown.partial.has(e)));
      edge.classList.toggle("now", current);
      label.classList.toggle("now", current);
      edge.classList.toggle("on", onEdges.has(e));
      label.classList.toggle("on", onEdges.has(e));
      label.classList.toggle("dim", on !== null && !onEdges.has(e));
      edge.classList.toggle("dim", on !== null && !onEdges.has(e));
    }
    showTable(step, now ? now.table : 0, shown, now);
    const where = now ? PARTS[now.kind] : "Start";
    const count = `${state.k} of ${step.reveals.length}`;
    $("status").textContent =
      `Step ${step.step} of ${steps[steps.length - 1].step} · ${where} · ${count}`;
    $("note").textContent = step.note;
    $("back").disabled = state.s === 0 && state.k === 0;
    $("first").disabled = state.k === 0;
    $("last").disabled = state.k === step.reveals.length;
    $("prev-step").disabled = state.s === 0;
    $("next-step").disabled = state.s === steps.length - 1;
    $("next").disabled = state.s === steps.length - 1 && state.k === step.reveals.length;
  }

  function showTable(step, t, shown, now) {
    const table = step.tables[t];
    const el = $("table");
    const key = `${state.s}:${t}`;
    if (state.table !== key) {
      state.table = key;
      el.caption.textContent = table.title;
      const head = el.tHead;
      head.textContent = "";
      const tr = head.insertRow();
      table.headers.forEach((h, c) => {
        const th = document.createElement("th");
        th.textContent = h;
        if (numeric(table, c)) th.className = "num";
        tr.appendChild(th);
      });
      const body = el.tBodies[0];
      body.textContent = "";
      const reveal = step.reveals.filter((r) => r.table === t);
      table.rows.forEach((row, r) => {
        const line = body.insertRow();
        line.className = row.kind;
        line.dataset.row = r;
        row.cells.forEach((cell, c) => {
          const td = line.insertCell();
          td.textContent = cell;
          if (numeric(table, c)) td.classList.add("num");
        });
        // a local derivative's formula, hovered, with numbers
        const by = reveal.find((x) => x.rows.includes(r));
        if (by && by.kind === "partial" && step.partials[by.of]) {
          const p = step.partials[by.of];
          if (p.numbers && line.cells[1]) line.cells[1].dataset.numbers = withNumbers(p);
        }
      });
    }
    const rows = shown.rows.get(t) || new Set();
    const current = new Set(now && now.table === t ? now.rows : []);
    for (const line of el.tBodies[0].rows) {
      const r = Number(line.dataset.row);
      line.classList.toggle("hide", !rows.has(r));
      line.classList.toggle("now", current.has(r));
    }
    // the rows just revealed in sight, the first of them above all; a table's start at the top
    const nowRows = Array.from(el.tBodies[0].rows).filter((line) => line.classList.contains("now"));
    if (!nowRows.length) return;
    if (nowRows[0].dataset.row === "0") {
      $("panel").scrollTop = 0;
      return;
    }
    nowRows[nowRows.length - 1].scrollIntoView({ block: "nearest" });
    nowRows[0].scrollIntoView({ block: "nearest" });
  }

  function numeric(table, c) {
    return c >= table.numeric_from && !table.text.includes(c);
  }

  function withNumbers(p) {
    const parts = [p.formula];
    if (p.numbers && !p.formula.endsWith(" = " + p.numbers)) parts.push(p.numbers);
    if (parts[parts.length - 1] !== p.value && !p.formula.endsWith(" = " + p.value)) {
      parts.push(p.value);
    }
    return parts.join(" = ");
  }

  // Moving: a reveal at a time, within a step and across steps.
  function go(s, k) {
    state.s = Math.max(0, Math.min(s, steps.length - 1));
    state.k = Math.max(0, Math.min(k, steps[state.s].reveals.length));
    hideTip();
    render();
  }
  function next() {
    const n = steps[state.s].reveals.length;
    if (state.k < n) go(state.s, state.k + 1);
    else if (state.s < steps.length - 1) go(state.s + 1, 0);
  }
  function back() {
    if (state.k > 0) go(state.s, state.k - 1);
    else if (state.s > 0) go(state.s - 1, steps[state.s - 1].reveals.length);
  }
  // The whole of the table shown now (↓), or its start (↑).
  function tableEnd() {
    const reveals = steps[state.s].reveals;
    const t = state.k < reveals.length ? reveals[state.k].table : null;
    if (t === null) return next();
    let k = state.k;
    while (k < reveals.length && reveals[k].table === t) k++;
    go(state.s, k);
  }
  function tableStart() {
    const reveals = steps[state.s].reveals;
    if (state.k === 0) return back();
    const t = reveals[state.k - 1].table;
    let k = state.k - 1;
    while (k > 0 && reveals[k - 1].table === t) k--;
    go(state.s, k);
  }
  function choose(i) {
    state.focus = state.focus === i ? null : i;
    render();
  }
  function cycle(by) {
    const params = data.params;
    if (!params.length) return;
    const at = params.indexOf(state.focus);
    const to = at < 0 ? (by > 0 ? 0 : params.length - 1) : at + by;
    state.focus = to < 0 || to >= params.length ? null : params[to];
    render();
  }
  function help(open) {
    const el = $("help");
    el.hidden = !(open === undefined ? el.hidden : open);
    $("help-button").setAttribute("aria-expanded", String(!el.hidden));
  }

  // Hovering a formula (or moving to its box with Tab) shows it with numbers.
  const tip = $("tip");
  function tipFor(target) {
    const step = steps[state.s];
    const shown = shownBy(step, state.k);
    const edge = target.closest(".edge, .partial");
    if (edge) {
      const e = Number(edge.dataset.edge);
      return shown.partial.has(e) ? withNumbers(step.partials[e]) : "";
    }
    const box = target.closest(".box");
    if (box) {
      const i = Number(box.dataset.name);
      const head = box.querySelector(".head").textContent;
      if (i < data.leaves) {
        return data.params.includes(i)
          ? `${head}: click or Enter highlights its paths to the loss` : "";
      }
      if (!shown.value.has(i)) return "";
      const numbers = step.numbers[i];
      return [head.replace(/^loss /, ""), numbers, step.values[i]]
        .filter((x, n, all) => x && all.indexOf(x) === n).join(" = ");
    }
    const cell = target.closest("td[data-numbers]");
    return cell ? cell.dataset.numbers : "";
  }
  function showTip(target) {
    const text = tipFor(target);
    if (!text) return hideTip();
    tip.textContent = text;
    tip.hidden = false;
    const r = target.getBoundingClientRect();
    const w = tip.offsetWidth;
    const h = tip.offsetHeight;
    tip.style.left = Math.max(4, Math.min(r.left, window.innerWidth - w - 4)) + "px";
    const below = r.bottom + 6;
    tip.style.top = (below + h < window.innerHeight ? below : Math.max(4, r.top - h - 6)) + "px";
  }
  function hideTip() {
    tip.hidden = true;
  }
  const hoverable = "#graph .edge, #graph .partial, #graph .box, td[data-numbers]";
  document.addEventListener("mouseover", (ev) => {
    const target = ev.target.closest && ev.target.closest(hoverable);
    if (target) showTip(target);
    else hideTip();
  });
  document.addEventListener("focusin", (ev) => {
    const target = ev.target.closest && ev.target.closest(hoverable);
    if (target) showTip(target);
    else hideTip();
  });

  document.addEventListener("click", (ev) => {
    const box = ev.target.closest && ev.target.closest(".box.param");
    if (box) choose(Number(box.dataset.name));
  });
  const buttons = {
    first: () => go(state.s, 0), back, next, last: () => go(state.s, Infinity),
    "prev-step": () => go(state.s - 1, 0), "next-step": () => go(state.s + 1, 0),
    "help-button": () => help(),
  };
  for (const [id, act] of Object.entries(buttons)) $(id).addEventListener("click", act);

  const KEYS = {
    // Page Down and Page Up are what presentation clickers send: a piece, as in run --pause.
    ArrowRight: next, " ": next, Enter: next, PageDown: next,
    ArrowLeft: back, Backspace: back, PageUp: back,
    ArrowDown: tableEnd, ArrowUp: tableStart,
    Home: () => go(state.s, 0), End: () => go(state.s, Infinity),
    "]": () => go(state.s + 1, 0), "[": () => go(state.s - 1, 0),
    p: () => cycle(1), P: () => cycle(-1), "?": () => help(),
    Escape: () => { state.focus = null; help(false); hideTip(); render(); },
  };
  document.addEventListener("keydown", (ev) => {
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    const target = ev.target;
    if (ev.key === "Enter" || ev.key === " ") {
      const box = target.closest && target.closest(".box.param");
      if (box && ev.key === "Enter") {
        ev.preventDefault();
        return choose(Number(box.dataset.name));
      }
      if (target.tagName === "BUTTON") return; // the button's own click
    }
    const act = KEYS[ev.key];
    if (!act) return;
    ev.preventDefault();
    act();
  });

  render();
})();
