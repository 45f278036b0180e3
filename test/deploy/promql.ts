// The metric names a PromQL expression reads, without a PromQL parser: drop what is not a name
// (strings, label matchers, ranges, grouping clauses, numbers with units), then every identifier that is
// not a function or aggregation call (followed by "(") and not a keyword is a metric name. Enough for the
// expressions of deploy/grafana and deploy/prometheus; promtool checks their syntax (test/deploy).
const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless', 'offset', 'inf', 'nan']);

export function metricNames(expr: string): string[] {
  const text = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = new Set<string>();
  for (const match of text.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*/g)) {
    const name = match[0];
    const before = text[match.index - 1];
    if (before !== undefined && /[0-9.]/.test(before)) continue; // 1e9, 0.5e3
    if (/^\s*\(/.test(text.slice(match.index + name.length))) continue; // a call
    if (KEYWORDS.has(name.toLowerCase())) continue;
    names.add(name);
  }
  return [...names];
}

/** Names a Prometheus exposition declares (# TYPE), histograms with their series suffixes. */
export function exportedNames(exposition: string): Set<string> {
  const names = new Set<string>();
  for (const line of exposition.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)/.exec(line);
    if (type !== null) {
      names.add(type[1]!);
      if (type[2] === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${type[1]}${suffix}`);
      if (type[2] === 'summary') for (const suffix of ['_sum', '_count']) names.add(`${type[1]}${suffix}`);
    } else if (line !== '' && !line.startsWith('#')) names.add(/^[^{\s]+/.exec(line)![0]);
  }
  return names;
}
