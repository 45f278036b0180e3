// Renders scenario results as text, JSON or a minimal HTML page. Only virtual-time data goes in, so the
// bytes depend on scenario, inputs and seed alone (I10); wall-clock speed is reported by the CLI on stderr.
import type { RunResult, Scenario } from '../scenarios/scenario.js';

function ms(x: number): string {
  return `${(x / 1000).toFixed(3)} s`;
}

export function renderText(s: Scenario, results: readonly RunResult[]): string {
  const lines: string[] = [];
  lines.push(`scenario ${s.name} — ${s.story}`);
  const first = results[0];
  if (first !== undefined) lines.push(`seed ${first.seed}`);
  for (const r of results) {
    lines.push('');
    lines.push(`== gateway: ${r.gateway} · variant: ${r.variant} ==`);
    lines.push(`virtual time ${ms(r.virtualMs)}, ${r.events} events`);
    lines.push('outcomes:');
    for (const [k, v] of Object.entries(r.outcomes)) lines.push(`  ${k.padEnd(32)} ${v}`);
    lines.push('limits (earliest first):');
    if (r.limits.length === 0) lines.push('  none');
    for (const l of r.limits) lines.push(`  ${ms(l.firstAtMs).padStart(10)}  ${l.limit} ×${l.count}`);
    lines.push('metrics:');
    for (const [k, v] of Object.entries(r.metrics)) lines.push(`  ${k.padEnd(32)} ${v}`);
    lines.push('diagnosis:');
    for (const d of r.diagnosis) lines.push(`  - ${d}`);
  }
  return `${lines.join('\n')}\n`;
}

export function renderJson(s: Scenario, results: readonly RunResult[]): string {
  return `${JSON.stringify({ scenario: s.name, story: s.story, results }, null, 2)}\n`;
}

function escapeHtml(t: string): string {
  return t.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function renderHtml(s: Scenario, results: readonly RunResult[]): string {
  return `<!doctype html>\n<html><head><meta charset="utf-8"><title>${escapeHtml(s.name)}</title></head>\n<body><pre>\n${escapeHtml(renderText(s, results))}</pre></body></html>\n`;
}
