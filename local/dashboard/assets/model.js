// Draws the latest drift report's PSI per feature as bars, with the warn and alarm thresholds.
(() => {
  const source = document.getElementById('drift-data');
  const target = document.getElementById('drift-chart');
  if (!source || !target) return;
  const { features, thresholds } = JSON.parse(source.textContent);
  const names = features.map((f) => f.feature);
  const xs = features.map((_, i) => i);
  const lines = [
    { value: thresholds.psiWarn, color: '#ff7f0e' },
    { value: thresholds.psiAlarm, color: '#d62728' },
  ];
  const opts = {
    width: Math.max(300, Math.floor(target.getBoundingClientRect().width)),
    height: 240,
    scales: {
      x: { time: false, range: [-0.6, Math.max(0, features.length - 0.4)] },
      y: { range: (_u, _min, max) => [0, Math.max(max, thresholds.psiAlarm) * 1.1] },
    },
    axes: [
      { values: (_u, splits) => splits.map((v) => (Number.isInteger(v) ? (names[v] ?? '') : '')) },
      { label: 'PSI', size: 56 },
    ],
    series: [
      {},
      {
        label: 'PSI',
        fill: '#1f77b488',
        stroke: '#1f77b4',
        paths: uPlot.paths.bars({ size: [0.6, 80] }),
        points: { show: false },
      },
    ],
    plugins: [
      {
        hooks: {
          draw: (u) => {
            for (const line of lines) {
              const y = u.valToPos(line.value, 'y', true);
              u.ctx.save();
              u.ctx.strokeStyle = line.color;
              u.ctx.setLineDash([6, 4]);
              u.ctx.beginPath();
              u.ctx.moveTo(u.bbox.left, y);
              u.ctx.lineTo(u.bbox.left + u.bbox.width, y);
              u.ctx.stroke();
              u.ctx.restore();
            }
          },
        },
      },
    ],
  };
  new uPlot(opts, [xs, features.map((f) => f.psi)], target);
  target.dataset.bars = String(features.length);
})();
