// Summarises a V8 .cpuprofile (node --cpu-prof) as a Markdown table: where the samples land
// (self time), per function and source location. V8 attributes builtins such as JSON.parse
// and JSON.stringify to the JavaScript function that calls them.
export function summariseProfile(profile, top = 15, title = '`--workers 1`') {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  let total = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = profile.timeDeltas[i] ?? 0;
    total += dt;
    const n = byId.get(profile.samples[i]);
    const f = n.callFrame;
    const where = f.url ? `${f.url.replace(/^file:\/\//, '').split('/').slice(-2).join('/')}:${f.lineNumber + 1}` : '';
    const key = `${f.functionName || '(anonymous)'}${where ? ` — ${where}` : ''}`;
    self.set(key, (self.get(key) ?? 0) + dt);
  }
  const idle = self.get('(idle)') ?? 0;
  const rows = [...self].sort((a, b) => b[1] - a[1]).slice(0, top);
  return [
    `${title}: ${(total / 1e6).toFixed(2)} s sampled${idle ? `, ${((100 * idle) / total).toFixed(0)} % idle` : ''}; top ${top} by self time:`,
    '',
    '| self ms | % | function — file:line |',
    '|---:|---:|---|',
    ...rows.map(([k, v]) => `| ${(v / 1000).toFixed(0)} | ${((100 * v) / total).toFixed(1)} | ${k.replace(/\|/g, '\\|')} |`),
  ].join('\n');
}
