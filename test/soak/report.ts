import { mb, warmRss, type InvariantResult, type SoakHistory } from './checker.js';

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

const seconds = (ms: number) => (Number.isNaN(ms) ? '-' : `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`);

function counts<T>(items: readonly T[], key: (item: T) => string): string {
  const map = new Map<string, number>();
  for (const item of items) map.set(key(item), (map.get(key(item)) ?? 0) + 1);
  return [...map].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(' · ') || 'none';
}

export interface RunFacts {
  readonly minutes: number;
  readonly startedAt: number;
  readonly trafficMs: number;
  readonly drainMs: number;
  readonly loadBefore: readonly number[];
  readonly loadAfter: readonly number[];
  readonly cores: number;
  readonly operations: ReadonlyMap<string, number>;
  readonly database: string;
  /** Every server log line, with the process that wrote it. */
  readonly serverLog: readonly (Record<string, unknown> & { readonly process: string })[];
}

const DELIVERY_MESSAGES: readonly [string, string][] = [
  ['back-channel logout delivered', 'delivered'],
  ['back-channel logout attempt failed; will retry', 'retried'],
  ['back-channel logout given up', 'given up'],
];

/** Per process: its deliveries by outcome and when it last recorded one (a worker that stopped shows here). */
function workerLine(facts: RunFacts, at: (ms: number) => string): string {
  const processes = [...new Set(facts.serverLog.map((l) => l.process))];
  return processes.map((name) => {
    const mine = facts.serverLog.filter((l) => l.process === name);
    const outcomes = DELIVERY_MESSAGES.map(([msg, label]) => `${label} ${mine.filter((l) => l.msg === msg).length}`).join(', ');
    const last = mine.filter((l) => DELIVERY_MESSAGES.some(([msg]) => msg === l.msg)).at(-1);
    return `${name} ${outcomes}${last ? ` (last at ${at(Date.parse(String(last.time)))})` : ''}`;
  }).join(' · ');
}

/** The one-screen report. */
export function formatReport(history: SoakHistory, results: readonly InvariantResult[], facts: RunFacts): string {
  const at = (ms: number) => `${((ms - facts.startedAt) / 1000).toFixed(0).padStart(3)}s`;
  const delivered = history.notifications.filter((n) => n.state === 'delivered' && n.deliveredAt !== null);
  const latency = delivered.map((n) => n.deliveredAt! - n.createdAt).sort((a, b) => a - b);
  const failedJourneys = history.journeys.filter((j) => j.error);
  const lines = [
    `Gatehouse soak: ${facts.minutes} min of traffic, ${(facts.drainMs / 1000).toFixed(0)} s drain, 2 processes on PostgreSQL (${facts.database}); ${facts.cores} cores, load average ${facts.loadBefore.map((l) => l.toFixed(2)).join(' ')} before, ${facts.loadAfter.map((l) => l.toFixed(2)).join(' ')} after`,
    `Journeys     ${history.journeys.length} (${failedJourneys.length} failed): ${counts(history.journeys, (j) => j.kind)}`,
    `Operations   ${[...facts.operations].map(([k, n]) => `${k} ${n}`).join(' · ')}`,
    `HTTP         ${history.requests.length} requests, by status: ${counts(history.requests, (r) => String(r.status))}; by process: ${counts(history.requests, (r) => r.backend ?? 'none')}`,
    `             by endpoint: ${counts(history.requests, (r) => `${r.method} /${r.path.split('/')[1] ?? ''}`)}`,
    `Errors       journeys: ${counts(failedJourneys, (j) => j.error!.kind)}; HTTP 5xx: ${counts(history.requests.filter((r) => r.status >= 500), (r) => `${r.status}${r.proxyError ? ' (proxy)' : ''}`)}`,
    `Logouts      ${history.notifications.length} notifications: ${counts(history.notifications, (n) => n.state)}; ${history.received.length} tokens received; latency (session end to delivered) p50 ${seconds(percentile(latency, 50))}, p99 ${seconds(percentile(latency, 99))}, max ${seconds(latency.at(-1) ?? NaN)}`,
    `Workers      ${workerLine(facts, at)}`,
    `Server log   errors and warnings: ${counts(facts.serverLog.filter((l) => ['warn', 'error', 'fatal'].includes(String(l.level)) && !DELIVERY_MESSAGES.some(([msg]) => msg === l.msg)), (l) => `${String(l.msg).slice(0, 70)} ×`)}`,
    `Sessions     ${history.sessions.length}, ended by: ${counts(history.sessions.filter((s) => s.endReason), (s) => s.endReason!)}`,
    `Faults       ${[...history.faults].sort((a, b) => a.start - b.start).map((f) => `${f.kind} ${f.target} ${at(f.start)}–${at(f.end)}`).join(' · ')}`,
    `RSS          ${history.rss.map((s) => {
      const bytes = s.samples.map((x) => x.bytes);
      if (bytes.length === 0) return `${s.label} -`;
      const warm = warmRss(s.samples);
      return `${s.label} ${mb(bytes[0]!)} → peak ${mb(Math.max(...bytes))} → end ${mb(bytes.at(-1)!)}${warm === undefined ? '' : ` (warm ${mb(warm)})`}`;
    }).join(' · ')}`,
    'Invariants',
    ...results.flatMap((r) => [
      `  ${r.ok ? 'ok  ' : 'FAIL'} ${r.name} (${r.checked} checked)`,
      ...r.violations.slice(0, 4).map((v) => `         - ${v}`),
      ...(r.violations.length > 4 ? [`         - ... ${r.violations.length - 4} more`] : []),
    ]),
    results.every((r) => r.ok) ? 'Result: PASS' : `Result: FAIL (${results.filter((r) => !r.ok).length} of ${results.length} invariants)`,
  ];
  return lines.join('\n');
}
