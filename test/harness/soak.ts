import { pathToFileURL } from 'node:url';
import { SnsNotifier } from '../../lambda/adapters/sns-notifier.js';
import type { MonitorEvent } from '../../lambda/domain/events.js';
import { DEFAULT_POLICY } from '../../lambda/domain/policy.js';
import { type CycleSummary, pollOnce } from '../../lambda/domain/poll.js';
import type { Notifier, StateStore, Vb365Api } from '../../lambda/domain/ports.js';
import { pollDepsFor, stateStoreFor, vb365ApiFor } from '../../lambda/wiring.js';
import { generatePki } from '../../local/simulator/certs.js';
import {
  type Fault,
  type Route,
  type ScenarioAction,
  startSimulator,
  type Vb365Simulator,
} from '../../local/simulator/simulator.js';
import { ensureTable, localClient, startBestEngine } from '../../local/stand-ins/embedded-dynamodb.js';
import { type SnsStandIn, startSnsStandIn } from '../../local/stand-ins/sns-stand-in.js';
import { type FaultProxy, startFaultProxy } from './fault-proxy.js';

/*
 * Soak: many poll cycles of a seeded random scenario against real parts (the VB365 simulator over HTTPS, a real
 * DynamoDB engine behind a fault proxy, the SNS stand-in), with faults injected one at a time and in combination,
 * including crashes between any two steps of a cycle. The invariants are checked after every cycle; at the end,
 * with faults off, every event the scenario implies and every event ever committed must have been delivered.
 * Reproducible from the seed: `npm run soak -- --seed 7 --cycles 1000`.
 */

export interface SoakOptions {
  readonly seed: number;
  readonly cycles: number;
  /** A DynamoDB endpoint (DynamoDB Local or dynalite). */
  readonly ddbEndpoint: string;
  /** Share of cycles with at least one fault. @default 0.35 */
  readonly faultRate?: number;
  /** Progress lines (every 100 cycles). */
  readonly log?: (line: string) => void;
}

export interface SoakReport {
  readonly seed: number;
  readonly cycles: number;
  readonly sessions: number;
  /** Faults injected, by kind. */
  readonly faults: Readonly<Record<string, number>>;
  /** Distinct events delivered. */
  readonly events: number;
  readonly deliveries: number;
  /** Events committed or implied by the scenario but never delivered (must be 0). */
  readonly lost: readonly string[];
  /** Events delivered more than once, by cause. */
  readonly duplicates: { readonly total: number; readonly causes: Readonly<Record<string, number>> };
  /** Broken invariants (must be empty), with the cycle they were seen in. */
  readonly violations: readonly string[];
  readonly durationMs: number;
}

const TOPIC = 'arn:aws:sns:us-east-1:123456789012:vb365-soak';
const SERVER = { id: 'soak', name: 'Soak VB365', url: '' };
const TERMINAL = new Set(['sync.completed', 'sync.stopped']);
const SETTLE_CYCLES = 30;
const MAX_ACTIVE = 6;

type Ending = 'none-in-sync' | 'vanish-in-sync' | 'vanish-out-of-sync' | 'fail';

interface Script {
  readonly id: string;
  readonly repository: string;
  readonly start: number;
  readonly runFor: number;
  readonly ending: Ending;
  progress: number;
}

/** mulberry32: a small, fast, seedable PRNG. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

class SimulatedCrash extends Error {
  override readonly name = 'SimulatedCrash';
}

/** When a cycle's "process" dies: after so many port calls, or at the first call after a publish. */
export type CrashPlan = { readonly afterCalls: number } | { readonly afterPublish: true };

/** Counts the port calls of one cycle and kills the "process" as planned. */
class CrashGate {
  calls = 0;
  published = false;
  dead = false;
  constructor(readonly plan: CrashPlan | null) {}

