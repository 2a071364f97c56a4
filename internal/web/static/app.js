// smartcrm's own script: drag and drop and the move control on the Kanban, quick add,
// load more, live moves (server-sent events), inline editing on the card, the list's
// filter bar and bulk selection. Pages work without it: every form posts on its own;
// the script sends the same forms with fetch and updates the page in place.
"use strict";
(function () {
  const csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";

  function post(url, body) {
    return fetch(url, {
      method: "POST", body: body, credentials: "same-origin",
      headers: { "Accept": "application/json", "X-CSRF-Token": csrf },
    }).then(function (r) {
      return r.json().catch(function () { return { ok: false, error: "The server answered " + r.status }; });
    });
  }
  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } }).then(function (r) { return r.json(); });
  }
  function fromHTML(html) {
    const t = document.createElement("template");
    t.innerHTML = html.trim();
    return t.content.firstElementChild;
  }
  function showError(box, msg) {
    if (!box) { return; }
    box.textContent = msg;
    box.hidden = !msg;
  }

  // Stage colours come as data attributes: the page's CSP allows no inline styles.
  document.querySelectorAll("[data-color]").forEach(function (el) {
    const c = el.getAttribute("data-color");
    if (/^#[0-9a-fA-F]{3,8}$/.test(c)) { el.style.setProperty("--stage-color", c); }
  });

  document.querySelectorAll("[data-confirm]").forEach(function (b) {
    b.addEventListener("click", function (e) {
      if (!window.confirm(b.getAttribute("data-confirm"))) { e.preventDefault(); }
    });
  });

  // ---- Kanban ----
  const board = document.querySelector(".board");
  if (board) { kanban(board); }

  function kanban(board) {
    const columnURL = board.getAttribute("data-column-url");
    const countsURL = board.getAttribute("data-counts");
    const base = board.getAttribute("data-base");
    function column(stage) { return board.querySelector('.column[data-stage-id="' + CSS.escape(stage) + '"]'); }
    function cardEl(id) { return board.querySelector('.card[data-item-id="' + CSS.escape(String(id)) + '"]'); }

    function refreshCounts() {
      return getJSON(countsURL).then(function (d) {
        (d.stages || []).forEach(function (s) {
          const col = column(s.id);
          if (!col) { return; }
          const n = col.querySelector("[data-count]"), a = col.querySelector("[data-amount]");
          if (n) { n.textContent = s.items; }
          if (a) { a.textContent = s.amount; }
        });
        board.setAttribute("data-counts-at", String(Date.now()));
      });
    }

    function placeCard(card, stage) {
      const col = column(stage);
      if (!col) { card.remove(); return; }
      const list = col.querySelector(".cards");
      list.insertBefore(card, list.firstElementChild);
      if (!card.querySelector("form[data-move]")) { wireMove(card); }
      const sel = card.querySelector('select[name="stage"]');
      if (sel) { sel.value = stage; }
    }

    // move sends a card to a stage, with extra fields filled in place (fd).
    function move(card, stage, fd) {
      const from = card.parentElement;
      const body = fd || new FormData();
      body.set("stage", stage);
      body.set("version", card.getAttribute("data-version"));
      const err = card.querySelector(".card-error");
      showError(err, "");
      card.classList.add("busy");
      return post(card.getAttribute("data-move-url"), body).then(function (d) {
        card.classList.remove("busy");
        if (d.ok) {
          card.setAttribute("data-version", d.version);
          card.querySelectorAll('input[name="version"]').forEach(function (i) { i.value = d.version; });
          placeCard(card, d.stage);
          card.focus();
          return refreshCounts();
        }
        if (from && card.parentElement !== from) { from.insertBefore(card, from.firstElementChild); }
        explain(card, stage, d);
      });
    }

    // explain shows why a move was refused, with the missing field to fill in place.
    function explain(card, stage, d) {
      const err = card.querySelector(".card-error");
      err.hidden = false;
      err.textContent = "";
      const p = document.createElement("p");
      p.textContent = d.error || "The move was refused.";
      err.appendChild(p);
      if (d.stale) {
        const a = document.createElement("a");
        a.href = window.location.href;
        a.textContent = "Reload the board";
        err.appendChild(a);
        return;
      }
      if (d.input && d.field) {
        const f = document.createElement("form");
        f.className = "fill";
        const label = document.createElement("label");
        label.textContent = d.title || d.field;
        const ctl = fromHTML(d.input);
        if (ctl) { label.htmlFor = ctl.id; }
        f.appendChild(label);
        const tmp = document.createElement("div");
        tmp.innerHTML = d.input;
        while (tmp.firstChild) { f.appendChild(tmp.firstChild); }
        const b = document.createElement("button");
        b.type = "submit";
        b.textContent = "Save and move";
        f.appendChild(b);
        f.addEventListener("submit", function (e) {
          e.preventDefault();
          const fd = new FormData(f);
          fd.append("fields", d.field);
          move(card, stage, fd);
        });
        err.appendChild(f);
        const first = f.querySelector("input, select, textarea");
        if (first) { first.focus(); }
      }
    }

    // The move control: one template for the board, a copy in every card.
    const moveTpl = document.getElementById("move-control");
    function addMoveControl(card) {
      if (!moveTpl || card.querySelector("form[data-move]")) { return; }
      const f = moveTpl.content.firstElementChild.cloneNode(true);
      f.action = card.getAttribute("data-move-url");
      f.querySelector('input[name="version"]').value = card.getAttribute("data-version");
      const col = card.closest(".column");
      if (col) { f.querySelector("select").value = col.getAttribute("data-stage-id"); }
      const title = card.querySelector(".card-title").textContent;
      f.querySelector("label .vh").textContent = "Move “" + title + "” to stage";
      card.insertBefore(f, card.querySelector(".card-error"));
    }

    function wireCard(card) {
      card.addEventListener("dragstart", function (e) {
        e.dataTransfer.setData("text/plain", card.getAttribute("data-item-id"));
        e.dataTransfer.effectAllowed = "move";
        card.classList.add("dragging");
      });
      card.addEventListener("dragend", function () { card.classList.remove("dragging"); });
      wireMove(card);
      card.tabIndex = -1;
    }
    function wireMove(card) {
      if (!card.closest(".column")) { return; }
      addMoveControl(card);
      const f = card.querySelector("form[data-move]");
      if (f && !f.hasAttribute("data-wired")) {
        f.setAttribute("data-wired", "");
        f.addEventListener("submit", function (e) {
          e.preventDefault();
          move(card, f.querySelector('select[name="stage"]').value);
        });
      }
    }
    // The cards' controls are added after the first paint: the board shows at once,
    // and is usable a frame later.
    requestAnimationFrame(function () {
      setTimeout(function () { board.querySelectorAll(".card").forEach(wireCard); board.setAttribute("data-ready", ""); }, 0);
    });

    board.querySelectorAll(".column").forEach(function (col) {
      col.addEventListener("dragover", function (e) { e.preventDefault(); col.classList.add("over"); });
      col.addEventListener("dragleave", function () { col.classList.remove("over"); });
      col.addEventListener("drop", function (e) {
        e.preventDefault();
        col.classList.remove("over");
        const card = cardEl(e.dataTransfer.getData("text/plain"));
        const stage = col.getAttribute("data-stage-id");
        if (card && card.closest(".column") !== col) {
          col.querySelector(".cards").insertBefore(card, col.querySelector(".cards").firstElementChild);
          move(card, stage);
        }
      });
      const more = col.querySelector("button.more");
      if (more) { wireMore(col, more); }
      const qa = col.querySelector("form[data-quick-add]");
      if (qa) {
        qa.addEventListener("submit", function (e) {
          e.preventDefault();
          const err = qa.querySelector(".field-error");
          showError(err, "");
          post(qa.action, new FormData(qa)).then(function (d) {
            if (!d.ok) { showError(err, d.error); return; }
            if (!cardEl(d.id)) {
              const card = fromHTML(d.html);
              wireCard(card);
              placeCard(card, d.stage);
            }
            qa.reset();
            refreshCounts();
          });
        });
      }
    });

    function wireMore(col, btn) {
      function load() {
        if (btn.disabled) { return; }
        btn.disabled = true;
        const url = columnURL + "?stage=" + encodeURIComponent(col.getAttribute("data-stage-id")) + "&after=" + btn.getAttribute("data-more");
        getJSON(url).then(function (d) {
          const list = col.querySelector(".cards");
          const t = document.createElement("template");
          t.innerHTML = d.html;
          Array.from(t.content.children).forEach(function (c) {
            if (!cardEl(c.getAttribute("data-item-id"))) { wireCard(c); list.appendChild(c); }
          });
          if (d.more) { btn.setAttribute("data-more", d.more); btn.disabled = false; } else { btn.remove(); }
        });
      }
      btn.addEventListener("click", load);
      // On scroll: when the column's list is scrolled to its end.
      const list = col.querySelector(".cards");
      list.addEventListener("scroll", function () {
        if (btn.isConnected && list.scrollTop + list.clientHeight >= list.scrollHeight - 40) { load(); }
      }, { passive: true });
    }

    // Live: other people's moves, additions and deletions.
    const events = board.getAttribute("data-events");
    if (events && window.EventSource) {
      const es = new EventSource(events);
      es.addEventListener("open", function () { board.setAttribute("data-live", "on"); });
      es.addEventListener("item", function (m) {
        const ev = JSON.parse(m.data);
        const card = cardEl(ev.id);
        if (ev.kind === "delete") {
          if (card) { card.remove(); }
          refreshCounts();
          return;
        }
        getJSON(base + "details/" + ev.id + "/card").then(function (d) {
          if (!d.html) { return; }
          const fresh = fromHTML(d.html);
          wireCard(fresh);
          const old = cardEl(ev.id);
          const onBoard = column(d.stage) && String(d.category) === String(board.getAttribute("data-category") || d.category);
          if (old && old.contains(document.activeElement)) {
            old.setAttribute("data-version", d.version);
            old.querySelectorAll('input[name="version"]').forEach(function (i) { i.value = d.version; });
            if (old.closest(".column").getAttribute("data-stage-id") !== d.stage) { placeCard(old, d.stage); }
          } else if (old) {
            old.replaceWith(fresh);
            wireMove(fresh); // in its column now: it gets its move control
            if (fresh.closest(".column").getAttribute("data-stage-id") !== d.stage) { placeCard(fresh, d.stage); }
          } else if (onBoard) {
            placeCard(fresh, d.stage);
          }
          return refreshCounts();
        });
      });
    }
  }

  // ---- Card: inline edits and the stage bar ----
  function setVersion(v) {
    document.querySelectorAll('input[name="version"]').forEach(function (i) { i.value = v; });
  }
  document.querySelectorAll("form[data-edit]").forEach(wireEdit);
  function wireEdit(f) {
    f.addEventListener("submit", function (e) {
      e.preventDefault();
      const err = f.querySelector(".field-error");
      showError(err, "");
      post(f.action, new FormData(f)).then(function (d) {
        if (!d.ok) {
          showError(err, d.error);
          return;
        }
        setVersion(d.version);
        const title = document.querySelector("[data-title]");
        if (title && d.title) { title.textContent = d.title; }
        Object.keys(d.rows || {}).forEach(function (name) {
          const row = document.querySelector('.row[data-field="' + CSS.escape(name) + '"]');
          if (!row) { return; }
          const fresh = fromHTML(d.rows[name]);
          row.replaceWith(fresh);
          const nf = fresh.querySelector("form[data-edit]");
          if (nf) { wireEdit(nf); }
          const s = fresh.querySelector("summary");
          if (s) { s.focus(); }
        });
      });
    });
  }
  document.querySelectorAll("form[data-stage]").forEach(function (f) {
    f.addEventListener("submit", function (e) {
      e.preventDefault();
      const box = document.querySelector(".stage-error");
      showError(box, "");
      post(f.action, new FormData(f)).then(function (d) {
        if (d.ok) { window.location.reload(); return; }
        showError(box, d.error + (d.title ? " Fill in “" + d.title + "” below, then move again." : ""));
        if (d.field) {
          const row = document.querySelector('.row[data-field="' + CSS.escape(d.field) + '"] details');
          if (row) { row.open = true; const c = row.querySelector("input, select, textarea"); if (c) { c.focus(); } }
        }
      });
    });
  });

  // ---- List: filter bar and selection ----
  const filter = document.querySelector("form.filter");
  if (filter) {
    const ops = JSON.parse(filter.getAttribute("data-ops") || "{}");
    function fitOps(row) {
      const field = row.querySelector("[data-filter-field]").value;
      const allowed = ops[field];
      row.querySelectorAll("[data-filter-op] option").forEach(function (o) {
        o.hidden = !!allowed && allowed.indexOf(o.value) < 0;
        o.disabled = o.hidden;
      });
      const sel = row.querySelector("[data-filter-op]");
      if (sel.selectedOptions[0] && sel.selectedOptions[0].disabled) {
        const first = Array.from(sel.options).find(function (o) { return !o.disabled; });
        if (first) { sel.value = first.value; }
      }
    }
    filter.querySelectorAll(".filter-row").forEach(function (row) {
      fitOps(row);
      row.querySelector("[data-filter-field]").addEventListener("change", function () { fitOps(row); });
    });
    const add = filter.querySelector("[data-add-condition]");
    if (add) {
      add.addEventListener("click", function () {
        const rows = filter.querySelector(".filter-rows");
        const last = rows.lastElementChild;
        const copy = last.cloneNode(true);
        const n = rows.children.length;
        copy.querySelectorAll("[id]").forEach(function (el) {
          const id = el.id.replace(/-\d+$/, "-" + n);
          const lab = copy.querySelector('label[for="' + el.id + '"]');
          if (lab) { lab.htmlFor = id; }
          el.id = id;
        });
        copy.querySelectorAll("input").forEach(function (i) { i.value = ""; });
        copy.querySelector("[data-filter-field]").value = "";
        copy.querySelector("[data-filter-field]").addEventListener("change", function () { fitOps(copy); });
        rows.appendChild(copy);
        copy.querySelector("select").focus();
      });
    }
  }
  const all = document.querySelector("[data-select-all]");
  if (all) {
    all.addEventListener("change", function () {
      document.querySelectorAll('input[name="ids"]').forEach(function (c) { c.checked = all.checked; });
    });
  }
})();
