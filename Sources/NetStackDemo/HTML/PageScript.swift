// The page's script: renders the data block (frames, dissections, hex,
// ladder, journey, tables). Plain DOM, no libraries, no network, no eval.
// Its SHA-256 goes into the page's Content-Security-Policy.

/// The page's JavaScript, inlined and allowed by its hash.
enum PageScript {
    /// The script's text, exactly as it appears between `<script>` and `</script>`.
    static let source = #"""
"use strict";
(function () {
  const data = JSON.parse(document.getElementById("demo-data").textContent);
  const ui = data.ui;
  const $ = (id) => document.getElementById(id);
  const make = (tag, cls, text) => {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  };
  const svgMake = (tag, attrs) => {
    const e = document.createElementNS("http://www.w3.org/2000/svg", tag);
    for (const k in attrs) e.setAttribute(k, attrs[k]);
    return e;
  };
  const t0 = data.frames.length ? data.frames[0].t : 0;
  const seconds = (t) => ((t - t0) / 1e9).toFixed(6);

  for (const el of document.querySelectorAll("[data-ui]")) el.textContent = ui[el.dataset.ui];

  // ---- Frame list, dissection tree, hex view
  let selectedFrame = -1;
  let selectedField = null;
  const rows = [];
  const body = $("frame-rows");
  data.frames.forEach((f, i) => {
    const tr = make("tr");
    tr.tabIndex = -1;
    tr.id = "frame-" + (i + 1);
    tr.dataset.proto = f.proto;
    for (const v of [String(i + 1), seconds(f.t), f.src, f.dst, f.proto, f.info]) tr.appendChild(make("td", "", v));
    tr.addEventListener("click", () => { selectFrame(i, true); showHopOfFrame(i); });
    body.appendChild(tr);
    rows.push(tr);
  });
  $("frame-table").addEventListener("keydown", (e) => {
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      e.stopPropagation();
      const next = Math.max(0, Math.min(rows.length - 1, selectedFrame + (e.key === "ArrowDown" ? 1 : -1)));
      selectFrame(next, true);
    }
  });

  function selectFrame(i, focus) {
    if (i < 0 || i >= data.frames.length) return;
    if (selectedFrame >= 0) { rows[selectedFrame].classList.remove("selected"); rows[selectedFrame].tabIndex = -1; }
    selectedFrame = i;
    const tr = rows[i];
    tr.classList.add("selected");
    tr.tabIndex = 0;
    if (focus) { tr.focus({ preventScroll: true }); }
    tr.scrollIntoView({ block: "nearest" });
    const f = data.frames[i];
    $("dissection-title").textContent = ui.dissection + " — " + ui.no + " " + (i + 1) + " (" + f.hex.length / 2 + " " + ui.bytes + ")";
    renderTree(f.tree);
    renderHex(f.hex);
    selectedField = null;
    for (const g of document.querySelectorAll("#ladder-svg .arrow")) g.classList.toggle("selected", g.dataset.frame === String(i));
  }

  function renderTree(tree) {
    const root = $("tree");
    root.textContent = "";
    const build = (nodes, parent) => {
      const ul = make("ul");
      for (const n of nodes) {
        const li = make("li");
        const label = make("span", "field", n[0]);
        label.tabIndex = 0;
        label.dataset.offset = n[1];
        label.dataset.length = n[2];
        label.setAttribute("role", "button");
        label.addEventListener("click", () => selectField(label));
        label.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); selectField(label); } });
        li.appendChild(label);
        if (n[3].length) build(n[3], li);
        ul.appendChild(li);
      }
      parent.appendChild(ul);
    };
    build(tree, root);
  }

  function renderHex(hex) {
    const pre = $("hex");
    pre.textContent = "";
    const count = hex.length / 2;
    for (let row = 0; row < count; row += 16) {
      const line = make("div", "hexrow");
      line.appendChild(make("span", "off", row.toString(16).padStart(4, "0") + "  "));
      let ascii = "";
      for (let i = row; i < Math.min(count, row + 16); i++) {
        const b = make("span", "b", hex.substr(i * 2, 2));
        b.dataset.i = i;
        b.addEventListener("click", () => selectByte(i));
        line.appendChild(b);
        line.appendChild(document.createTextNode(i % 16 === 7 ? "  " : " "));
        const c = parseInt(hex.substr(i * 2, 2), 16);
        ascii += c >= 32 && c < 127 ? String.fromCharCode(c) : ".";
      }
      const missing = row + 16 - Math.min(count, row + 16);
      line.appendChild(make("span", "ascii", " ".repeat(missing * 3 + (missing > 8 ? 1 : 0)) + " " + ascii));
      pre.appendChild(line);
    }
  }

  function selectField(label) {
    if (selectedField) selectedField.classList.remove("selected");
    selectedField = label;
    label.classList.add("selected");
    const start = Number(label.dataset.offset), end = start + Number(label.dataset.length);
    for (const b of document.querySelectorAll("#hex .b")) {
      const i = Number(b.dataset.i);
      b.classList.toggle("hl", i >= start && i < end);
    }
  }

  // The smallest field holding byte i; of equal ones the deepest, then the first.
  function selectByte(i) {
    let best = null, bestLength = 0, bestDepth = 0;
    for (const label of document.querySelectorAll("#tree .field")) {
      const start = Number(label.dataset.offset), length = Number(label.dataset.length);
      if (i < start || i >= start + length) continue;
      let depth = 0;
      for (let e = label.parentElement; e && e.id !== "tree"; e = e.parentElement) depth++;
      if (!best || length < bestLength || (length === bestLength && depth > bestDepth)) { best = label; bestLength = length; bestDepth = depth; }
    }
    if (best) { selectField(best); best.focus({ preventScroll: true }); best.scrollIntoView({ block: "nearest" }); }
  }

  // ---- Ladder diagram
  (function drawLadder() {
    const svg = $("ladder-svg");
    const rowH = 18, top = 40, leftX = 70, rightX = 430;
    const height = top + data.ladder.length * rowH + 20;
    svg.setAttribute("viewBox", "0 0 500 " + height);
    svg.setAttribute("height", String(height));
    svg.appendChild(svgMake("line", { x1: leftX, y1: 25, x2: leftX, y2: height - 5, class: "lifeline" }));
    svg.appendChild(svgMake("line", { x1: rightX, y1: 25, x2: rightX, y2: height - 5, class: "lifeline" }));
    const head = (x, text) => { const t = svgMake("text", { x: x, y: 18, class: "who" }); t.textContent = text; svg.appendChild(t); };
    head(leftX, ui.browser + " " + data.browserAddress);
    head(rightX, "server " + data.serverAddress);
    data.ladder.forEach((a, k) => {
      const y = top + k * rowH;
      const from = a.left ? leftX : rightX, to = a.left ? rightX : leftX;
      const end = a.lost ? (from + to) / 2 : to;
      const g = svgMake("g", { class: "arrow" + (a.lost ? " lost" : "") + (a.retrans ? " retrans" : "") });
      if (a.frame !== null) { g.dataset.frame = String(a.frame); g.setAttribute("tabindex", "0"); g.setAttribute("role", "button"); }
      g.appendChild(svgMake("line", { x1: from, y1: y, x2: end, y2: y + 6 }));
      const dir = a.left ? -1 : 1;
      if (!a.lost) g.appendChild(svgMake("path", { d: "M" + end + "," + (y + 6) + " l" + 8 * dir + ",-4 l0,8 z" }));
      else { const x = svgMake("text", { x: end, y: y + 10, class: "cross" }); x.textContent = "✗"; g.appendChild(x); }
      const label = svgMake("text", { x: (leftX + rightX) / 2, y: y - 2, class: "label" });
      label.textContent = (a.lost ? "✗ " + ui.lost + ": " : "") + (a.retrans ? "↻ " + ui.retransmission + ": " : "") + a.label;
      g.appendChild(label);
      const time = svgMake("text", { x: 4, y: y + 4, class: "time" });
      time.textContent = seconds(a.t);
      g.appendChild(time);
      const title = svgMake("title", {});
      title.textContent = a.frame !== null ? ui.no + " " + (a.frame + 1) : ui.lost;
      g.appendChild(title);
      if (a.frame !== null) {
        const open = () => { selectFrame(a.frame, true); showHopOfFrame(a.frame); };
        g.addEventListener("click", open);
        g.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); open(); } });
      }
      svg.appendChild(g);
    });
  })();

  // ---- Journey: hop by hop
  let hop = -1;
  const hopFromFrame = new Map();
  data.hops.forEach((h, k) => { if (h.frame !== null && !hopFromFrame.has(h.frame)) hopFromFrame.set(h.frame, k); });
  const centre = (id) => {
    const node = document.querySelector("#node-" + id + " rect, #node-" + id + " circle");
    if (!node) return [0, 0];
    if (node.tagName === "circle") return [Number(node.getAttribute("cx")), Number(node.getAttribute("cy"))];
    return [Number(node.getAttribute("x")) + Number(node.getAttribute("width")) / 2, Number(node.getAttribute("y")) + Number(node.getAttribute("height")) / 2];
  };
  const nodeName = (id) => id === "client" ? ui.browser : id;

  function stepAt(t) {
    let k = -1;
    data.steps.forEach((s, i) => { if (s.t <= t) k = i; });
    return k;
  }

  function showHop(k) {
    if (!data.hops.length) return;
    hop = Math.max(0, Math.min(data.hops.length - 1, k));
    const h = data.hops[hop];
    for (const c of document.querySelectorAll(".cable")) c.classList.toggle("active", c.id === "cable-" + h.cable);
    const a = centre(h.from), b = centre(h.to);
    const dot = $("packet");
    dot.setAttribute("cx", String(a[0] + (b[0] - a[0]) * 0.6));
    dot.setAttribute("cy", String(a[1] + (b[1] - a[1]) * 0.6));
    $("hop-count").textContent = ui.hop + " " + (hop + 1) + " " + ui.of + " " + data.hops.length;
    $("hop-what").textContent = seconds(h.t) + " s  " + nodeName(h.from) + " → " + nodeName(h.to) + "  " + h.proto + "  " + h.info;
    const link = $("hop-frame");
    link.textContent = h.frame !== null ? ui.showFrame + " (" + ui.no + " " + (h.frame + 1) + ")" : ui.notCaptured;
    link.disabled = h.frame === null;
    const s = stepAt(h.t);
    $("step-title").textContent = s >= 0 ? data.steps[s].title : "";
    const list = $("narration");
    list.textContent = "";
    const first = s >= 0 ? data.steps[s].line : 0;
    const lines = data.lines.filter((l, i) => i >= first && l[0] <= h.t && l[1].trim() !== "" && !l[1].startsWith("== "));
    for (const l of lines.slice(-12)) list.appendChild(make("li", "", l[1]));
    showTables(s);
  }

  function showTables(s) {
    const after = s + 1 < data.steps.length ? data.steps[s + 1].tables : data.finalTables;
    $("tables-title").textContent = s + 1 < data.steps.length && s >= 0 ? ui.tables + ": " + data.steps[s].title : ui.tablesFinal;
    const box = $("tables-body");
    box.textContent = "";
    for (const host of after) {
      const d = make("details", "host");
      if (host.host === "browser") d.open = true;
      d.appendChild(make("summary", "", host.host));
      d.appendChild(make("pre", "", host.host + "$ netstat\n" + host.netstat + "\n" + host.host + "$ " + data.routeCommand + "\n" + host.route + "\n" + host.host + "$ " + data.neighbourCommand + "\n" + host.arp));
      box.appendChild(d);
    }
  }

  function showHopOfFrame(i) { if (hopFromFrame.has(i)) showHop(hopFromFrame.get(i)); }

  $("next").addEventListener("click", () => showHop(hop + 1));
  $("previous").addEventListener("click", () => showHop(hop - 1));
  $("hop-frame").addEventListener("click", () => { const h = data.hops[hop]; if (h && h.frame !== null) selectFrame(h.frame, true); });
  document.addEventListener("keydown", (e) => {
    if (e.altKey || e.ctrlKey || e.metaKey) return;
    if (e.target && (e.target.tagName === "INPUT" || e.target.tagName === "TEXTAREA")) return;
    if (e.key === "ArrowRight") { e.preventDefault(); showHop(hop + 1); }
    else if (e.key === "ArrowLeft") { e.preventDefault(); showHop(hop - 1); }
    else if (e.key === "Home" && e.target === document.body) { e.preventDefault(); showHop(0); }
    else if (e.key === "End" && e.target === document.body) { e.preventDefault(); showHop(data.hops.length - 1); }
  });
  for (const tr of rows) tr.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); showHopOfFrame(selectedFrame); } });

  showHop(0);
  if (data.frames.length) { selectFrame(0, false); rows[0].tabIndex = 0; }
})();
"""#
}