  step(): void {
    const due = this.plan !== null && ('afterCalls' in this.plan ? this.calls >= this.plan.afterCalls : this.published);
    if (this.dead || due) {
      this.dead = true;
      throw new SimulatedCrash(`crash after ${this.calls} port calls`);
    }
    this.calls += 1;
  }
}

/** Wraps every method of a port so that the gate can crash the cycle before it. */
function crashable<T extends object>(port: T, gate: () => CrashGate, after?: (method: string) => void): T {
  return new Proxy(port, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      if (prop === 'certificate') return value.bind(target);
      return async (...args: unknown[]) => {
        gate().step();
        const result = await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        after?.(String(prop));
        return result;
      };
    },
  });
}

/**
 * Real parts for cycles under faults: the simulator, the SNS stand-in, a fault proxy in front of a DynamoDB engine,
 * and the bookkeeping that checks the promises (delivery, order, duplicates and their causes, outages).
 */
export class FaultHarness {
  readonly committed = new Set<string>();
  readonly firstDelivery = new Map<string, number>();
  /** Cycles in which each event was delivered, and for each repeat the cause that explains it. */
  readonly deliveredIn = new Map<string, number[]>();
  readonly repeats = new Map<string, string[]>();
  /** Cycles that published and then died or lost an acknowledgement: duplicates of their events are explained. */
  readonly abnormalAfterPublish = new Map<number, string>();
  /** Times of cycles whose listing failed (the server could not be used). */
  readonly downTimes = new Set<string>();
  readonly delivered: MonitorEvent[] = [];
  readonly violations: string[] = [];
  clock = Date.parse('2026-11-28T00:00:00Z');
  /** Cycles that crashed. */
  crashes = 0;
  readonly server: { id: string; name: string; url: string };
  #seen = 0;
  #box: ReturnType<FaultHarness['container']>;

  private constructor(
    readonly sim: Vb365Simulator,
    readonly sns: SnsStandIn,
    readonly proxy: FaultProxy,
    readonly caCert: string,
    readonly table: string,
  ) {
    this.server = { ...SERVER, url: sim.url };
    this.#box = this.container();
  }

  static async start(ddbEndpoint: string, table: string): Promise<FaultHarness> {
    const pki = await generatePki();
    const sim = await startSimulator({ pki });
    const sns = await startSnsStandIn();
    const proxy = await startFaultProxy(ddbEndpoint);
    const admin = localClient(ddbEndpoint);
    await ensureTable(admin, table);
    admin.destroy();
    return new FaultHarness(sim, sns, proxy, pki.caCert, table);
  }

  /** A fresh "container": new clients, as after a crash. */
  container() {
    const api = vb365ApiFor(
      {
        url: this.sim.url,
        credentials: () => ({ username: this.sim.username, password: this.sim.password }),
        ca: this.caCert,
      },
      {
        headersTimeoutMs: 1_000,
        bodyTimeoutMs: 1_000,
        callDeadlineMs: 3_000,
        maxRetries: 2,
        retryBaseDelayMs: 5,
        retryMaxDelayMs: 20,
        maxRetryAfterMs: 200,
      },
    );
    const ddb = localClient(this.proxy.endpoint);
    const snsClient = this.sns.client();
    return {
      api,
      store: stateStoreFor(this.table, ddb),
      notifier: new SnsNotifier(snsClient, TOPIC),
      close: async () => {
        ddb.destroy();
        snsClient.destroy();
        await api.close();
      },
    };
  }

