// smartcrm's script for the administrators' pages: reordering by drag (list items of
// a field, stages, card sections and fields, robots), the card layout editor's moves,
// and the automation editor, which reads its cards back into the funnel's automation
// document and saves it whole, showing every problem on the card it names. Every drag
// has a keyboard way too (move buttons, section and stage choices).
"use strict";
(function () {
  const csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  function $$(root, sel) { return Array.prototype.slice.call(root.querySelectorAll(sel)); }
  function kids(list) { return Array.prototype.filter.call(list.children, function (c) { return c.draggable; }); }

  // ---- Drag to reorder: containers [data-sortable] of draggable children. Children
  // move between containers of the same kind, except stages, which keep their group.
  let dragging = null, origin = null, before = null;
  // What a robot dragged to another stage needs: set by the automation editor.
  let robotMoved = function () {};
  function order(list) { return kids(list).map(function (c) { return c; }); }
  document.addEventListener("dragstart", function (e) {
    const el = e.target.closest && e.target.closest("[data-sortable] > [draggable]");
    if (!el || el !== e.target) { return; }
    dragging = el;
    origin = el.parentElement;
    before = order(origin);
    e.dataTransfer.effectAllowed = "move";
    e.dataTransfer.setData("text/plain", "");
    el.classList.add("dragging");
  });
  document.addEventListener("dragover", function (e) {
    if (!dragging) { return; }
    const list = e.target.closest && e.target.closest('[data-sortable="' + origin.getAttribute("data-sortable") + '"]');
    if (!list || (list !== origin && list.getAttribute("data-sortable") === "stages")) { return; }
    if (dragging.contains(list)) { return; }
    e.preventDefault();
    const next = kids(list).find(function (c) {
      if (c === dragging) { return false; }
      const r = c.getBoundingClientRect();
      return e.clientY < r.top + r.height / 2;
    });
    if (next) { list.insertBefore(dragging, next); } else { list.appendChild(dragging); }
  });
  // The drag ends at the drop (a drag that a script drives may fire no dragend), or
  // at dragend when it was dropped elsewhere.
  function finish() {
    if (!dragging) { return; }
    const el = dragging, from = origin, was = before;
    dragging = null;
    el.classList.remove("dragging");
    const to = el.parentElement;
    const now = order(to);
    if (to === from && now.length === was.length && now.every(function (c, i) { return c === was[i]; })) { return; }
    sorted(to, el, from, was);
  }
  document.addEventListener("drop", function (e) { if (dragging) { e.preventDefault(); finish(); } });
  document.addEventListener("dragend", finish);

  // sorted runs what a reorder means in its container.
  function sorted(list, el, from, was) {
    switch (list.getAttribute("data-sortable")) {
      case "enum": renumber(list); break;
      case "stages": saveStageOrder(list, from, was); break;
      case "fields": placeField(el, list); break;
      case "robots": robotMoved(el); break;
    }
  }

  // ---- List items of a field: positions follow the rows.
  function renumber(list) {
    kids(list).forEach(function (row, i) {
      const s = row.querySelector("input.sort");
      if (s) { s.value = String((i + 1) * 10); }
    });
  }

  // ---- Stages: the funnel's new order is saved at once; a refusal puts the stages
  // back and says why.
  function saveStageOrder(list, from, was) {
    const funnel = list.closest(".funnel");
    const box = funnel.querySelector(".order-error");
    const fd = new URLSearchParams();
    $$(funnel, ".stage-row[data-stage-id]").forEach(function (r) { fd.append("order", r.getAttribute("data-stage-id")); });
    funnel.setAttribute("data-saving", "");
    fetch(list.getAttribute("data-order-url"), { method: "POST", body: fd, credentials: "same-origin",
      headers: { "Accept": "application/json", "X-CSRF-Token": csrf } })
      .then(function (r) { return r.json(); })
      .then(function (d) {
        funnel.removeAttribute("data-saving");
        if (d.ok) {
          box.hidden = true;
          funnel.setAttribute("data-saved", String(Date.now()));
          return;
        }
        was.forEach(function (c) { from.appendChild(c); });
        box.textContent = d.error || "The order was refused.";
        box.hidden = false;
      });
  }

  // ---- Card layout: a field belongs to the section of the list it is in.
  function placeField(li, list) {
    const key = list.getAttribute("data-section-key");
    const input = li.querySelector("[data-field-input]");
    if (input) { input.name = "f-" + key; }
    const sel = li.querySelector("[data-to-section]");
    if (sel) { sel.value = key; }
  }
  const layout = document.querySelector("[data-layout]");
  if (layout) {
    layout.addEventListener("change", function (e) {
      const sel = e.target.closest("[data-to-section]");
      if (!sel) { return; }
      const list = layout.querySelector('[data-section-key="' + CSS.escape(sel.value) + '"]');
      const li = sel.closest("li");
      if (list && li) { list.appendChild(li); placeField(li, list); sel.focus(); }
    });
    layout.addEventListener("click", function (e) {
      const b = e.target.closest("[data-section-move]");
      if (!b) { return; }
      const sec = b.closest(".layout-section");
      if (b.getAttribute("data-section-move") === "up" && sec.previousElementSibling) {
        sec.parentElement.insertBefore(sec, sec.previousElementSibling);
      } else if (b.getAttribute("data-section-move") === "down" && sec.nextElementSibling) {
        sec.parentElement.insertBefore(sec.nextElementSibling, sec);
      }
      b.focus();
    });
  }

  const editor = document.querySelector("[data-automation]");
  if (editor) { automationEditor(editor); }

  function automationEditor(board) {
    const fields = JSON.parse(board.getAttribute("data-fields") || "[]");
    const picker = document.getElementById("placeholder-picker");
    const condRow = document.getElementById("condition-row");
    const status = document.querySelector(".save-status");
    const topError = document.querySelector(".auto-error");
    let counter = 0;

    function column(stage) { return board.querySelector('.auto-column[data-stage-id="' + CSS.escape(stage) + '"]'); }
    function stageOf(card) { return card.closest(".auto-column").getAttribute("data-stage-id"); }

    // A fresh id for a card copied from a type's template.
    function freshID(type) {
      const taken = {};
      $$(board, "[data-robot-id], [data-trigger-id]").forEach(function (c) {
        taken[c.getAttribute("data-robot-id") || c.getAttribute("data-trigger-id")] = true;
        const i = c.querySelector('[data-robot="id"]');
        if (i) { taken[i.value] = true; }
      });
      let id;
      do { counter++; id = type.toLowerCase().replace(/[^a-z0-9]/g, "") + "-" + counter; } while (taken[id]);
      return id;
    }
    // Copies of templates need ids of their own for their labels.
    function uniqueIDs(card) {
      const suffix = "-c" + (++counter);
      $$(card, "[id]").forEach(function (el) {
        const old = el.id;
        el.id = old + suffix;
        $$(card, 'label[for="' + CSS.escape(old) + '"]').forEach(function (l) { l.htmlFor = el.id; });
      });
    }

    function wire(card) {
      if (card.classList.contains("robot")) {
        const edit = card.querySelector(".robot-edit");
        if (edit && picker && !edit.querySelector(".ph-picker")) {
          const p = picker.content.firstElementChild.cloneNode(true);
          const sel = p.querySelector("select");
          sel.id = "ph-" + (++counter);
          p.querySelector("label").htmlFor = sel.id;
          const firstParam = edit.querySelector(".param");
          edit.insertBefore(p, firstParam || edit.querySelector("fieldset"));
        }
        const sel = card.querySelector("[data-robot-stage]");
        if (sel) { sel.value = stageOf(card); }
        const cond = card.querySelector('[data-robot="condition"]');
        if (cond) { parseCondition(card, cond.value); }
      }
    }
    $$(board, ".robot, .trigger").forEach(wire);

    // Last text parameter focused in each card: where a placeholder goes.
    board.addEventListener("focusin", function (e) {
      const t = e.target;
      if (t.matches('[data-control="text"]')) { t.closest(".robot").__lastText = t; }
    });

    board.addEventListener("click", function (e) {
      const b = e.target.closest("button");
      if (!b) { return; }
      const card = b.closest(".robot, .trigger");
      const col = b.closest(".auto-column");
      if (b.hasAttribute("data-add-robot") || b.hasAttribute("data-add-trigger")) {
        const robot = b.hasAttribute("data-add-robot");
        const type = col.querySelector(robot ? "[data-add-robot-type]" : "[data-add-trigger-type]").value;
        const tpl = document.querySelector(robot ? '[data-robot-template="' + CSS.escape(type) + '"]' : '[data-trigger-template="' + CSS.escape(type) + '"]');
        const c = tpl.content.firstElementChild.cloneNode(true);
        uniqueIDs(c);
        c.querySelector('[data-robot="id"]').value = freshID(type);
        col.querySelector(robot ? ".robots" : ".triggers").appendChild(c);
        wire(c);
        const first = c.querySelector("details input, details textarea, details select");
        if (first) { first.focus(); }
      } else if (b.hasAttribute("data-robot-delete") || b.hasAttribute("data-trigger-delete")) {
        const list = card.parentElement;
        card.remove();
        const f = list.querySelector("button") || col.querySelector("button");
        if (f) { f.focus(); }
      } else if (b.hasAttribute("data-robot-move")) {
        const up = b.getAttribute("data-robot-move") === "up";
        if (up && card.previousElementSibling) { card.parentElement.insertBefore(card, card.previousElementSibling); }
        if (!up && card.nextElementSibling) { card.parentElement.insertBefore(card.nextElementSibling, card); }
        b.focus();
      } else if (b.hasAttribute("data-insert-placeholder")) {
        const ph = card.querySelector("[data-placeholder]").value;
        const target = card.__lastText || card.querySelector('[data-control="text"]');
        if (!target) { return; }
        const at = target.selectionStart == null ? target.value.length : target.selectionStart;
        target.value = target.value.slice(0, at) + ph + target.value.slice(target.selectionEnd == null ? at : target.selectionEnd);
        target.focus();
      } else if (b.hasAttribute("data-cond-add")) {
        addConditionRow(card);
      } else if (b.hasAttribute("data-cond-remove")) {
        b.closest(".cond-row").remove();
      } else if (b.hasAttribute("data-cond-write")) {
        card.querySelector('[data-robot="condition"]').value = writeCondition(card);
      }
    });
    board.addEventListener("change", function (e) {
      const sel = e.target.closest("[data-robot-stage]");
      if (!sel) { return; }
      const card = sel.closest(".robot");
      const col = column(sel.value);
      if (col) { col.querySelector(".robots").appendChild(card); sel.focus(); }
    });

    robotMoved = function (card) {
      const sel = card.querySelector("[data-robot-stage]");
      if (sel) { sel.value = stageOf(card); }
    };

    // ---- Condition builder: rows of field, operator and value, joined by and/or,
    // written as an expression into the expression box (which may also be typed).
    function addConditionRow(card, f, op, value) {
      const row = condRow.content.firstElementChild.cloneNode(true);
      const fsel = row.querySelector("[data-cond-field]");
      fields.forEach(function (fd) {
        const o = document.createElement("option");
        o.value = fd.Name;
        o.textContent = fd.Title;
        fsel.appendChild(o);
      });
      if (f) { fsel.value = f; }
      if (op) { row.querySelector("[data-cond-op]").value = op; }
      if (value != null) { row.querySelector("[data-cond-value]").value = value; }
      card.querySelector(".cond-rows").appendChild(row);
      fsel.focus();
    }
    function kindOf(name) {
      const f = fields.find(function (fd) { return fd.Name === name; });
      return f ? f.Kind : "text";
    }
    function literal(kind, v) {
      if (kind === "number" && v.trim() !== "" && !isNaN(Number(v))) { return String(Number(v)); }
      if (kind === "bool") { return /^(y|yes|true|1)$/i.test(v.trim()) ? "true" : "false"; }
      return JSON.stringify(v);
    }
    function writeCondition(card) {
      const join = card.querySelector("[data-cond-join]").value;
      return $$(card, ".cond-row").map(function (row) {
        const f = row.querySelector("[data-cond-field]").value;
        const op = row.querySelector("[data-cond-op]").value;
        const v = row.querySelector("[data-cond-value]").value;
        return f + " " + op + " " + literal(kindOf(f), v);
      }).join(" " + join + " ");
    }
    // parseCondition fills the builder from an expression it wrote; others stay typed.
    function parseCondition(card, src) {
      if (!src || card.querySelector(".cond-row")) { return; }
      const join = src.indexOf("||") >= 0 ? "||" : "&&";
      const parts = src.split(join === "||" ? "||" : "&&");
      const re = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s+(==|!=|>=|<=|>|<|contains|startsWith)\s+(.+?)\s*$/;
      const rows = [];
      for (let i = 0; i < parts.length; i++) {
        const m = re.exec(parts[i]);
        if (!m) { return; }
        let v = m[3];
        if (/^".*"$/.test(v)) { try { v = JSON.parse(v); } catch (err) { return; } }
        rows.push([m[1], m[2], v]);
      }
      card.querySelector("[data-cond-join]").value = join;
      rows.forEach(function (r) { addConditionRow(card, r[0], r[1], r[2]); });
    }

    // ---- Reading the cards back into the document.
    function paramValue(el) {
      const c = el.getAttribute("data-control");
      const v = el.value;
      switch (c) {
        case "list":
          return v.split(",").map(function (s) { return s.trim(); }).filter(Boolean);
        case "users":
          return Array.prototype.map.call(el.selectedOptions, function (o) { return Number(o.value); });
        case "fields":
          return Array.prototype.map.call(el.selectedOptions, function (o) { return o.value; });
        case "type":
          return v === "" ? undefined : Number(v);
        case "assign": {
          const out = {};
          v.split("\n").forEach(function (line) {
            const i = line.indexOf("=");
            if (i < 0) { return; }
            const k = line.slice(0, i).trim();
            const val = line.slice(i + 1).trim();
            if (k) { out[k] = val !== "" && !isNaN(Number(val)) && /^-?\d+(\.\d+)?$/.test(val) ? Number(val) : val; }
          });
          return out;
        }
        case "json":
          if (v.trim() === "") { return undefined; }
          try { return JSON.parse(v); } catch (err) { return v; }
      }
      return v === "" ? undefined : v;
    }
    function params(card) {
      let out = {};
      try { out = JSON.parse(card.getAttribute("data-extra") || "{}") || {}; } catch (err) { out = {}; }
      $$(card, "[data-param]").forEach(function (el) {
        const v = paramValue(el);
        const empty = v === undefined || (Array.isArray(v) && v.length === 0) || (v && typeof v === "object" && !Array.isArray(v) && Object.keys(v).length === 0);
        if (!empty) { out[el.getAttribute("data-param")] = v; }
      });
      return out;
    }
    function field(card, name) { const el = card.querySelector('[data-robot="' + name + '"]'); return el ? (el.type === "checkbox" ? el.checked : el.value.trim()) : ""; }
    function robotOf(card) {
      const r = { id: field(card, "id"), type: card.getAttribute("data-type"), params: params(card) };
      const title = field(card, "title"), cond = field(card, "condition");
      if (title) { r.title = title; }
      if (cond) { r.condition = cond; }
      if (field(card, "parallel")) { r.parallel = true; }
      const kind = card.querySelector("[data-delay-kind]").value;
      const d = {};
      if (kind === "after") { d.after = card.querySelector('[data-delay="after"]').value.trim(); }
      if (kind === "field") {
        d.field = card.querySelector('[data-delay="field"]').value;
        const off = card.querySelector('[data-delay="offset"]').value.trim();
        if (off) { d.offset = off; }
      }
      if (card.querySelector('[data-delay="workingHours"]').checked) { d.workingHours = true; }
      if (Object.keys(d).length) { r.delay = d; }
      return r;
    }
    function triggerOf(card) {
      const t = { id: field(card, "id"), type: card.getAttribute("data-type") };
      const p = params(card), cond = field(card, "condition");
      if (Object.keys(p).length) { t.params = p; }
      if (cond) { t.condition = cond; }
      if (field(card, "allowBackwards")) { t.allowBackwards = true; }
      return t;
    }
    function documentOf() {
      const stages = {};
      $$(board, ".auto-column").forEach(function (col) {
        const robots = $$(col, ".robots > .robot").map(robotOf);
        const triggers = $$(col, ".triggers > .trigger").map(triggerOf);
        if (robots.length || triggers.length) { stages[col.getAttribute("data-stage-id")] = { robots: robots, triggers: triggers }; }
      });
      return { version: Number(board.getAttribute("data-version")), stages: stages };
    }

    // ---- Saving: the whole funnel at once; problems go on their cards.
    function clearProblems() {
      $$(document, ".robot-error, .trigger-error, .column-error, .auto-error").forEach(function (b) { b.textContent = ""; b.hidden = true; });
      $$(board, ".has-problem").forEach(function (c) { c.classList.remove("has-problem"); });
    }
    function say(box, msg) {
      const p = document.createElement("p");
      p.textContent = msg;
      box.appendChild(p);
      box.hidden = false;
    }
    function cardFor(pr) {
      const col = pr.stage ? column(pr.stage) : null;
      const scope = col || board;
      const id = pr.robot || pr.trigger;
      if (!id) { return null; }
      const sel = pr.robot ? ".robots > .robot" : ".triggers > .trigger";
      const cards = $$(scope, sel);
      const m = /^#(\d+)$/.exec(id);
      if (m) { return cards[Number(m[1]) - 1] || null; }
      return cards.find(function (c) { return field(c, "id") === id; }) || null;
    }
    function showProblems(list) {
      list.forEach(function (pr) {
        const msg = (pr.param ? pr.param + ": " : "") + pr.message;
        const card = cardFor(pr);
        if (card) {
          card.classList.add("has-problem");
          say(card.querySelector(".robot-error, .trigger-error"), msg);
          return;
        }
        const col = pr.stage ? column(pr.stage) : null;
        say(col ? col.querySelector(".column-error") : topError, msg);
      });
      const first = board.querySelector(".has-problem");
      if (first) { first.scrollIntoView({ block: "center" }); }
    }
    const saveBtn = document.querySelector("[data-save-automation]");
    saveBtn.addEventListener("click", function () {
      clearProblems();
      status.textContent = "Saving…";
      saveBtn.disabled = true;
      fetch(board.getAttribute("data-save-url"), { method: "POST", body: JSON.stringify(documentOf()), credentials: "same-origin",
        headers: { "Accept": "application/json", "Content-Type": "application/json", "X-CSRF-Token": csrf } })
        .then(function (r) { return r.json().catch(function () { return { ok: false, error: "The server answered " + r.status }; }); })
        .then(function (d) {
          saveBtn.disabled = false;
          if (d.ok) {
            board.setAttribute("data-version", String(d.version));
            status.textContent = "Saved (version " + d.version + ").";
            // The page again, for the summaries and the trigger URLs of what was saved.
            window.location.reload();
            return;
          }
          status.textContent = "Not saved.";
          say(topError, d.error || "The automation was refused.");
          showProblems(d.problems || []);
        });
    });
  }
})();
