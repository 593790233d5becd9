/* The link graph viewer (crawler/viewer/): graphology holds the graph, sigma.js draws it with WebGL,
 * ForceAtlas2 lays it out in slices on the main thread (no worker: the page's policy allows none).
 * A large graph (data.large: past VIEWER_LARGE_NODES or VIEWER_LARGE_EDGES) is drawn in the cheap mode,
 * see "the renderer" below.
 * Every string of the data is put in the page with textContent: nothing from it becomes markup.
 * window.viewer exposes the graph, the renderer and the actions (for the tests and the curious). */
(function () {
  "use strict";
  var timings = { start: performance.now() };
  var data = JSON.parse(document.getElementById("graph-data").textContent);
  timings.parsed = performance.now();

  var PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf",
    "#bcbd22", "#393b79", "#637939", "#843c39"];
  var OTHER = "#a0aec0", NO_SECTION = "#cbd5e0", DIMMED = "#edf2f7";
  var MAX_HOSTS = 15, MAX_SECTIONS = PALETTE.length, MAX_LINKS = 200, MAX_RESULTS = 20;

  function $(id) { return document.getElementById(id); }
  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }
  function clear(e) { while (e.firstChild) e.removeChild(e.firstChild); }
  function fmt(n) { return Number(n || 0).toLocaleString("en"); }
  function plural(n, word) { return fmt(n) + " " + word + (n === 1 ? "" : "s"); }

  var nodes = data.nodes, kinds = data.kinds, hosts = data.hosts;
  // Each kind's colour comes with the data (crawler/viewer/page.py: crawler.items.LINK_KINDS), by its index.
  function kindColour(k) { return data.colours[k] || OTHER; }

  // -- the graph ---------------------------------------------------------------------------------
  var graph = new graphology.DirectedGraph({ allowSelfLoops: true });
  var sectionCounts = {};
  nodes.forEach(function (n, i) {
    if (n.sec) sectionCounts[n.sec] = (sectionCounts[n.sec] || 0) + 1;
    graph.addNode(n.u, {
      i: i, label: n.t || n.u, kind: kinds[n.k], kindColour: kindColour(n.k), host: n.h, fetched: n.f === 1,
      type: n.f === 1 ? "circle" : "dangling", x: 0, y: 0, size: 2,
    });
  });
  data.edges.forEach(function (e) {
    graph.addDirectedEdge(nodes[e[0]].u, nodes[e[1]].u, {
      kind: kinds[e[2]], text: e[3] || "", weight: e[4] || 1, size: e[4] ? Math.min(1 + Math.log(e[4]), 6) : 0.5,
    });
  });

  var sections = Object.keys(sectionCounts).sort(function (a, b) {
    return sectionCounts[b] - sectionCounts[a] || (a < b ? -1 : 1);
  });
  var sectionColour = {};
  sections.forEach(function (s, i) { sectionColour[s] = i < MAX_SECTIONS ? PALETTE[i] : OTHER; });
  var hostCounts = {};
  var maxIn = 1;
  graph.forEachNode(function (key, attr) {
    var n = nodes[attr.i];
    var degree = graph.inDegree(key);
    if (degree > maxIn) maxIn = degree;
    attr.hostGroup = n.h < MAX_HOSTS ? n.h : MAX_HOSTS;
    hostCounts[attr.hostGroup] = (hostCounts[attr.hostGroup] || 0) + 1;
    attr.sectionColour = n.sec ? sectionColour[n.sec] : NO_SECTION;
  });
  // Size by in-degree; first positions on a sunflower spiral, the most linked in the middle, hosts together.
  var order = graph.nodes().sort(function (a, b) {
    var ha = graph.getNodeAttribute(a, "host"), hb = graph.getNodeAttribute(b, "host");
    return ha - hb || graph.inDegree(b) - graph.inDegree(a);
  });
  order.forEach(function (key, rank) {
    var angle = rank * 2.399963, radius = 10 * Math.sqrt(rank + 0.5);
    graph.mergeNodeAttributes(key, {
      x: radius * Math.cos(angle), y: radius * Math.sin(angle),
      size: 2 + 12 * Math.sqrt(graph.inDegree(key) / maxIn),
    });
  });

  // -- state and reducers ------------------------------------------------------------------------
  var state = { colourBy: "kind", hiddenKinds: {}, hiddenHosts: {}, selected: null, neighbours: null };

  var filtering = false; // a kind or a host is filtered out
  function nodeHidden(attr) {
    return filtering && (state.hiddenKinds[attr.kind] || state.hiddenHosts[attr.hostGroup]);
  }

  // sigma hands the reducers a copy of the attributes, theirs to change. Most edges are returned as they
  // are: with no filter and no selection, the edge reducer looks nothing up (50,000 edges at each refresh).
  function nodeReducer(key, attr) {
    var res = attr;
    if (nodeHidden(attr)) { res.hidden = true; return res; }
    res.color = state.colourBy === "kind" ? attr.kindColour : attr.sectionColour;
    if (state.selected) {
      if (key === state.selected) { res.highlighted = true; res.zIndex = 2; }
      else if (state.neighbours[key]) { res.zIndex = 1; }
      else { res.color = DIMMED; res.label = ""; res.zIndex = 0; }
    }
    return res;
  }

  function edgeReducer(key, attr) {
    var res = attr;
    if (!filtering && !state.selected) return res;
    var source = graph.source(key), target = graph.target(key);
    if (nodeHidden(graph.getNodeAttributes(source)) || nodeHidden(graph.getNodeAttributes(target))) {
      res.hidden = true;
    } else if (state.selected) {
      // The selected node's edges, out and in: drawn over the others, as rectangles in the cheap mode too.
      if (source === state.selected || target === state.selected) {
        res.color = source === state.selected ? "#dd6b20" : "#2b6cb0";
        res.size = 1.5;
        res.zIndex = 1;
        res.type = "thick";
      } else res.hidden = true;
    }
    return res;
  }

  // -- the header --------------------------------------------------------------------------------
  (function header() {
    var s = data.summary, o = data.options;
    $("title").textContent = "Link graph of " + data.store +
      (o.by_host ? " (by host)" : "") + (o.articles_only ? " (article links)" : "") +
      (o.keep_dangling ? "" : " (fetched pages only)");
    var reasons = s.aliases_by_reason || {};
    var parts = [
      plural(s.pages, "page") + " (" + fmt(s.fetched_ok) + " ok, " + fmt(s.failed) + " failed or 4xx/5xx)",
      plural(s.articles, "article"),
      fmt(s.aliases) + (s.aliases === 1 ? " alias" : " aliases") + " (" + fmt(reasons.redirect) + " redirect, " +
        fmt(reasons.canonical) + " rel=canonical)",
      fmt(reasons.canonical) + " duplicates collapsed",
      plural(s.links, "link") + " in " + plural(graph.size, "edge") + " between " + plural(graph.order, "node"),
    ];
    if (s.first_fetched) {
      var from = s.first_fetched.slice(0, 16).replace("T", " "), to = s.last_fetched.slice(0, 16).replace("T", " ");
      parts.push("crawled " + (from === to ? from : from + " – " + to) + " UTC");
    }
    if (s.last_round) {
      var r = s.last_round;
      parts.push(plural(s.rounds, "round") + "; round " + fmt(r.number) + (r.finished ? "" : " (interrupted)") +
        " started " + r.started_at.slice(0, 16).replace("T", " ") + " UTC: " + fmt(r.changed) + " changed, " +
        fmt(r.new) + " new");
    }
    $("summary").textContent = parts.join(" · ");
    if (data.cut) {
      $("cut").hidden = false;
      $("cut").textContent = "Not the whole graph: " + data.cut.describe + ".";
    }
  })();

  // No WebGL (hardware acceleration off, or a browser without GPU that does not draw WebGL on the
  // CPU): sigma's bundle cannot even load. Say so where the map would be, rather than leave it blank.
  if (typeof Sigma === "undefined" || !webGLWorks()) {
    var message = "This map needs WebGL, which this browser could not start. Turn on hardware " +
      "acceleration (or WebGL) in the browser's settings and open the file again.";
    $("graph").appendChild(el("p", message, "no-webgl"));
    window.viewer = { graph: graph, renderer: null, error: message, timings: timings };
    return;
  }
  function webGLWorks() {
    var probe = document.createElement("canvas");
    return !!(probe.getContext("webgl2") || probe.getContext("webgl"));
  }

  // -- the renderer ------------------------------------------------------------------------------
  // A small graph: discs and rings of three vertices each, edges as rectangles of their weight's width.
  // A large graph (data.large), where a browser without GPU (SwiftShader: WebGL on the CPU) spends a
  // second or more on a frame of these, is drawn in the cheap mode, which looks nearly the same:
  // * nodes as points (one vertex each, no instancing: SwiftShader draws an instanced node at the cost
  //   of a draw call; 8,000 discs took 240 ms, 8,000 points take 40), rings by a point shader of the same
  //   kind;
  // * edges as one-pixel lines (EdgeLineProgram); the edges of the selected node as rectangles still;
  // * while the camera moves, the edges are not drawn again (sigma's hideEdgesOnMove): their last frame
  //   stays on its canvas and moves with the camera (a CSS transform, see below), and they are drawn
  //   anew when it stops; the labels are not drawn while it moves either (sigma's hideLabelsOnMove, their
  //   layer transparent then). A frame while moving is the nodes.
  // A graph of many edges but not large (data.frozen_edges) keeps the full drawing, and only the edges are
  // not drawn again while the camera moves.
  var large = data.large === true, frozen = data.frozen_edges === true;
  var RING_SHADER = [
    "precision mediump float;",
    "varying vec4 v_color;",
    "varying float v_border;",
    "void main(void) {",
    "  float dist = 0.5 - length(gl_PointCoord - vec2(0.5, 0.5));",
    "#ifdef PICKING_MODE",
    "  gl_FragColor = dist > v_border ? v_color : vec4(0.0);",
    "#else",
    "  float t = dist > v_border ? 1.0 : dist > 0.0 ? dist / v_border : 0.0;",
    "  vec4 inside = dist > 0.15 + v_border ? vec4(1.0, 1.0, 1.0, 1.0) : v_color;",
    "  gl_FragColor = mix(vec4(0.0), inside, t);",
    "#endif",
    "}",
  ].join("\n");
  class RingPointProgram extends Sigma.rendering.NodePointProgram {
    getDefinition() { return Object.assign({}, super.getDefinition(), { FRAGMENT_SHADER_SOURCE: RING_SHADER }); }
  }
  var Dangling = large ? RingPointProgram : Sigma.rendering.createNodeBorderProgram({
    borders: [
      { size: { value: 0.3 }, color: { attribute: "color" } },
      { size: { fill: true }, color: { value: "#ffffff" } },
    ],
  });
  var nodePrograms = { dangling: Dangling };
  var edgePrograms = { thick: Sigma.rendering.EdgeRectangleProgram };
  if (large) {
    nodePrograms.circle = Sigma.rendering.NodePointProgram;
    edgePrograms.line = Sigma.rendering.EdgeLineProgram;
  }

  var container = $("graph");
  timings.built = performance.now(); // the graph built, laid out on its first spiral
  var renderer = newRenderer();
  function newRenderer() { return new Sigma(graph, container, {
    nodeProgramClasses: nodePrograms,
    edgeProgramClasses: edgePrograms,
    defaultEdgeColor: "#cbd5e0",
    labelFont: "system-ui, sans-serif",
    labelRenderedSizeThreshold: 9,
    zIndex: true,
    hideEdgesOnMove: frozen,
    hideLabelsOnMove: large,
    nodeReducer: nodeReducer,
    edgeReducer: edgeReducer,
  }); }
  timings.rendered = performance.now(); // sigma's constructor draws the first frame

  // Every canvas of sigma's is a layer the browser composites at every frame, drawn or not: without GPU
  // (SwiftShader) that is 20 ms a layer at 1150x820, and sigma has seven. The edge labels' (never drawn
  // here) is taken out, sigma's mouse layer (events only) is made transparent, which the compositor skips,
  // and so are the two layers of hovered and selected nodes while no node is hovered or selected.
  var canvases = renderer.getCanvases(), hovered = null;
  canvases.edgeLabels.style.display = "none";
  canvases.mouse.style.opacity = "0";
  function showHoverLayers() {
    var shown = hovered !== null || state.selected !== null ? "" : "0";
    canvases.hovers.style.opacity = canvases.hoverNodes.style.opacity = shown;
  }
  showHoverLayers();

  // While the camera moves (data.frozen_edges), the edges' canvas keeps the frame drawn when it last stood
  // still: sigma clears it at every frame, so its clear is skipped then, and the canvas is moved by the
  // transform that takes that camera to the current one (from where two points of the graph are seen in
  // each). Once the camera stops, sigma draws the edges again and the transform goes.
  var moves = { frames: 0, still: null };
  (function keepEdgesWhileMoving() {
    if (!frozen) return;
    var gl = renderer.webGLContexts.edges, canvas = renderer.getCanvases().edges, camera = renderer.getCamera();
    var clearEdges = gl.clear;
    canvas.style.transformOrigin = "0 0";
    function moving() {
      var mouse = renderer.mouseCaptor;
      return camera.isAnimated() || mouse.isMoving || mouse.draggedEvents > 0 || mouse.currentWheelDirection !== 0;
    }
    function seen(point, cameraState) { return renderer.framedGraphToViewport(point, { cameraState: cameraState }); }
    // Nodes are not picked while the camera moves (sigma draws them a second time for that, in a buffer of
    // their own): the frame drawn when it stops has them picked again.
    var picking = [];
    function restorePicking() {
      picking.forEach(function (saved) { saved[0].pickProgram = saved[1]; });
      picking = [];
    }
    renderer.on("beforeRender", function () {
      restorePicking();
      if (large) canvases.labels.style.opacity = moving() ? "0" : "";
      if (!moving() || !moves.still) {
        gl.clear = clearEdges;
        canvas.style.transform = "";
        moves.still = null;
        return;
      }
      gl.clear = function () {};
      moves.frames++;
      Object.keys(renderer.nodePrograms).forEach(function (type) {
        var program = renderer.nodePrograms[type];
        if (program.pickProgram) { picking.push([program, program.pickProgram]); program.pickProgram = null; }
      });
      var now = camera.getState(), o = { x: 0, y: 0 }, u = { x: 1, y: 0 };
      var a0 = seen(o, moves.still), a1 = seen(u, moves.still), b0 = seen(o, now), b1 = seen(u, now);
      // z -> m z + t in the complex plane: scale and rotation m, translation t.
      var ax = a1.x - a0.x, ay = a1.y - a0.y, bx = b1.x - b0.x, by = b1.y - b0.y, norm = ax * ax + ay * ay;
      var mr = (bx * ax + by * ay) / norm, mi = (by * ax - bx * ay) / norm;
      var tx = b0.x - (mr * a0.x - mi * a0.y), ty = b0.y - (mi * a0.x + mr * a0.y);
      canvas.style.transform = "matrix(" + [mr, mi, -mi, mr, tx, ty].join(",") + ")";
    });
    renderer.on("afterRender", function () {
      restorePicking();
      if (!moving()) moves.still = camera.getState();
    });
  })();
  requestAnimationFrame(function () {
    requestAnimationFrame(function () { timings.painted = performance.now(); });
  });

  // -- legend and filters ------------------------------------------------------------------------
  function legendItem(list, colour, name, count, checked, onChange) {
    var li = el("li"), label = el("label");
    if (onChange) {
      var box = el("input");
      box.type = "checkbox";
      box.checked = checked;
      box.addEventListener("change", function () { onChange(box.checked); });
      label.appendChild(box);
    }
    if (colour) {
      var swatch = el("span", null, "swatch");
      swatch.style.background = colour;
      label.appendChild(swatch);
    }
    var nameSpan = el("span", name, "name");
    nameSpan.title = name;
    label.appendChild(nameSpan);
    label.appendChild(el("span", fmt(count), "count"));
    li.appendChild(label);
    list.appendChild(li);
  }

  var kindCounts = {};
  graph.forEachNode(function (key, attr) { kindCounts[attr.kind] = (kindCounts[attr.kind] || 0) + 1; });
  function buildKinds() {
    var list = $("kinds");
    clear(list);
    kinds.forEach(function (kind, k) {
      if (!kindCounts[kind]) return;
      legendItem(list, state.colourBy === "kind" ? kindColour(k) : null, kind, kindCounts[kind],
        !state.hiddenKinds[kind], function (on) { state.hiddenKinds[kind] = !on; changed(); });
    });
  }
  function buildSections() {
    var list = $("sections");
    clear(list);
    sections.slice(0, MAX_SECTIONS).forEach(function (s) { legendItem(list, sectionColour[s], s, sectionCounts[s]); });
    var rest = sections.slice(MAX_SECTIONS).reduce(function (sum, s) { return sum + sectionCounts[s]; }, 0);
    if (rest) legendItem(list, OTHER, "other sections", rest);
    var none = graph.order - sections.reduce(function (sum, s) { return sum + sectionCounts[s]; }, 0);
    if (none) legendItem(list, NO_SECTION, "no section", none);
  }
  function buildHosts() {
    var list = $("hosts");
    Object.keys(hostCounts).map(Number).sort(function (a, b) { return a - b; }).forEach(function (group) {
      var name = group < MAX_HOSTS ? hosts[group] : "other hosts (" + fmt(hosts.length - MAX_HOSTS) + ")";
      legendItem(list, null, name, hostCounts[group], true, function (on) { state.hiddenHosts[group] = !on; changed(); });
    });
  }
  buildKinds();
  buildSections();
  buildHosts();
  document.querySelectorAll("input[name=colour]").forEach(function (radio) {
    radio.addEventListener("change", function () {
      state.colourBy = radio.value;
      $("sections-box").hidden = state.colourBy !== "section";
      buildKinds();
      renderer.refresh({ skipIndexation: true });
    });
  });
  function changed() {
    filtering = Object.keys(state.hiddenKinds).some(function (k) { return state.hiddenKinds[k]; }) ||
      Object.keys(state.hiddenHosts).some(function (h) { return state.hiddenHosts[h]; });
    var shown = 0;
    graph.forEachNode(function (key, attr) { if (!nodeHidden(attr)) shown++; });
    $("counts").textContent = fmt(shown) + " of " + plural(graph.order, "node") + " shown";
    renderer.refresh({ skipIndexation: true });
  }
  changed();

  // -- selection and the panel -------------------------------------------------------------------
  function row(dl, name, value) {
    if (value === undefined || value === null || value === "") return;
    dl.appendChild(el("dt", name));
    dl.appendChild(el("dd", value));
  }

  function linkList(body, heading, keys, texts) {
    body.appendChild(el("h3", heading + " (" + fmt(keys.length) + ")"));
    var list = el("ul");
    keys.slice(0, MAX_LINKS).forEach(function (key, i) {
      var li = el("li"), button = el("button");
      button.type = "button";
      button.appendChild(el("span", graph.getNodeAttribute(key, "label")));
      if (texts[i]) button.appendChild(el("span", "“" + texts[i] + "”", "anchor"));
      button.appendChild(el("span", key, "url"));
      button.addEventListener("click", function () { select(key); });
      li.appendChild(button);
      list.appendChild(li);
    });
    if (keys.length > MAX_LINKS) list.appendChild(el("li", "… and " + fmt(keys.length - MAX_LINKS) + " more", "note"));
    body.appendChild(list);
  }

  function showPanel(key) {
    var n = nodes[graph.getNodeAttribute(key, "i")];
    var body = $("panel-body");
    clear(body);
    body.appendChild(el("h2", n.t || (data.options.by_host ? n.u : "(no title)"), "title"));
    var dl = el("dl");
    row(dl, data.options.by_host ? "host" : "canonical URL", n.u);
    row(dl, "kind", kinds[n.k]);
    row(dl, "status", n.s !== undefined ? n.s : n.at ? "no response" : "never fetched (dangling)");
    row(dl, "error", n.err);
    row(dl, "section", n.sec);
    row(dl, "published", n.pub);
    row(dl, "authors", n.a && n.a.join(", "));
    row(dl, "depth", n.d);
    row(dl, "fetched at", n.at);
    row(dl, "mirror", n.m);
    row(dl, "pages", n.p);
    row(dl, "in-degree", graph.inDegree(key));
    body.appendChild(dl);
    if (n.x) body.appendChild(el("p", n.x, "excerpt"));
    var inKeys = [], inTexts = [], outKeys = [], outTexts = [];
    graph.forEachInEdge(key, function (edge, attr, source) { inKeys.push(source); inTexts.push(attr.text); });
    graph.forEachOutEdge(key, function (edge, attr, source, target) { outKeys.push(target); outTexts.push(attr.text); });
    linkList(body, "Linked from", inKeys, inTexts);
    linkList(body, "Links to", outKeys, outTexts);
    $("panel").hidden = false;
    $("panel").scrollTop = 0;
  }

  function select(key, opts) {
    if (!graph.hasNode(key)) return false;
    state.selected = key;
    state.neighbours = {};
    graph.forEachNeighbor(key, function (other) { state.neighbours[other] = true; });
    showPanel(key);
    showHoverLayers();
    renderer.refresh({ skipIndexation: true });
    if (!opts || opts.move !== false) {
      var shown = renderer.getNodeDisplayData(key);
      if (shown) {
        var camera = renderer.getCamera();
        camera.animate({ x: shown.x, y: shown.y, ratio: Math.min(camera.ratio, 0.25) }, { duration: 400 });
      }
    }
    return true;
  }

  function deselect() {
    state.selected = null;
    state.neighbours = null;
    $("panel").hidden = true;
    showHoverLayers();
    renderer.refresh({ skipIndexation: true });
  }

  renderer.on("clickNode", function (event) { select(event.node, { move: false }); });
  renderer.on("clickStage", deselect);
  renderer.on("enterNode", function (event) {
    hovered = event.node;
    showHoverLayers();
    container.style.cursor = "pointer";
  });
  renderer.on("leaveNode", function () {
    hovered = null;
    showHoverLayers();
    container.style.cursor = "";
  });
  $("panel-close").addEventListener("click", deselect);

  // -- search ------------------------------------------------------------------------------------
  var haystack = nodes.map(function (n) { return { title: (n.t || "").toLowerCase(), url: n.u.toLowerCase() }; });

  function search(query) {
    var q = String(query).trim().toLowerCase();
    if (!q) return [];
    var found = [];
    for (var i = 0; i < haystack.length && found.length < 1000; i++) {
      var h = haystack[i], at = h.title.indexOf(q);
      var score = at === 0 ? 0 : at > 0 ? 1 : h.url.indexOf(q) >= 0 ? 2 : -1;
      if (score >= 0) found.push({ key: nodes[i].u, score: score, degree: graph.inDegree(nodes[i].u) });
    }
    found.sort(function (a, b) { return a.score - b.score || b.degree - a.degree || (a.key < b.key ? -1 : 1); });
    return found.slice(0, MAX_RESULTS).map(function (f) { return f.key; });
  }

  var input = $("search"), results = $("results");
  function showResults() {
    var keys = search(input.value);
    clear(results);
    keys.forEach(function (key) {
      var li = el("li"), button = el("button");
      button.type = "button";
      button.appendChild(el("span", graph.getNodeAttribute(key, "label")));
      button.appendChild(el("span", key, "url"));
      button.addEventListener("click", function () { choose(key); });
      li.appendChild(button);
      results.appendChild(li);
    });
    if (input.value.trim() && !keys.length) results.appendChild(el("li", "nothing found", "note"));
    results.hidden = !input.value.trim();
    return keys;
  }
  function choose(key) {
    results.hidden = true;
    select(key);
  }
  input.addEventListener("input", showResults);
  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter") {
      var keys = showResults();
      if (keys.length) choose(keys[0]);
    } else if (event.key === "Escape") {
      input.value = "";
      results.hidden = true;
    }
  });

  // -- ForceAtlas2, a slice of iterations per frame ----------------------------------------------
  var layout = { running: false, iterations: 0, maxIterations: graph.order > 5000 ? 250 : 500, done: false };
  var matrices = null;
  var settings = Object.assign({}, ForceAtlas2.defaults, ForceAtlas2.inferSettings(graph), {
    barnesHutOptimize: graph.order > 1000,
  });
  function edgeWeight(edge, attr) { return attr.weight || 1; }
  function layoutStatus() {
    $("layout-status").textContent = "ForceAtlas2: " + fmt(layout.iterations) + " iterations" +
      (layout.done ? ", done" : layout.running ? ", running" : ", stopped");
    $("layout-toggle").textContent = layout.running ? "Stop" : layout.done ? "Run again" : "Resume";
  }
  // The layout runs in slices of 30 ms on the main thread, yielding between them (a message to itself:
  // no timer clamping), so input is handled as it comes. It does not wait for frames: on software GL
  // (SwiftShader, a VM without GPU) a frame can take a second. The new positions go to the graph (and
  // sigma redraws) at most every ``assignEvery`` ms: three times what the last redraw held the page up,
  // so that drawing takes at most a quarter of the time, whatever the machine.
  var lastAssign = 0, assignEvery = 50, sliceEnd = 0;
  var channel = new MessageChannel();
  channel.port1.onmessage = step;
  function step() {
    if (!layout.running) return;
    var began = performance.now();
    if (sliceEnd && began - sliceEnd > 20) assignEvery = Math.min(5000, Math.max(assignEvery, 3 * (began - sliceEnd)));
    do {
      ForceAtlas2.iterate(settings, matrices.nodes, matrices.edges);
      layout.iterations++;
    } while (performance.now() - began < 30 && layout.iterations < layout.maxIterations);
    var finished = layout.iterations >= layout.maxIterations;
    if (finished || performance.now() - lastAssign >= assignEvery) {
      ForceAtlas2.assignLayoutChanges(graph, matrices.nodes, null);
      lastAssign = performance.now();
    }
    if (finished) {
      layout.running = false;
      layout.done = true;
      timings.laidOut = performance.now();
    } else {
      channel.port2.postMessage(null);
    }
    layoutStatus();
    sliceEnd = performance.now();
  }
  function startLayout() {
    if (graph.order < 2) { layout.done = true; layoutStatus(); return; }
    if (layout.done) { layout.done = false; layout.iterations = 0; }
    matrices = ForceAtlas2.graphToByteArrays(graph, edgeWeight);
    layout.running = true;
    sliceEnd = 0;
    layoutStatus();
    channel.port2.postMessage(null);
  }
  function stopLayout() { layout.running = false; layoutStatus(); }
  $("layout-toggle").addEventListener("click", function () { if (layout.running) stopLayout(); else startLayout(); });
  startLayout();

  window.viewer = {
    graph: graph, renderer: renderer, data: data, state: state, layout: layout, timings: timings,
    large: large, frozen: frozen, moves: moves,
    select: select, deselect: deselect, search: search, stopLayout: stopLayout, startLayout: startLayout,
  };
})();