  /** One poll cycle numbered `i`, crashing as planned; returns its summary, or the error it ended with. */
  async cycle(i: number, crash: CrashPlan | null = null, owner = `c${i}`): Promise<CycleSummary | Error> {
    const gate = new CrashGate(crash);
    let listed = false;
    const afterCall = (method: string) => {
      if (method === 'publish') gate.published = true;
      if (method === 'listSessions') listed = true;
    };
    const box = this.#box;
    const api = crashable<Vb365Api>(box.api, () => gate, afterCall);
    const store = crashable<StateStore>(
      {
        load: (...a) => box.store.load(...a),
        saveRepositoryNames: (...a) => box.store.saveRepositoryNames(...a),
        recordHistory: (...a) => box.store.recordHistory(...a),
        history: (...a) => box.store.history(...a),
        requestAck: (...a) => box.store.requestAck(...a),
        write: async (serverId, item, expected, o) => {
          try {
            const version = await box.store.write(serverId, item, expected, o);
            for (const e of item.pending) this.committed.add(e.eventId);
            return version;
          } catch (err) {
            if (gate.published && !this.abnormalAfterPublish.has(i))
              this.abnormalAfterPublish.set(i, 'acknowledgement failed');
            throw err;
          }
        },
      },
      () => gate,
    );
    const notifier = crashable<Notifier>(box.notifier, () => gate, afterCall);
    const now = this.clock;
    try {
      return await pollOnce(
        pollDepsFor(
          { api, store, notifier },
          {
            policy: { ...DEFAULT_POLICY, milestones: [50] },
            server: this.server,
            now: () => new Date(now),
            owner,
            leaseMs: 60_000,
          },
        ),
      );
    } catch (err) {
      if (err instanceof TypeError || err instanceof ReferenceError || err instanceof RangeError)
        this.violations.push(`cycle ${i}: programming error ${err.name}: ${err.message}`);
      if (gate.published)
        this.abnormalAfterPublish.set(
          i,
          err instanceof SimulatedCrash ? 'crash between publish and acknowledgement' : 'store failed after publish',
        );
      return err as Error;
    } finally {
      if (!listed) this.downTimes.add(new Date(now).toISOString());
      if (gate.dead) this.crashes += 1;
      if (gate.dead && this.#box === box) {
        // The "process" died: let calls already in flight land, then start a new container.
        await new Promise((r) => setTimeout(r, 30));
        await box.close();
        this.#box = this.container();
      }
    }
  }

  clearFaults(): void {
    this.sim.clearFaults();
    this.proxy.clear();
    this.sns.clearFaults();
  }

