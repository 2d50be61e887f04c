// Draws the twin's CloudWatch dashboard from /dashboard/data: each widget at its grid position, metric
// time series with uPlot, single values as numbers, alarm widgets as one cell per alarm, text widgets as
// the HTML the server rendered from escaped markdown. Names and labels are set as text, never as markup.
(() => {
  const COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f'];
  const grid = document.getElementById('grid');

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function format(n) {
    if (n === null || n === undefined) return '-';
    const abs = Math.abs(n);
    if (abs !== 0 && (abs < 0.001 || abs >= 1e6)) return n.toExponential(2);
    return String(Math.round(n * 1000) / 1000);
  }

  function annotationsPlugin(annotations) {
    return {
      hooks: {
        draw: (u) => {
          const ctx = u.ctx;
          for (const a of annotations) {
            const y = u.valToPos(a.value, 'y', true);
            if (!Number.isFinite(y) || y < u.bbox.top || y > u.bbox.top + u.bbox.height) continue;
            ctx.save();
            ctx.strokeStyle = a.color || '#879596';
            ctx.setLineDash([6, 4]);
            ctx.beginPath();
            ctx.moveTo(u.bbox.left, y);
            ctx.lineTo(u.bbox.left + u.bbox.width, y);
            ctx.stroke();
            ctx.restore();
          }
        },
      },
    };
  }

  function timeSeries(w, body) {
    const hasRight = w.series.some((s) => s.yAxis === 'right');
    const series = [{}].concat(
      w.series.map((s, i) => ({
        label: s.error ? `${s.label} (${s.error})` : s.label,
        stroke: s.color || COLORS[i % COLORS.length],
        width: 1.5,
        scale: s.yAxis === 'right' ? 'y2' : 'y',
        spanGaps: true,
        points: { show: true, size: 5 },
      })),
    );
    const axes = [{}, { scale: 'y', size: 48 }];
    if (hasRight) axes.push({ scale: 'y2', side: 1, size: 48, grid: { show: false } });
    const rect = body.getBoundingClientRect();
    const width = Math.max(200, Math.floor(rect.width));
    const opts = {
      width,
      height: Math.max(100, Math.floor(rect.height) - 30),
      series,
      axes,
      scales: { x: { time: true } },
      legend: { show: true, live: false },
      plugins: [annotationsPlugin(w.annotations)],
    };
    const data = [w.timestamps].concat(w.series.map((s) => s.values));
    // uPlot draws on a canvas; the chart is in the page as soon as the constructor returns. The plot
    // then gives the legend the height it takes, so that both fit the widget.
    // A long legend scrolls rather than squeezing the plot under 60% of the widget.
    const u = new uPlot(opts, data, body);
    const legend = body.querySelector('.u-legend');
    const legendHeight = legend ? legend.getBoundingClientRect().height : 0;
    const height = Math.floor(Math.max(rect.height * 0.6, rect.height - legendHeight - 4));
    u.setSize({ width, height });
    if (legend) {
      legend.style.maxHeight = `${Math.max(0, Math.floor(rect.height - height - 4))}px`;
      legend.style.overflowY = 'auto';
    }
  }

  function singleValue(w, body) {
    const box = el('div', 'single-values');
    for (const s of w.series) {
      const latest = [...s.values].reverse().find((v) => v !== null);
      const cell = el('div', 'single-value');
      cell.append(el('div', 'number', format(latest)), el('div', 'label', s.label));
      box.append(cell);
    }
    body.append(box);
  }

  function alarms(w, body) {
    const box = el('div', 'alarms');
    for (const a of w.alarms) {
      const cell = el('div', 'alarm-cell');
      cell.dataset.state = a.state;
      cell.dataset.alarm = a.name;
      if (a.reason) cell.title = a.reason;
      cell.append(el('span', 'state', a.state), el('span', 'name', a.name));
      box.append(cell);
    }
    body.append(box);
  }

  function render(data) {
    grid.replaceChildren();
    document.getElementById('range').textContent = `${data.from} to ${data.to}`;
    data.widgets.forEach((w, i) => {
      const box = el('section', 'widget');
      box.dataset.widgetType = w.type;
      box.dataset.widgetIndex = String(i);
      box.style.gridColumn = `${w.x + 1} / span ${w.width}`;
      box.style.gridRow = `${w.y + 1} / span ${w.height}`;
      const title = w.type === 'text' ? undefined : w.title || (w.type === 'unsupported' ? w.kind : '');
      if (title !== undefined) box.append(el('div', 'widget-title', title));
      const body = el('div', 'widget-body');
      box.append(body);
      grid.append(box);
      if (w.type === 'text') {
        body.classList.add('markdown');
        // The server rendered this HTML from escaped markdown (local/dashboard/markdown.ts).
        body.innerHTML = w.html;
      } else if (w.type === 'alarm') alarms(w, body);
      else if (w.type === 'metric') {
        const points = w.series.reduce((n, s) => n + s.values.filter((v) => v !== null).length, 0);
        box.dataset.points = String(points);
        box.dataset.view = w.view;
        if (w.view === 'singleValue') singleValue(w, body);
        else timeSeries(w, body);
      } else body.append(el('p', 'empty', `The twin does not draw "${w.kind}" widgets.`));
    });
    grid.dataset.loaded = 'true';
  }

  async function load() {
    const res = await fetch('/dashboard/data');
    if (!res.ok) {
      grid.replaceChildren(el('p', 'failed', `GET /dashboard/data: HTTP ${res.status} ${await res.text()}`));
      return;
    }
    render(await res.json());
  }

  load();
  setInterval(load, 30_000);
})();
