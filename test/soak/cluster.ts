import { readFileSync } from 'node:fs';
import { spawnGatehouse, type ChildGatehouse } from '../support/child-gatehouse.js';
import type { TestDatabase } from '../support/databases.js';
import type { FrontProxy } from './front-proxy.js';

/** Resident set size samples of one server process (one incarnation: a restart is a new one). */
export interface RssSeries {
  readonly label: string;
  readonly pid: number;
  readonly samples: { readonly at: number; readonly bytes: number }[];
}

export interface ProcessExit {
  readonly label: string;
  readonly pid: number;
  readonly at: number;
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** True when the soak killed it (the kill -9 fault, or the end of the run). */
  readonly expected: boolean;
}

function rssOf(pid: number): number | undefined {
  try {
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

interface Member {
  readonly name: string;
  incarnation: number;
  child: ChildGatehouse | undefined;
  series: RssSeries | undefined;
}

/**
 * The Gatehouse processes under test: `node dist/src/main.js` each, on ephemeral ports, one ISSUER (the front proxy),
 * one database (through the soak's PostgreSQL proxy). Tracks every process it started so that stopAll() — also on a
 * failure or a signal — kills each by its PID; samples their RSS once a second.
 */
export class GatehouseCluster {
  readonly rss: RssSeries[] = [];
  readonly exits: ProcessExit[] = [];
  private readonly members: Member[];
  /** Every process ever started (each incarnation), for the logs and for stopping them all. */
  private readonly started: { readonly label: string; readonly child: ChildGatehouse }[] = [];
  private readonly killedOnPurpose = new Set<number>();
  private sampler: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly options: { readonly database: TestDatabase; readonly secret: string; readonly issuer: string; readonly env: Record<string, string>; readonly front: FrontProxy },
    names: readonly string[],
  ) {
    this.members = names.map((name) => ({ name, incarnation: 0, child: undefined, series: undefined }));
  }

  get names(): string[] {
    return this.members.map((m) => m.name);
  }

  /** Every log line of every process so far (each with the name of the process that wrote it). */
  logLines(): (Record<string, unknown> & { readonly process: string })[] {
    return this.started.flatMap(({ label, child }) => child.logLines().map((line) => ({ ...line, process: label })));
  }

  async startAll(): Promise<void> {
    for (const member of this.members) await this.start(member);
    this.sampler = setInterval(() => this.sample(), 1000);
  }

  private async start(member: Member): Promise<void> {
    member.incarnation += 1;
    const label = `${member.name}#${member.incarnation}`;
    const child = await spawnGatehouse({ database: this.options.database, secret: this.options.secret, issuer: this.options.issuer, env: this.options.env });
    this.started.push({ label, child });
    child.process.once('exit', (code, signal) => {
      this.exits.push({ label, pid: child.pid, at: Date.now(), code, signal, expected: this.killedOnPurpose.has(child.pid) });
      if (member.child === child) this.options.front.route(member.name, undefined);
    });
    const listening = child.logLines().find((line) => line.msg === 'gatehouse listening');
    member.child = child;
    member.series = { label, pid: child.pid, samples: [] };
    this.rss.push(member.series);
    this.sampleOne(member);
    this.options.front.route(member.name, Number(listening!.port));
  }

  /** kill -9 of one process (the proxy stops sending it requests once it refuses connections). */
  async killHard(name: string): Promise<void> {
    const member = this.member(name);
    const child = member.child;
    if (!child) return;
    this.killedOnPurpose.add(child.pid);
    member.child = undefined;
    this.options.front.route(name, undefined);
    await child.kill('SIGKILL');
  }

  async restart(name: string): Promise<void> {
    await this.start(this.member(name));
  }

  private member(name: string): Member {
    const member = this.members.find((m) => m.name === name);
    if (!member) throw new Error(`no process named ${name}`);
    return member;
  }

  private sampleOne(member: Member): void {
    if (!member.child || !member.series) return;
    const bytes = rssOf(member.child.pid);
    if (bytes !== undefined) member.series.samples.push({ at: Date.now(), bytes });
  }

  private sample(): void {
    for (const member of this.members) this.sampleOne(member);
  }

  /** Stops every process: SIGTERM (a clean shutdown gives claims back), SIGKILL after `graceMs`. */
  async stopAll(graceMs = 5000): Promise<void> {
    if (this.sampler) clearInterval(this.sampler);
    this.sample();
    await Promise.all(this.started.map(async ({ child }) => {
      this.killedOnPurpose.add(child.pid);
      const timer = setTimeout(() => child.process.kill('SIGKILL'), graceMs);
      await child.kill('SIGTERM');
      clearTimeout(timer);
    }));
  }

  /** Synchronous last resort (process exit): SIGKILL to every process still running, by PID. */
  killAllNow(): void {
    for (const { child } of this.started) {
      if (child.process.exitCode === null && child.process.signalCode === null) {
        this.killedOnPurpose.add(child.pid);
        try {
          process.kill(child.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
  }
}