  /** Takes in what was delivered since the last check, then checks the invariants over everything delivered. */
  check(i: number): void {
    const received = this.sns.received
      .slice(this.#seen)
      .map((m) => JSON.parse((JSON.parse(m.message) as { default: string }).default) as MonitorEvent);
    this.#seen = this.sns.received.length;
    for (const event of received) {
      const earlier = this.deliveredIn.get(event.eventId) ?? [];
      this.deliveredIn.set(event.eventId, [...earlier, i]);
      if (earlier.length === 0) {
        this.firstDelivery.set(event.eventId, i);
        this.delivered.push(event);
      } else {
        // A repeat is explained only by an earlier delivering cycle that died (or lost its acknowledgement) after
        // publishing, so the event stayed in its outbox.
        const cause = earlier.map((c) => this.abnormalAfterPublish.get(c)).find((c) => c !== undefined);
        this.repeats.set(event.eventId, [...(this.repeats.get(event.eventId) ?? []), cause ?? 'unexplained']);
        if (cause === undefined) this.violations.push(`cycle ${i}: unexplained duplicate of ${event.eventId}`);
      }
      if (TERMINAL.has(event.type) && this.downTimes.has(event.occurredAt))
        this.violations.push(`cycle ${i}: ${event.eventId} decided while the server could not be used`);
    }
    const bySession = new Map<string, MonitorEvent[]>();
    for (const e of this.delivered)
      if (e.session) bySession.set(e.session.id, [...(bySession.get(e.session.id) ?? []), e]);
    for (const [id, events] of bySession) {
      const sequences = events.map((e) => Number(e.eventId.split('/')[2]));
      if (sequences.some((q, k) => k > 0 && q <= (sequences[k - 1] ?? 0)))
        this.violations.push(`cycle ${i}: events of ${id} out of order (${sequences.join(',')})`);
      const ends = events.filter((e) => TERMINAL.has(e.type) || e.type === 'sync.failed');
      if (ends.length > 1) this.violations.push(`cycle ${i}: ${id} ended twice (${ends.map((e) => e.type)})`);
    }
  }

  /** Duplicates delivered so far, by cause. */
  duplicates(): { total: number; causes: Record<string, number> } {
    const causes: Record<string, number> = {};
    let total = 0;
    for (const list of this.repeats.values()) {
      for (const cause of list) {
        total += 1;
        causes[cause] = (causes[cause] ?? 0) + 1;
      }
    }
    return { total, causes };
  }

  /** Committed events never delivered, and events still waiting in an outbox. */
  async undelivered(): Promise<{ lost: string[]; pending: string[] }> {
    const lost = [...this.committed].filter((id) => !this.firstDelivery.has(id));
    const snapshot = await this.#box.store.load(this.server.id);
    const pending = [snapshot.server, ...snapshot.sessions].flatMap((e) => e?.pending ?? []).map((e) => e.eventId);
    return { lost, pending };
  }

  async close(): Promise<void> {
    await this.#box.close();
    await Promise.all([this.sim.close(), this.sns.close(), this.proxy.close()]);
  }
}

export async function runSoak(options: SoakOptions): Promise<SoakReport> {
  const started = Date.now();
  const random = prng(options.seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const between = (min: number, max: number) => min + Math.floor(random() * (max - min + 1));
  const faultRate = options.faultRate ?? 0.35;
  const h = await FaultHarness.start(options.ddbEndpoint, `soak-${options.seed}-${process.pid}`);
  const { sim, sns, proxy } = h;
  const scripts: Script[] = [];
  const faults: Record<string, number> = {};
  const count = (kind: string) => {
    faults[kind] = (faults[kind] ?? 0) + 1;
  };

  const vb365Fault = (kind: string, route: Route | '*', fault: Fault, times: number) => {
    sim.inject({ route, fault, times });
    count(kind);
  };

  /** Applies the scenario for cycle `i`; returns nothing (the simulator holds the state). */
  const scenario = (i: number, total: number) => {
    const actions: ScenarioAction[] = [];
    const active = scripts.filter((s) => i <= s.start + s.runFor + 6);
    if (i > 0 && i < total - SETTLE_CYCLES - 40 && active.length < MAX_ACTIVE && random() < 0.15) {
      const n = scripts.length + 1;
      const script: Script = {
        id: `s${n}`,
        repository: `r${n}`,
        start: i,
        runFor: between(6, 30),
        ending: pick<Ending>(['none-in-sync', 'vanish-in-sync', 'vanish-out-of-sync', 'fail']),
        progress: 0,
      };
      scripts.push(script);
      actions.push(
        { op: 'repository', id: script.repository, name: `Repo ${n}`, isOutOfSync: true },
        { op: 'start', session: script.id, repository: script.repository, progress: 0 },
      );
    }
    for (const s of scripts) {
      const end = s.start + s.runFor;
      if (i > s.start && i < end && random() < 0.7) {
        s.progress = Math.min(99, s.progress + between(1, 8));
        actions.push({ op: 'progress', session: s.id, progress: s.progress });
      }
      if (i === end) {
        if (s.ending === 'fail') actions.push({ op: 'fail', session: s.id, error: 'Unable to access object storage' });
        if (s.ending === 'none-in-sync') {
          actions.push({ op: 'inSync', repository: s.repository, isOutOfSync: false });
          actions.push({ op: 'state', session: s.id, state: 'None', progress: 100 });
        }
        if (s.ending === 'vanish-in-sync') {
          actions.push({ op: 'inSync', repository: s.repository, isOutOfSync: false });
          actions.push({ op: 'vanish', session: s.id });
        }
        if (s.ending === 'vanish-out-of-sync') actions.push({ op: 'vanish', session: s.id });
      }
      // Finished and failed sessions leave the list after a while.
      if (i === end + 6 && (s.ending === 'fail' || s.ending === 'none-in-sync'))
        actions.push({ op: 'vanish', session: s.id });
    }
    if (actions.length > 0) sim.apply(actions);
  };

  /** Injects this cycle's faults; returns a crash budget, and whether a second cycle runs concurrently. */
  const injectFaults = (): { crash: CrashPlan | null; concurrent: boolean } => {
    let crash: CrashPlan | null = null;
    let concurrent = false;
    const kinds = random() < 0.2 ? 2 : 1;
    for (let k = 0; k < kinds; k++) {
      const kind = pick([
        'vb365-timeout',
        'vb365-reset',
        'vb365-5xx',
        'vb365-429',
        'vb365-401',
        'vb365-malformed',
        'vb365-truncated',
        'vb365-oversized',
        'ddb-throttle',
        'ddb-5xx',
        'ddb-conflict',
        'sns-throttle',
        'sns-5xx',
        'sns-partial',
        'crash',
        'crash',
        'crash-after-publish',
      ]);
      const route = pick<Route | '*'>(['listSessions', 'getSession', 'getRepository', 'token', '*']);
      switch (kind) {
        case 'vb365-timeout':
          vb365Fault(kind, 'listSessions', { kind: 'latency', ms: 1_500 }, 1);
          break;
        case 'vb365-reset':
          vb365Fault(kind, route, { kind: 'reset' }, between(1, 4));
          break;
        case 'vb365-5xx':
          vb365Fault(kind, route, { kind: 'status', status: pick([500, 502, 503]) }, between(1, 4));
          break;
        case 'vb365-429':
          vb365Fault(kind, route, { kind: 'status', status: 429, retryAfter: 0 }, between(1, 3));
          break;
        case 'vb365-401':
          vb365Fault(kind, pick<Route>(['listSessions', 'getSession']), { kind: 'unauthorized' }, between(1, 2));
          break;
        case 'vb365-malformed':
          vb365Fault(kind, pick<Route>(['listSessions', 'getSession', 'getRepository']), { kind: 'malformed' }, 1);
          break;
        case 'vb365-truncated':
          vb365Fault(kind, pick<Route>(['listSessions', 'getSession', 'getRepository']), { kind: 'truncated' }, 1);
          break;
        case 'vb365-oversized':
          vb365Fault(kind, 'listSessions', { kind: 'oversized', bytes: 6 * 1024 * 1024 }, 1);
          break;
        case 'ddb-throttle':
          proxy.inject({
            operation: pick(['Query', 'PutItem', 'BatchWriteItem', '*']),
            status: 400,
            code: 'ProvisionedThroughputExceededException',
            times: between(1, 3),
          });
          count(kind);
          break;
        case 'ddb-5xx':
          proxy.inject({ operation: pick(['Query', 'PutItem']), status: 500, code: 'InternalServerError', times: 2 });
          count(kind);
          break;
        case 'ddb-conflict':
          concurrent = true;
          count(kind);
          break;
        case 'sns-throttle':
          sns.inject({ kind: 'error', status: 400, code: 'Throttling', message: 'Rate exceeded' }, between(1, 3));
          count(kind);
          break;
        case 'sns-5xx':
          sns.inject({ kind: 'error', status: 500, code: 'InternalError', message: 'internal' }, between(1, 3));
          count(kind);
          break;
        case 'sns-partial':
          sns.inject({ kind: 'entries', fail: () => random() < 0.5, code: 'InternalError', senderFault: false }, 2);
          count(kind);
          break;
        case 'crash':
          crash = { afterCalls: between(0, 14) };
          count(kind);
          break;
        case 'crash-after-publish':
          crash = { afterPublish: true };
          count(kind);
          break;
      }
    }
    return { crash, concurrent };
  };

  try {
    for (let i = 0; i < options.cycles; i++) {
      h.clock += 5 * 60_000;
      scenario(i, options.cycles);
      const faulty = i > 0 && i < options.cycles - SETTLE_CYCLES && random() < faultRate;
      const { crash, concurrent } = faulty ? injectFaults() : { crash: null, concurrent: false };
      if (concurrent) await Promise.all([h.cycle(i, crash, `c${i}a`), h.cycle(i, null, `c${i}b`)]);
      else await h.cycle(i, crash);
      h.clearFaults();
      h.check(i);
      if (options.log && (i + 1) % 100 === 0)
        options.log(
          `cycle ${i + 1}/${options.cycles}: ${h.delivered.length} events, ${h.violations.length} violations`,
        );
    }
    // Replays: the same data twice more must add nothing.
    const before = sns.received.length;
    for (let r = 0; r < 2; r++) {
      h.clock += 5 * 60_000;
      await h.cycle(options.cycles + r, null, `replay${r}`);
    }
    if (sns.received.length !== before)
      h.violations.push(`replay: ${sns.received.length - before} messages from cycles that saw nothing new`);

    // Nothing lost: every committed event delivered, every outbox empty, every implied event delivered.
    const { lost, pending } = await h.undelivered();
    for (const id of pending) h.violations.push(`end: ${id} still in an outbox`);
    for (const s of scripts) {
      if (s.start + s.runFor + 8 >= options.cycles - 2) continue; // not finished within the run
      const types = h.delivered.filter((e) => e.session?.id === s.id);
      const has = (type: string, confirmed?: boolean) =>
        types.some((e) => e.type === type && (confirmed === undefined || e.session?.completionConfirmed === confirmed));
      if (!has('sync.started')) lost.push(`${s.id}: sync.started`);
      const ended =
        s.ending === 'fail'
          ? has('sync.failed')
          : s.ending === 'vanish-out-of-sync'
            ? has('sync.stopped') || has('sync.completed', false)
            : has('sync.completed');
      if (!ended) lost.push(`${s.id}: end (${s.ending}) → ${types.map((e) => e.type).join(', ')}`);
    }
    return {
      seed: options.seed,
      cycles: options.cycles,
      sessions: scripts.length,
      faults,
      events: h.firstDelivery.size,
      deliveries: sns.received.length,
      lost,
      duplicates: h.duplicates(),
      violations: h.violations,
      durationMs: Date.now() - started,
    };
  } finally {
    await h.close();
  }
}

/** The report as the few lines the README and CI show. */
export function formatReport(r: SoakReport): string {
  const faults = Object.entries(r.faults)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
  const causes = Object.entries(r.duplicates.causes)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
  return [
    `soak seed ${r.seed}: ${r.cycles} cycles, ${r.sessions} sessions, ${(r.durationMs / 1000).toFixed(1)} s`,
    `faults injected: ${Object.values(r.faults).reduce((a, b) => a + b, 0)} (${faults})`,
    `events: ${r.events} distinct, ${r.deliveries} deliveries`,
    `lost: ${r.lost.length}${r.lost.length > 0 ? ` (${r.lost.slice(0, 5).join('; ')})` : ''}`,
    `duplicates: ${r.duplicates.total}${causes ? ` (${causes})` : ''}`,
    `invariant violations: ${r.violations.length}${r.violations.length > 0 ? ` (${r.violations.slice(0, 5).join('; ')})` : ''}`,
  ].join('\n');
}

async function main(): Promise<void> {
  const arg = (name: string, fallback: number) => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? Number(process.argv[i + 1]) : fallback;
  };
  const engine = await startBestEngine();
  try {
    const report = await runSoak({
      seed: arg('seed', 20261128),
      cycles: arg('cycles', 1000),
      ddbEndpoint: engine.endpoint,
      log: (line) => console.error(line),
    });
    console.log(formatReport(report));
    if (report.lost.length > 0 || report.violations.length > 0) process.exitCode = 1;
  } finally {
    await engine.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.stack : err);
    process.exitCode = 2;
  });
}
