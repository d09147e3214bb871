// hit's HTML report: draws one run, or two compared (A then B), from the view model embedded in
// the page (the JSON element "hit-model"; docs/results.md describes it). Charts are dygraphs,
// embedded before this script. Every string from the model is put in the page as text
// (textContent), never as markup: URLs and header values are typed by users.
//
// After drawing, the page checks its own charts: each chart's canvases must hold coloured pixels
// (a series, not only a grid), and the result is written on <body>: data-charts (charts made),
// data-drawn (charts with a series on screen), data-blank (the ids of the others), data-errors
// (uncaught exceptions and console.error calls) and data-ready. The Chromium test reads them from
// the dumped DOM; a person never sees them.
"use strict";

(function () {
  const body = document.body;
  const errors = [];
  function recordError(message) {
    errors.push(String(message).replace(/\s+/g, " ").slice(0, 500));
    body.dataset.errors = errors.join(" | ");
  }
  body.dataset.errors = "";
  window.addEventListener("error", (e) => {
    recordError("uncaught: " + (e.error && e.error.stack ? e.error.stack : e.message));
  });
  window.addEventListener("unhandledrejection", (e) => recordError("unhandled rejection: " + e.reason));
  const consoleError = console.error.bind(console);
  console.error = function (...args) {
    recordError("console.error: " + args.map(String).join(" "));
    consoleError(...args);
  };

  // Run A solid, run B dashed, in the same colour per measure: the eye pairs p99 with p99.
  const colours = {p50: "#2563eb", p90: "#16a34a", p99: "#ea580c", max: "#dc2626",
                   rps: "#2563eb", errors: "#dc2626", share: "#2563eb", curve: "#7c3aed"};
  const runColour = ["#2563eb", "#ea580c"];
  const dashed = [7, 3];
  const hint = "Drag across a chart to zoom in, shift-drag to pan, double-click to zoom out.";

  // ---- Formatting -------------------------------------------------------------------------

  const integer = new Intl.NumberFormat("en-US", {maximumFractionDigits: 0});
  const oneDecimal = new Intl.NumberFormat("en-US", {maximumFractionDigits: 1});

  function isNum(v) {
    return typeof v === "number" && Number.isFinite(v);
  }
  function fmtCount(v) {
    return isNum(v) ? integer.format(v) : "–";
  }
  function fmtRate(v) {
    return isNum(v) ? (v >= 100 ? integer.format(v) : oneDecimal.format(v)) + "/s" : "–";
  }
  function fmtRatio(v) {
    if (!isNum(v)) return "–";
    const pct = v * 100;
    return (pct === 100 || pct === 0 ? pct.toFixed(0) : pct.toFixed(2)) + "%";
  }
  function sig3(v) {
    return String(Number(v.toPrecision(3)));
  }
  function fmtDuration(s) {
    if (!isNum(s)) return "–";
    const a = Math.abs(s);
    if (a === 0) return "0";
    if (a < 1e-6) return sig3(s * 1e9) + "ns";
    if (a < 1e-3) return sig3(s * 1e6) + "µs";
    if (a < 1) return sig3(s * 1e3) + "ms";
    if (a < 60) return sig3(s) + "s";
    const m = Math.floor(a / 60);
    return (s < 0 ? "-" : "") + m + "m" + Math.round(a - m * 60) + "s";
  }
  function fmtBytes(b) {
    if (!isNum(b)) return "–";
    const units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let u = 0;
    while (b >= 1024 && u < units.length - 1) {
      b /= 1024;
      ++u;
    }
    return (u === 0 ? b.toFixed(0) : b.toFixed(2)) + " " + units[u];
  }
  function fmtPercentile(p) {
    let d = 0;
    while (d < 6 && Math.abs(p - Number(p.toFixed(d))) > 1e-9) ++d;
    return p.toFixed(d) + "%";
  }
  function fmtStart(unixS) {
    if (!isNum(unixS) || Math.abs(unixS) > 8.64e12) return "–";  // beyond Date's range
    return new Date(unixS * 1000).toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");
  }

  // ---- Building the page (text only) ------------------------------------------------------

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") e.className = v;
      else e.setAttribute(k, v);
    }
    for (const c of children) {
      if (c === null || c === undefined) continue;
      e.append(typeof c === "string" ? document.createTextNode(c) : c);
    }
    return e;
  }
  function section(id, title) {
    const s = el("section", {id: id}, el("h2", {}, title));
    document.getElementById("report").append(s);
    return s;
  }
  function note(text) {
    return el("p", {class: "note"}, text);
  }
  function table(head, rows, options) {
    const t = el("table", {class: (options && options.cls) || ""});
    t.append(el("thead", {}, el("tr", {}, ...head.map((h) => el("th", {}, h)))));
    const tb = el("tbody");
    for (const r of rows) {
      const tr = el("tr", r.cls ? {class: r.cls} : {});
      for (const c of r.cells || r) tr.append(c instanceof Node ? el("td", {}, c) : el("td", {}, String(c)));
      tb.append(tr);
    }
    t.append(tb);
    return t;
  }
  function runTag(i, label) {
    return el("span", {class: "run-tag run-" + i}, label);
  }

  // ---- The model, read defensively: any optional part may be missing ----------------------

  function readModel() {
    const text = document.getElementById("hit-model").textContent;
    const m = JSON.parse(text);
    return m && Array.isArray(m.runs) && m.runs.length > 0 ? m : null;
  }
  function arr(v) {
    return Array.isArray(v) ? v : [];
  }
  function obj(v) {
    return v && typeof v === "object" && !Array.isArray(v) ? v : {};
  }
  function timelineOf(run) {
    const t = obj(run.timeline);
    return {interval: isNum(t.interval_s) && t.interval_s > 0 ? t.interval_s : 1, t: arr(t.t_s),
            t_raw: t, coarsened: t.coarsened === true};
  }

  // ---- Charts -----------------------------------------------------------------------------

  const charts = [];  // {id, graph, box}

  // Rows for dygraphs from series that each have their own x values: the union of the x values,
  // null where a series has no point there (joined over by connectSeparatedPoints), NaN where the
  // model says null (an interval without responses: a gap in the line).
  function mergeSeries(series) {
    const xs = new Set();
    const maps = series.map((s) => {
      const m = new Map();
      s.x.forEach((x, i) => {
        if (!isNum(x)) return;
        xs.add(x);
        const y = s.y[i];
        m.set(x, isNum(y) ? y : NaN);
      });
      return m;
    });
    return [...xs].sort((a, b) => a - b).map((x) => [x, ...maps.map((m) => (m.has(x) ? m.get(x) : null))]);
  }

  function chartBox(parent, id, title, subtitle) {
    const box = el("figure", {class: "chart", id: id});
    box.append(el("figcaption", {}, el("strong", {}, title), subtitle ? " " + subtitle : ""));
    const graph = el("div", {class: "graph"});
    const legend = el("div", {class: "legend"});
    box.append(graph, legend);
    parent.append(box);
    return {box, graph, legend};
  }

  // One chart, or a sentence when no series has a value. A chart that throws says so in its own
  // box; the others still draw.
  function makeChart(parent, id, title, subtitle, data, options) {
    if (!data.some((row) => row.slice(1).some(isNum))) {
      parent.append(note(title + ": no data to draw."));
      return;
    }
    const {box, graph, legend} = chartBox(parent, id, title, subtitle);
    const toggle = options.logToggle;  // ours, not a dygraphs option: false, "off" or "on"
    delete options.logToggle;
    if (toggle === "on") {
      options.includeZero = false;
      options.axes.y = Object.assign({}, options.axes.y, {logscale: true});
    }
    try {
      // A line needs two points: with fewer rows, dots keep the chart from being blank.
      if (data.length < 3) options.drawPoints = true;
      const g = new Dygraph(graph, data, Object.assign({
        pointSize: 3,
        labelsDiv: legend,
        legend: "always",
        labelsSeparateLines: false,
        strokeWidth: 1.6,
        gridLineColor: "#e5e7eb",
        axisLineColor: "#9ca3af",
        axisLabelFontSize: 12,
        connectSeparatedPoints: true,
        animatedZooms: false,
        yRangePad: 6,  // pixels: the highest point is not cut by the top edge
        highlightSeriesOpts: null,
      }, options));
      charts.push({id, graph: g, box});
      if (toggle) logToggle(box.querySelector("figcaption"), g, toggle === "on");
    } catch (e) {
      box.append(note("This chart could not be drawn: " + e.message));
      charts.push({id, graph: null, box});
      recordError("chart " + id + ": " + (e.stack || e));
    }
  }

  // Latencies often span decades (p50 against max): a log scale shows them all at once.
  function logToggle(caption, g, on) {
    const box = el("input", {type: "checkbox"});
    box.checked = on;
    box.addEventListener("change", () =>
        g.updateOptions({includeZero: !box.checked, axes: {y: {logscale: box.checked}}}));
    caption.append(el("label", {class: "toggle"}, box, " log scale"));
  }

  const durationAxis = {
    valueFormatter: (v) => fmtDuration(v),
    axisLabelFormatter: (v) => fmtDuration(v),
    axisLabelWidth: 60,
  };
  const secondsAxis = {
    valueFormatter: (v) => "t = " + sig3(v) + "s",
    axisLabelFormatter: (v) => sig3(v) + "s",
  };

  function timelineCharts(parent, model) {
    const runs = model.runs;
    const lines = runs.map(timelineOf);
    const usable = lines.map((l) => l.t.length > 0);
    runs.forEach((run, i) => {
      if (!usable[i])
        parent.append(note((runs.length > 1 ? "Run " + "AB"[i] + ": " : "") +
                           "no timeline — the run was shorter than one interval, or sent nothing."));
      else if (lines[i].coarsened)
        parent.append(note((runs.length > 1 ? "Run " + "AB"[i] + ": " : "") + "intervals were merged to " +
                           fmtDuration(lines[i].interval) + " each, to bound memory."));
    });
    if (!usable.some(Boolean)) return;
    const prefix = (i) => (runs.length > 1 ? "AB"[i] + " " : "");
    const shown = runs.map((_, i) => i).filter((i) => usable[i]);

    // Latency percentiles per interval.
    const lat = [];
    const latLabels = ["t"];
    const latSeries = {};
    for (const i of shown) {
      for (const k of ["p50", "p90", "p99", "max"]) {
        lat.push({x: lines[i].t, y: arr(lines[i].t_raw[k + "_s"])});
        const name = prefix(i) + k;
        latLabels.push(name);
        latSeries[name] = {color: colours[k], strokePattern: i === 1 ? dashed : null};
      }
    }
    // When the slowest interval's max dwarfs the typical p50 (a stall), a linear axis flattens
    // p50 and p90 onto zero: start on a log scale then.
    const values = (k) => shown.flatMap((i) => arr(lines[i].t_raw[k + "_s"]).filter((v) => isNum(v) && v > 0));
    const p50s = values("p50").sort((a, b) => a - b);
    const top = Math.max(0, ...values("max"));
    const spread = p50s.length ? top / p50s[Math.floor(p50s.length / 2)] : 0;
    makeChart(parent, "chart-latency", "Latency over time",
              "(p50, p90, p99 and max of the responses completed in each interval" +
                  (runs.length > 1 ? "; B dashed, x from each run's start)" : ")"),
              mergeSeries(lat),
              {labels: latLabels, series: latSeries, xlabel: "seconds since the start",
               ylabel: "latency", axes: {x: secondsAxis, y: durationAxis}, includeZero: true,
               logToggle: spread > 50 ? "on" : "off"});

    // Throughput.
    const rps = [];
    const rpsLabels = ["t"];
    const rpsSeries = {};
    for (const i of shown) {
      const t = lines[i].t_raw;
      const y = Array.isArray(t.rps) ? t.rps : arr(t.requests).map((n) => n / lines[i].interval);
      rps.push({x: lines[i].t, y});
      const name = prefix(i) + "requests/s";
      rpsLabels.push(name);
      rpsSeries[name] = {color: runColour[i], strokePattern: i === 1 ? dashed : null};
    }
    const count = {valueFormatter: (v) => oneDecimal.format(v), axisLabelFormatter: (v) => integer.format(v)};
    makeChart(parent, "chart-throughput", "Throughput",
              "(requests completed per second: responses and errors)", mergeSeries(rps),
              {labels: rpsLabels, series: rpsSeries, xlabel: "seconds since the start",
               ylabel: "requests/s", axes: {x: secondsAxis, y: count}, includeZero: true,
               fillGraph: runs.length === 1});

    // Errors: a chart only when there were some, else a sentence.
    const anyErrors = shown.some((i) => arr(lines[i].t_raw.errors).some((n) => isNum(n) && n > 0));
    if (!anyErrors) {
      parent.append(note("Errors over time: none — no request failed without a response."));
      return;
    }
    const err = [];
    const errLabels = ["t"];
    const errSeries = {};
    for (const i of shown) {
      err.push({x: lines[i].t, y: arr(lines[i].t_raw.errors).map((n) => (isNum(n) ? n / lines[i].interval : n))});
      const name = prefix(i) + "errors/s";
      errLabels.push(name);
      errSeries[name] = {color: i === 0 ? colours.errors : "#9333ea", strokePattern: i === 1 ? dashed : null};
    }
    makeChart(parent, "chart-errors", "Errors over time",
              "(requests per second that ended without a response: timeouts, resets, refused…)",
              mergeSeries(err),
              {labels: errLabels, series: errSeries, xlabel: "seconds since the start",
               ylabel: "errors/s", axes: {x: secondsAxis, y: count}, includeZero: true, stepPlot: true,
               fillGraph: runs.length === 1});
  }

  // The histogram's buckets (HdrHistogram-like, finer than a screen shows) regrouped into bins of
  // equal width on the log axis, `perDecade` to a decade, so every bar is as wide as the next
  // and two runs share their bins. Heights are shares of the run's responses: runs of different
  // sizes compare.
  function distributionCharts(parent, model) {
    const runs = model.runs;
    const perDecade = 20;
    const binsOf = runs.map((run) => {
      const bins = new Map();
      let total = 0;
      for (const b of arr(run.distribution)) {
        if (!Array.isArray(b) || !isNum(b[0]) || !isNum(b[1]) || !isNum(b[2]) || b[2] <= 0) continue;
        const lo = Math.max(b[0], 1e-9);
        const hi = Math.max(b[1], lo);
        const k = Math.floor(Math.log10(Math.sqrt(lo * hi)) * perDecade + 1e-9);
        bins.set(k, (bins.get(k) || 0) + b[2]);
        total += b[2];
      }
      return {bins, total};
    });
    const row = el("div", {class: "pair"});
    parent.append(row);
    const prefix = (i) => (runs.length > 1 ? "AB"[i] + " " : "");
    const withData = runs.map((_, i) => i).filter((i) => binsOf[i].total > 0);
    if (withData.length === 0) {
      row.append(note("Latency distribution: no responses, so no latencies to show."));
    } else {
      let kmin = Infinity;
      let kmax = -Infinity;
      for (const i of withData) {
        for (const k of binsOf[i].bins.keys()) {
          kmin = Math.min(kmin, k);
          kmax = Math.max(kmax, k);
        }
      }
      const data = [];
      for (let k = kmin; k <= kmax + 1; ++k) {
        data.push([Math.pow(10, k / perDecade),
                   ...withData.map((i) => (100 * (binsOf[i].bins.get(k) || 0)) / binsOf[i].total)]);
      }
      const labels = ["latency", ...withData.map((i) => prefix(i) + "% of responses")];
      const series = {};
      withData.forEach((i, j) => {
        series[labels[j + 1]] = {color: runColour[i], strokePattern: i === 1 ? dashed : null};
      });
      const step = Math.pow(10, 1 / perDecade);
      makeChart(row, "chart-histogram", "Latency distribution",
                "(share of responses per latency bin, log scale)", data,
                {labels, series, stepPlot: true, fillGraph: true, fillAlpha: runs.length > 1 ? 0.15 : 0.35,
                 xlabel: "latency", ylabel: "% of responses",
                 axes: {x: {logscale: true, axisLabelFormatter: (v) => fmtDuration(v),
                            valueFormatter: (v) => fmtDuration(v) + " – " + fmtDuration(v * step),
                            pixelsPerLabel: 60},
                        y: {valueFormatter: (v) => v.toFixed(2) + "%", axisLabelFormatter: (v) => v + "%"}},
                 includeZero: true});
    }

    // The percentile curve, as HdrHistogram's plotter draws it: x is 1/(1-p) on a log scale, so
    // 90%, 99%, 99.9% are evenly spaced and the tail gets the room it deserves.
    const curves = runs.map((run) =>
        arr(run.percentile_curve).filter((c) => Array.isArray(c) && isNum(c[0]) && isNum(c[1]) && c[0] >= 0 && c[0] < 100));
    const withCurve = runs.map((_, i) => i).filter((i) => curves[i].length > 0);
    if (withCurve.length === 0) {
      row.append(note("Percentile curve: no responses, so no percentiles to show."));
      return;
    }
    const toX = (p) => 1 / (1 - p / 100);
    // dygraphs ignores connectSeparatedPoints on a log axis: each curve gets a point at every x
    // of the others, interpolated (in log x) within its own range, so no line breaks.
    const xs = [...new Set(withCurve.flatMap((i) => curves[i].map((c) => toX(c[0]))))].sort((a, b) => a - b);
    const at = (curve, x) => {
      const pts = curve.map((c) => [Math.log10(toX(c[0])), c[1]]);
      const lx = Math.log10(x);
      for (let j = 0; j < pts.length; ++j) {
        if (Math.abs(pts[j][0] - lx) < 1e-12) return pts[j][1];
        if (j > 0 && pts[j - 1][0] < lx && lx < pts[j][0]) {
          const f = (lx - pts[j - 1][0]) / (pts[j][0] - pts[j - 1][0]);
          return pts[j - 1][1] + f * (pts[j][1] - pts[j - 1][1]);
        }
      }
      return null;
    };
    const data = xs.map((x) => [x, ...withCurve.map((i) => at(curves[i], x))]);
    const labels = ["percentile", ...withCurve.map((i) => prefix(i) + "latency")];
    const series = {};
    withCurve.forEach((i, j) => {
      series[labels[j + 1]] = {color: runs.length > 1 ? runColour[i] : colours.curve,
                               strokePattern: i === 1 ? dashed : null, drawPoints: true, pointSize: 2};
    });
    const ticker = (min, max) => {
      const ticks = [];
      const marks = [[1, "0%"], [2, "50%"]];
      for (let n = 1; n <= 9; ++n) marks.push([Math.pow(10, n), fmtPercentile(100 - 100 / Math.pow(10, n))]);
      for (const [v, label] of marks) if (v >= min * 0.999 && v <= max * 1.001) ticks.push({v, label});
      return ticks;
    };
    makeChart(row, "chart-percentiles", "Latency by percentile",
              "(the latency under which that share of responses completed)", data,
              {labels, series, xlabel: "percentile", ylabel: "latency", includeZero: true,
               axes: {x: {logscale: true, ticker, valueFormatter: (x) => fmtPercentile(100 - 100 / x)},
                      y: durationAxis},
               logToggle: "off"});
  }

  // ---- Sections -----------------------------------------------------------------------------

  function header(model) {
    const runs = model.runs;
    const h = el("header", {});
    h.append(el("h1", {}, String(model.title || "hit report")));
    const meta = el("p", {class: "meta"});
    runs.forEach((run, i) => {
      const s = obj(run.summary);
      meta.append(el("span", {class: "run"}, runs.length > 1 ? runTag(i, "AB"[i]) : null,
                     el("strong", {}, String(run.label || "run")),
                     " started " + fmtStart(run.start_unix_s) +
                         (isNum(s.duration_s) ? ", ran " + fmtDuration(s.duration_s) : "")));
    });
    if (model.generated_by) meta.append(el("span", {class: "by"}, "report by " + String(model.generated_by)));
    h.append(meta);
    document.getElementById("report").append(h);

    // Key figures: direction says which way is better, for the colour of a difference.
    const latency = (k) => (s) => obj(s.latency_s)[k];
    const figures = [
      {name: "Requests", get: (s) => s.requests, fmt: fmtCount, better: 0},
      {name: "Success ratio", get: (s) => s.success_ratio, fmt: fmtRatio, better: 1, points: true},
      {name: "Throughput", get: (s) => s.rps, fmt: fmtRate, better: 1},
      {name: "p50 latency", get: latency("p50"), fmt: fmtDuration, better: -1},
      {name: "p99 latency", get: latency("p99"), fmt: fmtDuration, better: -1},
      {name: "Errors", get: (s) => s.errors, fmt: fmtCount, better: -1},
    ];
    const grid = el("div", {class: "figures"});
    for (const f of figures) {
      const values = runs.map((r) => f.get(obj(r.summary)));
      const card = el("div", {class: "figure"}, el("div", {class: "figure-name"}, f.name));
      if (runs.length === 1) {
        card.append(el("div", {class: "figure-value"}, f.fmt(values[0])));
      } else {
        values.forEach((v, i) => card.append(el("div", {class: "figure-row"}, runTag(i, "AB"[i]),
                                                 el("span", {class: "figure-value"}, f.fmt(v)))));
        card.append(difference(values[0], values[1], f));
      }
      grid.append(card);
    }
    h.append(grid);
  }

  function difference(a, b, f) {
    const d = el("div", {class: "figure-diff"});
    if (!isNum(a) || !isNum(b)) {
      d.append("Δ –");
      return d;
    }
    const delta = b - a;
    const sign = delta > 0 ? "+" : delta < 0 ? "−" : "±";
    let abs;
    if (f.points) abs = sign + Math.abs(delta * 100).toFixed(2) + " pp";
    else if (f.fmt === fmtDuration) abs = sign + fmtDuration(Math.abs(delta));
    else if (f.fmt === fmtRate) abs = sign + fmtRate(Math.abs(delta));
    else abs = sign + fmtCount(Math.abs(delta));
    const rel = a !== 0 ? " (" + sign + sig3(Math.abs((delta / a) * 100)) + "%)" : "";
    d.append("Δ B−A " + abs + rel);
    if (delta !== 0 && f.better !== 0) d.classList.add(Math.sign(delta) === f.better ? "better" : "worse");
    return d;
  }

  // A counts table (status codes, errors by kind): one row per key, per run its count and share.
  function countsTable(runs, pick, keyName, shareOf) {
    const keys = [];
    for (const r of runs) for (const k of Object.keys(obj(pick(r)))) if (!keys.includes(k)) keys.push(k);
    keys.sort((a, b) => a.localeCompare(b, "en", {numeric: true}));
    const head = [keyName];
    runs.forEach((r, i) => head.push((runs.length > 1 ? "AB"[i] + " " : "") + "count",
                                     (runs.length > 1 ? "AB"[i] + " " : "") + shareOf));
    const rows = keys.map((k) => {
      const cells = [k];
      for (const r of runs) {
        const n = obj(pick(r))[k];
        const total = obj(r.summary).requests;
        cells.push(fmtCount(isNum(n) ? n : 0),
                   isNum(n) && isNum(total) && total > 0 ? fmtRatio(n / total) : "–");
      }
      return cells;
    });
    return rows.length ? table(head, rows, {cls: "numbers"}) : null;
  }

  function statusSection(model) {
    const s = section("statuses", "Status codes and errors");
    const pair = el("div", {class: "pair tables"});
    s.append(pair);
    const codes = countsTable(model.runs, (r) => r.status_codes, "status", "% of requests");
    const left = el("div", {}, el("h3", {}, "Status codes"));
    left.append(codes || note("No responses: no status codes."));
    const kinds = countsTable(model.runs, (r) => r.errors_by_kind, "error kind", "% of requests");
    const right = el("div", {}, el("h3", {}, "Errors by kind"));
    right.append(kinds || note("No errors: every request got a response."));
    pair.append(left, right);
  }

  function breakdownSection(model) {
    const s = section("breakdown", "Timing breakdown");
    s.append(note("Where a request's time goes before its response: the host's DNS lookup (once, " +
                  "before the run), each connection's TCP connect and TLS handshake, and each " +
                  "response's time to first byte (from the send)."));
    const pair = el("div", {class: "pair tables"});
    s.append(pair);
    model.runs.forEach((run, i) => {
      const b = obj(run.breakdown);
      const box = el("div", {});
      if (model.runs.length > 1) box.append(el("h3", {}, runTag(i, "AB"[i]), String(run.label || "")));
      const rows = arr(b.rows).filter((r) => r && isNum(r.count) && r.count > 0).map((r) =>
          [String(r.name), fmtDuration(r.p50_s), fmtDuration(r.p90_s), fmtDuration(r.p99_s),
           fmtDuration(r.max_s), fmtCount(r.count)]);
      if (isNum(b.dns_s) && b.dns_s > 0) box.append(el("p", {class: "dns"}, "DNS lookup: " + fmtDuration(b.dns_s) + " (once, before the run)"));
      box.append(rows.length ? table(["", "p50", "p90", "p99", "max", "count"], rows, {cls: "numbers"})
                             : note("Nothing measured."));
      pair.append(box);
    });
  }

  function configSection(model) {
    const s = section("config", "Configuration");
    const runs = model.runs;
    const keys = [];
    const values = runs.map(() => new Map());
    runs.forEach((r, i) => {
      // Ordered [key, value] pairs; an object's entries are taken too.
      const pairs = Array.isArray(r.config) ? r.config : Object.entries(obj(r.config));
      for (const kv of pairs) {
        if (!Array.isArray(kv) || kv.length < 2) continue;
        const k = String(kv[0]);
        if (!keys.includes(k)) keys.push(k);
        values[i].set(k, String(kv[1]));
      }
    });
    if (keys.length === 0) {
      s.append(note("No configuration recorded."));
      return;
    }
    const head = ["setting", ...runs.map((r, i) => (runs.length > 1 ? "AB"[i] + ": " : "") + String(r.label || "value"))];
    const rows = keys.map((k) => {
      const cells = [k, ...values.map((m) => (m.has(k) ? m.get(k) : "–"))];
      const differs = runs.length > 1 && cells[1] !== cells[2];
      return {cells, cls: differs ? "differs" : ""};
    });
    s.append(table(head, rows, {cls: "config"}));
    if (runs.length > 1 && rows.some((r) => r.cls)) s.append(note("Highlighted: settings that differ between A and B."));
  }

  function thresholdSection(model) {
    const runs = model.runs;
    if (!runs.some((r) => Array.isArray(r.thresholds) && r.thresholds.length > 0)) return;
    const s = section("thresholds", "Thresholds");
    const exprs = [];
    const byRun = runs.map(() => new Map());
    runs.forEach((r, i) => {
      for (const t of arr(r.thresholds)) {
        if (!t) continue;
        const e = String(t.expression);
        if (!exprs.includes(e)) exprs.push(e);
        byRun[i].set(e, t);
      }
    });
    const head = ["threshold"];
    runs.forEach((_, i) => head.push((runs.length > 1 ? "AB"[i] + " " : "") + "observed",
                                     (runs.length > 1 ? "AB"[i] + " " : "") + "result"));
    const rows = exprs.map((e) => {
      const cells = [e];
      for (const m of byRun) {
        const t = m.get(e);
        if (!t) {
          cells.push("–", "–");
          continue;
        }
        cells.push(String(t.observed === undefined ? "" : t.observed),
                   el("span", {class: t.pass ? "pass" : "fail"}, t.pass ? "PASS" : "FAIL"));
      }
      return cells;
    });
    s.append(table(head, rows, {cls: "thresholds"}));
  }

  // ---- Self-check ---------------------------------------------------------------------------

  // Pixels of a saturated colour: a series drawn. Grid and axes are grey, so a chart whose
  // lines failed to draw has none; a single dot (a one-interval run) has about 20.
  function inkOf(box) {
    let n = 0;
    for (const c of box.querySelectorAll("canvas")) {
      if (!c.width || !c.height) continue;
      const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
      for (let i = 0; i < d.length; i += 4) {
        if (d[i + 3] < 64) continue;
        const hi = Math.max(d[i], d[i + 1], d[i + 2]);
        const lo = Math.min(d[i], d[i + 1], d[i + 2]);
        if (hi - lo > 60) ++n;
      }
    }
    return n;
  }

  function selfCheck() {
    const blank = [];
    for (const c of charts) {
      const ink = c.graph ? inkOf(c.box) : 0;
      c.box.dataset.ink = String(ink);
      if (ink < 5) blank.push(c.id);
    }
    body.dataset.charts = String(charts.length);
    body.dataset.drawn = String(charts.length - blank.length);
    body.dataset.blank = blank.join(" ");
  }

  function main() {
    if (typeof Dygraph !== "function") throw new Error("dygraphs did not load");
    const model = readModel();
    const report = document.getElementById("report");
    report.textContent = "";
    if (!model) {
      report.append(el("h1", {}, "hit report"), note("This report holds no run."));
      selfCheck();
      return;
    }
    if (model.runs.length > 1) body.classList.add("compare");
    header(model);
    const time = section("timeline", "Over time");
    time.append(el("p", {class: "hint"}, hint));
    timelineCharts(time, model);
    const dist = section("distribution", "Latency distribution");
    distributionCharts(dist, model);
    statusSection(model);
    breakdownSection(model);
    thresholdSection(model);
    configSection(model);
    selfCheck();
  }

  try {
    main();
  } finally {
    body.dataset.ready = "1";
  }
})();
