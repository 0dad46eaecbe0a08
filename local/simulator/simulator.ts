import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { generatePki, type TestPki } from './certs.js';

/*
 * A VB365 REST API stand-in on loopback HTTPS, used by the tests, the demo and the benchmark. It serves the routes the
 * monitor uses with the wire shape of each API version, real token handling (expiry, refresh, revocation, the v7+
 * antiforgery rule), a scenario timeline that drives sessions and repositories, per-route fault injection and
 * per-route request counters.
 */

export type SimVersion = 'v5' | 'v6' | 'v7' | 'v8';

/** Route names used by counters and fault rules. */
export type Route =
  | 'serviceInstance'
  | 'token'
  | 'logout'
  | 'listSessions'
  | 'getSession'
  | 'listRepositories'
  | 'getRepository'
  | 'listJobs'
  | 'listCopyJobs'
  | 'listProxies'
  | 'listOrganizations'
  | 'listJobSessions'
  | 'health'
  | 'unknown';

export interface SimRepository {
  id: string;
  name: string;
  isOutOfSync: boolean;
  /** v8 blocker fields (sent as `false`/`null` on v8 when not set; never before v8). */
  isOutdated?: boolean;
  isOutOfOrder?: boolean;
  outOfOrderReason?: string | null;
  isMigrationLocked?: boolean;
  /** Sent in every version when set. */
  proxyId?: string | null;
  /** v8 only. */
  organizationId?: string | null;
}

export interface SimJob {
  id: string;
  name: string;
  repositoryId: string;
  isEnabled?: boolean;
  /** `backup` (`/vN/Jobs`, the default) or `copy` (`/vN/CopyJobs`, v6+). */
  kind?: 'backup' | 'copy';
  /** ISO-8601; `null` or absent: none. */
  nextRun?: string | null;
  /** Sets `nextRun` this many seconds after the job is loaded or the action applied (by the simulator's clock). */
  nextRunIn?: number;
  lastRun?: string | null;
  /** Sent verbatim. @default 'Success' */
  lastStatus?: string;
  /** A copy job's source backup job. */
  backupJobId?: string | null;
}

export interface SimProxy {
  id: string;
  /** `hostName`. */
  name: string;
  /** `Online`, `Offline`, or anything else, verbatim. */
  status: string;
  /** v8: `Disabled`, `Enabling`, `Enabled`. @default 'Disabled' */
  maintenanceModeState?: string;
  /** v8: the proxy's build. @default the server's build */
  version?: string;
}

export interface SimOrganization {
  id: string;
  name: string;
}

/** One run of a job (`/vN/JobSessions`, v6+). */
export interface SimJobSession {
  id: string;
  jobId: string;
  /** `Running`, `Success`, `Warning`, `Failed`, `Stopped`, … verbatim. */
  status: string;
  /** ISO-8601 UTC. */
  creationTime: string;
  /** ISO-8601 UTC; `null` while running. */
  endTime: string | null;
  details?: string;
}

export interface SimHealth {
  /** `Healthy`, `Degraded` or `Unhealthy` (503, as ASP.NET health checks answer). */
  status: string;
  entries: { name: string; status: string; description?: string | null }[];
}

export interface SimSession {
  id: string;
  repositoryId: string;
  /** Sent verbatim: `Synchronizing`, `Failed`, `None` or anything else a future build might send. */
  state: string;
  progressPercent: number;
  error: string | null;
}

/** One change to the simulated server. */
export type ScenarioAction =
  /** Create or update a repository (its blocker flags, proxy and organization too). */
  | ({ op: 'repository'; id: string } & Partial<Omit<SimRepository, 'id'>>)
  /** Create or update a backup proxy (`Online`/`Offline`, maintenance mode, build). */
  | ({ op: 'proxy'; id: string } & Partial<Omit<SimProxy, 'id'>>)
  /** Create or update a backup job or (`kind: 'copy'`) a backup copy job: schedule and last result. */
  | ({ op: 'job'; id: string } & Partial<Omit<SimJob, 'id'>>)
  /**
   * A job runs: a job session appears (`Running`, no end time) or, with a final `status`, ends at `endTime` (default:
   * the simulator's now). The job's `lastRun` and `lastStatus` follow.
   */
  | {
      op: 'jobRun';
      job: string;
      session: string;
      status: string;
      creationTime?: string;
      endTime?: string;
      details?: string;
    }
  | { op: 'organization'; id: string; name: string }
  /** `GET /v8/Health` answers this (503 when `Unhealthy`). */
  | { op: 'health'; status: string; entries?: SimHealth['entries'] }
  /** The product build `GET /{v}/ServiceInstance` reports (an upgrade changes it). */
  | { op: 'build'; version: string }
  /** A sync session appears (`Synchronizing`); its repository goes out of sync. */
  | { op: 'start'; session: string; repository: string; progress?: number }
  | { op: 'progress'; session: string; progress: number }
  /** `state: Failed` with error text (v6+ shows it); the repository stays out of sync. */
  | { op: 'fail'; session: string; error: string }
  /** Any state value, verbatim (`None`, or an unknown value from a newer build). */
  | { op: 'state'; session: string; state: string; progress?: number }
  /** The session disappears from the list, and its single GET answers 404. */
  | { op: 'vanish'; session: string }
  /** The repository's cache is usable again (`isOutOfSync: false`) or not. */
  | { op: 'inSync'; repository: string; isOutOfSync?: boolean }
  /** The REST API service stops (every connection is reset) or starts again; sessions live on inside VB365. */
  | { op: 'service'; running: boolean };

export interface ScenarioStep {
  /** Seconds after the scenario starts; steps without `at` run only by {@link Vb365Simulator.step}. */
  readonly at?: number;
  /** What a person would say happened, for demos and logs. */
  readonly note?: string;
  readonly actions: readonly ScenarioAction[];
}

export interface Scenario {
  readonly name: string;
  readonly description?: string;
  readonly repositories?: readonly SimRepository[];
  /** Backup jobs (`GET /vN/Jobs`) and copy jobs (`kind: 'copy'`, `GET /vN/CopyJobs`). */
  readonly jobs?: readonly SimJob[];
  readonly proxies?: readonly SimProxy[];
  readonly organizations?: readonly SimOrganization[];
  readonly jobSessions?: readonly SimJobSession[];
  /** @default Healthy, with a Healthy PostgreSQL and NATS entry */
  readonly health?: SimHealth;
  /** Product build at the start. @default the simulator's `build` option */
  readonly build?: string;
  readonly steps: readonly ScenarioStep[];
}

/** A fault served instead of (or on top of) the normal answer. */
export type Fault =
  /** Delay before answering (then answer normally). */
  | { kind: 'latency'; ms: number }
  /** A status with an optional `Retry-After` and body. */
  | { kind: 'status'; status: number; retryAfter?: string | number; body?: string }
  /** 401 as for an invalid token. */
  | { kind: 'unauthorized' }
  /** The TCP connection is destroyed without an answer. */
  | { kind: 'reset' }
  /** 200 with a body that is not JSON. */
  | { kind: 'malformed' }
  /** 200 with the real body cut in half (Content-Length of the cut body). */
  | { kind: 'truncated' }
  /** 200 with a valid JSON body padded to `bytes`. */
  | { kind: 'oversized'; bytes: number; declareLength?: boolean }
  /** The real body, sent in `chunks` pieces `chunkDelayMs` apart. */
  | { kind: 'slowBody'; chunkDelayMs: number; chunks?: number }
  /** 200 with a custom JSON body (e.g. a malformed item in an otherwise good list). */
  | { kind: 'body'; json: unknown };

export interface FaultRule {
  /** Route the rule applies to; `*` for every route. */
  readonly route: Route | '*';
  readonly fault: Fault;
  /** How many calls it affects. @default 1 — `Infinity` for every call until cleared. */
  readonly times?: number;
  /** Calls of that route to let through first (to hit "the third call"). @default 0 */
  readonly skip?: number;
}

export interface SimulatorOptions {
  /** Versions served; others answer 404. @default all of v5–v8 */
  readonly versions?: readonly SimVersion[];
  readonly username?: string;
  readonly password?: string;
  /** Access-token lifetime reported as `expires_in`. @default 3600 */
  readonly tokenLifetimeSeconds?: number;
  /** Injected clock (ms); token expiry and the scenario timeline use it. @default Date.now */
  readonly now?: () => number;
  readonly scenario?: Scenario;
  /** Port to listen on. @default 0 (any free port) */
  readonly port?: number;
  /** Reuse a PKI (e.g. one whose CA file a user trusts); generated otherwise. */
  readonly pki?: TestPki;
  /** Product build reported by `GET /{v}/ServiceInstance`. */
  readonly build?: string;
}

interface IssuedToken {
  readonly expiresAt: number;
  readonly antiforgeryDisabled: boolean;
}

const ROUTES: readonly Route[] = [
  'serviceInstance',
  'token',
  'logout',
  'listSessions',
  'getSession',
  'listRepositories',
  'getRepository',
  'listJobs',
  'listCopyJobs',
  'listProxies',
  'listOrganizations',
  'listJobSessions',
  'health',
  'unknown',
];

/** First version serving a route (the v6–v8 specs); older versions answer 404. */
const SERVED_SINCE: Partial<Record<Route, SimVersion>> = {
  listCopyJobs: 'v6',
  listJobSessions: 'v6',
  health: 'v8',
};

/** What `GET /v8/Health` answers unless a scenario says otherwise. */
export function healthyReport(): SimHealth {
  return {
    status: 'Healthy',
    entries: [
      { name: 'PostgreSQL', status: 'Healthy', description: null },
      { name: 'NATS', status: 'Healthy', description: null },
    ],
  };
}

/** A running simulator. Create with {@link startSimulator}. */
export class Vb365Simulator {
  readonly pki: TestPki;
  readonly url: string;
  readonly port: number;
  readonly username: string;
  /** Change to make the configured credentials wrong. */
  password: string;
  tokenLifetimeSeconds: number;
  readonly counters: Record<Route, number>;
  /** Requests per route that carried an `Authorization` header (valid or not). */
  readonly withAuthorization: Record<Route, number>;
  /** The query string of the last request per route (e.g. the filters of `JobSessions`). */
  readonly lastQuery: Partial<Record<Route, URLSearchParams>> = {};
  readonly repositories = new Map<string, SimRepository>();
  readonly jobs: SimJob[] = [];
  readonly sessions = new Map<string, SimSession>();
  readonly proxies = new Map<string, SimProxy>();
  readonly organizations = new Map<string, SimOrganization>();
  readonly jobSessions: SimJobSession[] = [];
  health: SimHealth = healthyReport();
  /** Product build reported by `GET /{v}/ServiceInstance`. */
  build: string;
  /** Notes of the steps applied so far, in order. */
  readonly applied: string[] = [];
  /** `grant_type` of every token request, in order (accepted or not). */
  readonly grants: string[] = [];
  /** `false` while the REST API service is stopped: connections are reset. */
  serviceRunning = true;

  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  readonly #versions: Set<SimVersion>;
  readonly #now: () => number;
  readonly #initialBuild: string;
  readonly #access = new Map<string, IssuedToken>();
  readonly #refresh = new Map<string, IssuedToken>();
  readonly #issued: string[] = [];
  #faults: (FaultRule & { used: number; seen: number })[] = [];
  #scenario: Scenario | undefined;
  #scenarioStart = 0;
  #nextStep = 0;

  /** @internal use {@link startSimulator} */
  constructor(server: Server, pki: TestPki, port: number, options: SimulatorOptions) {
    this.#server = server;
    this.pki = pki;
    this.port = port;
    this.url = `https://127.0.0.1:${port}`;
    this.username = options.username ?? 'svc-monitor';
    this.password = options.password ?? 'Sim-Password-0123';
    this.tokenLifetimeSeconds = options.tokenLifetimeSeconds ?? 3600;
    this.#versions = new Set(options.versions ?? ['v5', 'v6', 'v7', 'v8']);
    this.#now = options.now ?? Date.now;
    this.#initialBuild = options.build ?? '8.1.0.305';
    this.build = this.#initialBuild;
    this.counters = Object.fromEntries(ROUTES.map((r) => [r, 0])) as Record<Route, number>;
    this.withAuthorization = Object.fromEntries(ROUTES.map((r) => [r, 0])) as Record<Route, number>;
    server.on('connection', (socket: Socket) => {
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
    });
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      this.#handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) send(res, 500, { message: `simulator error: ${String(err)}` });
        else res.destroy();
      });
    });
    if (options.scenario) this.load(options.scenario);
  }

  // ---- control ------------------------------------------------------------------------------------------------

  /** Replace the world with a scenario; its clock starts now. */
  load(scenario: Scenario): void {
    this.#scenario = scenario;
    this.#scenarioStart = this.#now();
    this.#nextStep = 0;
    this.sessions.clear();
    this.repositories.clear();
    this.applied.length = 0;
    for (const repo of scenario.repositories ?? []) this.repositories.set(repo.id, { ...repo });
    this.jobs.splice(0, this.jobs.length, ...(scenario.jobs ?? []).map((j) => this.#scheduled({ ...j })));
    this.proxies.clear();
    for (const proxy of scenario.proxies ?? []) this.proxies.set(proxy.id, { ...proxy });
    this.organizations.clear();
    for (const org of scenario.organizations ?? []) this.organizations.set(org.id, { ...org });
    this.jobSessions.splice(0, this.jobSessions.length, ...(scenario.jobSessions ?? []).map((j) => ({ ...j })));
    this.health = structuredClone(scenario.health ?? healthyReport());
    this.build = scenario.build ?? this.#initialBuild;
  }

  /** Apply the next step of the scenario whatever its time. Returns its note, or `undefined` when none is left. */
  step(): string | undefined {
    const step = this.#scenario?.steps[this.#nextStep];
    if (!step) return undefined;
    this.#nextStep += 1;
    this.apply(step.actions);
    const note = step.note ?? step.actions.map((a) => a.op).join(', ');
    this.applied.push(note);
    return note;
  }

  /** Apply every step whose `at` has come (by the injected clock). Also runs before each request. */
  applyDue(): void {
    const elapsedSeconds = (this.#now() - this.#scenarioStart) / 1000;
    for (;;) {
      const step = this.#scenario?.steps[this.#nextStep];
      if (!step || step.at === undefined || step.at > elapsedSeconds) return;
      this.step();
    }
  }

  /** Steps not applied yet. */
  get remainingSteps(): number {
    return (this.#scenario?.steps.length ?? 0) - this.#nextStep;
  }

  apply(actions: readonly ScenarioAction[]): void {
    for (const action of actions) this.#applyAction(action);
  }

  /** Add a fault rule; rules are matched in the order added. */
  inject(rule: FaultRule): void {
    this.#faults.push({ ...rule, used: 0, seen: 0 });
  }

  clearFaults(): void {
    this.#faults = [];
  }

  resetCounters(): void {
    for (const r of ROUTES) {
      this.counters[r] = 0;
      this.withAuthorization[r] = 0;
    }
  }

  /** Total requests across routes since the last reset. */
  get totalRequests(): number {
    return ROUTES.reduce((n, r) => n + this.counters[r], 0);
  }

  /** Invalidate every access token (as a service restart does); refresh tokens survive unless `refresh` is set. */
  revokeTokens(options: { refresh?: boolean } = {}): void {
    this.#access.clear();
    if (options.refresh) this.#refresh.clear();
  }

  /** Every access and refresh token issued so far (for tests that check nothing leaks). */
  issuedTokens(): string[] {
    return [...this.#issued];
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  // ---- HTTP ---------------------------------------------------------------------------------------------------

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.url);
    const segments = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    const version = segments[0] as SimVersion | undefined;
    const route = routeOf(req.method ?? 'GET', segments.slice(1));
    this.counters[route] += 1;
    if (req.headers.authorization !== undefined) this.withAuthorization[route] += 1;
    this.lastQuery[route] = url.searchParams;
    const body = await readBody(req);
    this.applyDue();
    if (!this.serviceRunning) {
      req.socket.destroy();
      return;
    }

    const fault = this.#takeFault(route);
    if (fault?.kind === 'latency') await sleep(fault.ms);
    if (fault?.kind === 'reset') {
      req.socket.destroy();
      return;
    }
    if (fault?.kind === 'status') {
      const headers: Record<string, string> =
        fault.retryAfter === undefined ? {} : { 'retry-after': String(fault.retryAfter) };
      sendRaw(res, fault.status, fault.body ?? JSON.stringify({ message: `injected ${fault.status}` }), headers);
      return;
    }
    if (fault?.kind === 'unauthorized') {
      send(res, 401, { message: 'Authorization has been denied for this request.' });
      return;
    }

    if (!version || !this.#versions.has(version) || route === 'unknown' || !servedIn(version, route)) {
      send(res, 404, this.#notFound(version ?? 'v8', 'The requested resource is not found.'));
      return;
    }

    const answer = this.#answer(version, route, segments.slice(1), req, body);
    if (answer.status !== 200 || !fault) {
      send(res, answer.status, answer.json);
      return;
    }
    const text = JSON.stringify(answer.json);
    switch (fault.kind) {
      case 'malformed':
        sendRaw(res, 200, '{"id": "oops", this is not json');
        return;
      case 'truncated':
        sendRaw(res, 200, text.slice(0, Math.max(1, Math.floor(text.length / 2))));
        return;
      case 'oversized': {
        const padded = `{"padding":"${'x'.repeat(Math.max(0, fault.bytes))}","data":${text}}`;
        if (fault.declareLength === false) {
          res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
          for (let i = 0; i < padded.length; i += 65_536) res.write(padded.slice(i, i + 65_536));
          res.end();
        } else sendRaw(res, 200, padded);
        return;
      }
      case 'slowBody': {
        const chunks = fault.chunks ?? 4;
        const size = Math.ceil(text.length / chunks);
        res.writeHead(200, {
          'content-type': 'application/json; charset=utf-8',
          'content-length': Buffer.byteLength(text),
        });
        for (let i = 0; i < text.length; i += size) {
          if (res.destroyed) return;
          res.write(text.slice(i, i + size));
          await sleep(fault.chunkDelayMs);
        }
        res.end();
        return;
      }
      case 'body':
        send(res, 200, fault.json);
        return;
      default:
        send(res, answer.status, answer.json);
    }
  }

  #answer(
    version: SimVersion,
    route: Route,
    rest: string[],
    req: IncomingMessage,
    body: string,
  ): { status: number; json: unknown } {
    if (route === 'token') return this.#token(req, body);
    // Anonymous, like the token endpoint; ASP.NET health checks answer 503 with the same body when Unhealthy.
    if (route === 'health') return { status: this.health.status === 'Unhealthy' ? 503 : 200, json: this.#healthJson() };
    if (route === 'serviceInstance') {
      if (!this.#authorized(version, req))
        return { status: 401, json: { message: 'Authorization has been denied for this request.' } };
      return { status: 200, json: { installationId: '5c2f8a39-7c2b-4b51-9a52-2b7f7d1b5e10', version: this.build } };
    }
    if (!this.#authorized(version, req)) {
      return { status: 401, json: { message: 'Authorization has been denied for this request.' } };
    }
    switch (route) {
      case 'logout':
        this.#access.delete(bearer(req) ?? '');
        return { status: version === 'v8' ? 204 : 200, json: null };
      case 'listSessions':
        return { status: 200, json: [...this.sessions.values()].map((s) => this.#sessionJson(version, s, true)) };
      case 'getSession': {
        const session = this.sessions.get(rest[1] ?? '');
        if (!session)
          return { status: 404, json: this.#notFound(version, 'Repository synchronization session not found.') };
        return { status: 200, json: this.#sessionJson(version, session, false) };
      }
      case 'getRepository': {
        const repo = [...this.repositories.values()].find((r) => r.id.toLowerCase() === (rest[1] ?? '').toLowerCase());
        if (!repo) return { status: 404, json: this.#notFound(version, 'Backup repository not found.') };
        return { status: 200, json: this.#repositoryJson(version, repo) };
      }
      case 'listRepositories':
        return this.#page(
          version,
          req,
          [...this.repositories.values()].map((r) => this.#repositoryJson(version, r)),
        );
      case 'listJobs':
        return this.#page(
          version,
          req,
          this.jobs.filter((j) => j.kind !== 'copy').map((j) => this.#jobJson(version, j)),
        );
      case 'listCopyJobs':
        return this.#page(
          version,
          req,
          this.jobs.filter((j) => j.kind === 'copy').map((j) => this.#jobJson(version, j)),
        );
      case 'listProxies':
        return this.#page(
          version,
          req,
          [...this.proxies.values()].map((p) => this.#proxyJson(version, p)),
        );
      case 'listOrganizations':
        return this.#page(
          version,
          req,
          [...this.organizations.values()].map((o) => ({
            id: o.id,
            name: o.name,
            officeName: `${o.name.toLowerCase().replace(/[^a-z0-9]+/g, '')}.onmicrosoft.com`,
            type: 'Office365',
            isBackedup: true,
            _links: { self: { href: this.#href(version, `organizations/${o.id}`) } },
          })),
        );
      case 'listJobSessions':
        return this.#page(version, req, this.#jobSessionsJson(version, req), true);
      default:
        return { status: 404, json: this.#notFound(version, 'The requested resource is not found.') };
    }
  }

  /** A collection: a plain array before v8; a page (`offset`, `limit`, default 30) in v8, or always with `paged`. */
  #page(version: SimVersion, req: IncomingMessage, all: unknown[], paged = false): { status: number; json: unknown } {
    if (version !== 'v8' && !paged) return { status: 200, json: all };
    const query = new URL(req.url ?? '/', this.url).searchParams;
    const offset = Number(query.get('offset') ?? 0);
    const limit = Math.min(Number(query.get('limit') ?? 30), 10_000);
    return {
      status: 200,
      json: { offset, limit, setId: randomUUID(), results: all.slice(offset, offset + limit), _links: {} },
    };
  }

  #token(req: IncomingMessage, body: string): { status: number; json: unknown } {
    if (req.method !== 'POST')
      return { status: 405, json: { message: 'The requested resource does not support GET.' } };
    const params = parseForm(req.headers['content-type'], body);
    const antiforgeryDisabled = String(params.disable_antiforgery_token).toLowerCase() === 'true';
    this.grants.push(String(params.grant_type));
    const invalid = (description: string) => ({
      status: 400,
      json: { error: 'invalid_grant', error_description: description },
    });
    if (params.grant_type === 'password') {
      if (params.username !== this.username || params.password !== this.password) {
        return invalid('The user name or password is incorrect.');
      }
    } else if (params.grant_type === 'refresh_token') {
      const known = this.#refresh.get(String(params.refresh_token ?? ''));
      if (!known) return invalid('The refresh token is invalid or expired.');
      this.#refresh.delete(String(params.refresh_token));
    } else {
      return { status: 400, json: { error: 'unsupported_grant_type' } };
    }
    const access = randomBytes(24).toString('base64url');
    const refresh = randomBytes(24).toString('base64url');
    const issuedAt = this.#now();
    const expiresAt = issuedAt + this.tokenLifetimeSeconds * 1000;
    this.#access.set(access, { expiresAt, antiforgeryDisabled });
    this.#refresh.set(refresh, { expiresAt: Number.POSITIVE_INFINITY, antiforgeryDisabled });
    this.#issued.push(access, refresh);
    return {
      status: 200,
      json: {
        access_token: access,
        token_type: 'bearer',
        expires_in: this.tokenLifetimeSeconds,
        refresh_token: refresh,
        userName: this.username,
        '.issued': new Date(issuedAt).toUTCString(),
        '.expires': new Date(expiresAt).toUTCString(),
      },
    };
  }

  /** A valid, unexpired token; from v7 on it must have been requested with `disable_antiforgery_token=true`. */
  #authorized(version: SimVersion, req: IncomingMessage): boolean {
    const token = this.#access.get(bearer(req) ?? '');
    if (!token || token.expiresAt <= this.#now()) return false;
    // A token issued for a browser needs the antiforgery cookie too, which a headless client never has.
    return version === 'v5' || version === 'v6' || token.antiforgeryDisabled;
  }

  #sessionJson(version: SimVersion, s: SimSession, listed: boolean): Record<string, unknown> {
    const links = {
      self: { href: this.#href(version, `RepositorySynchronizeSessions/${s.id}`) },
      repository: { href: this.#href(version, `backuprepositories/${s.repositoryId}`) },
    };
    if (version === 'v5') {
      // v5 documents progressPercent as a string, has no error field, and the single GET has no id.
      const json: Record<string, unknown> = {
        repositoryId: s.repositoryId,
        state: s.state,
        progressPercent: String(s.progressPercent),
        _links: links,
      };
      return listed ? { id: s.id, ...json } : json;
    }
    return {
      id: s.id,
      repositoryId: s.repositoryId,
      state: s.state,
      progressPercent: s.progressPercent,
      error: s.error,
      _links: links,
    };
  }

  #repositoryJson(version: SimVersion, r: SimRepository): Record<string, unknown> {
    return {
      id: r.id,
      name: r.name,
      description: `Object storage repository ${r.name}`,
      isOutOfSync: r.isOutOfSync,
      isLongTerm: false,
      ...(r.proxyId !== undefined ? { proxyId: r.proxyId } : {}),
      ...(version === 'v8'
        ? {
            isOutdated: r.isOutdated ?? false,
            isIndexed: true,
            isMigrationLocked: r.isMigrationLocked ?? false,
            isOutOfOrder: r.isOutOfOrder ?? false,
            outOfOrderReason: r.outOfOrderReason ?? null,
            organizationId: r.organizationId ?? null,
          }
        : {}),
      _links: { self: { href: this.#href(version, `backuprepositories/${r.id}`) } },
    };
  }

  #jobJson(version: SimVersion, j: SimJob): Record<string, unknown> {
    const copy = j.kind === 'copy';
    return {
      id: j.id,
      name: j.name,
      ...(copy ? { backupJobId: j.backupJobId ?? null } : { description: '' }),
      repositoryId: j.repositoryId,
      isEnabled: j.isEnabled ?? true,
      lastRun: this.#time(version, j.lastRun ?? null),
      nextRun: this.#time(version, j.nextRun ?? null),
      lastStatus: j.lastStatus ?? 'Success',
      _links: { self: { href: this.#href(version, `${copy ? 'copyjobs' : 'jobs'}/${j.id}`) } },
    };
  }

  #proxyJson(version: SimVersion, p: SimProxy): Record<string, unknown> {
    return {
      id: p.id,
      hostName: p.name,
      description: '',
      port: 9193,
      type: 'Domain',
      status: p.status,
      ...(version === 'v8'
        ? {
            fqdn: p.name,
            maintenanceModeState: p.maintenanceModeState ?? 'Disabled',
            version: p.version ?? this.build,
            role: ['BackupProxy'],
          }
        : {}),
      _links: { self: { href: this.#href(version, `proxies/${p.id}`) } },
    };
  }

  /** Job sessions filtered as the version filters them: `jobId` from v7 on, `endTimeLowerBound` in every version. */
  #jobSessionsJson(version: SimVersion, req: IncomingMessage): Record<string, unknown>[] {
    const query = new URL(req.url ?? '/', this.url).searchParams;
    const jobId = version === 'v6' ? null : query.get('jobId');
    const lower = query.get('endTimeLowerBound');
    const lowerMs = lower === null ? Number.NEGATIVE_INFINITY : Date.parse(lower);
    return this.jobSessions
      .filter((s) => jobId === null || s.jobId.toLowerCase() === jobId.toLowerCase())
      .filter((s) => lower === null || (s.endTime !== null && Date.parse(s.endTime) >= lowerMs))
      .map((s) => {
        const job = this.jobs.find((j) => j.id === s.jobId);
        return {
          id: s.id,
          jobId: s.jobId,
          repositoryId: job?.repositoryId ?? null,
          details: s.details ?? '',
          creationTime: this.#time(version, s.creationTime),
          endTime: this.#time(version, s.endTime),
          retryCount: 0,
          jobWillBeRetried: false,
          progress: 0,
          ...(version === 'v6' ? {} : { jobType: job?.kind === 'copy' ? 'Copy' : 'Backup' }),
          status: s.status,
          _links: { self: { href: this.#href(version, `jobsessions/${s.id}`) } },
        };
      });
  }

  #healthJson(): Record<string, unknown> {
    return {
      status: this.health.status,
      entries: Object.fromEntries(
        this.health.entries.map((e) => [e.name, { status: e.status, description: e.description ?? null }]),
      ),
    };
  }

  /**
   * A date-time as the version sends it: v8 in UTC with `Z`; v5–v7 without a zone (as some older builds are reported to
   * do), so clients meet both shapes.
   */
  #time(version: SimVersion, iso: string | null): string | null {
    if (iso === null) return null;
    const utc = new Date(iso).toISOString();
    return version === 'v8' ? utc : utc.replace(/\.\d{3}Z$/, '');
  }

  /** v5 documents absolute links; v6+ relative ones (with the lower-case collection names the docs show). */
  #href(version: SimVersion, path: string): string {
    return version === 'v5' ? `${this.url}/${version}/${path}` : `/${version}/${path}`;
  }

  #notFound(version: SimVersion, message: string): Record<string, unknown> {
    return version === 'v8' ? { message, errorCode: 'ResourceNotFound', stackTrace: null } : { message };
  }

  #takeFault(route: Route): Fault | undefined {
    for (const rule of this.#faults) {
      if (rule.route !== '*' && rule.route !== route) continue;
      rule.seen += 1;
      if (rule.seen <= (rule.skip ?? 0)) continue;
      if (rule.used >= (rule.times ?? 1)) continue;
      rule.used += 1;
      return rule.fault;
    }
    return undefined;
  }

  #applyAction(action: ScenarioAction): void {
    switch (action.op) {
      case 'repository': {
        const { op: _op, ...fields } = action;
        const existing = this.repositories.get(action.id);
        this.repositories.set(action.id, {
          ...existing,
          ...fields,
          name: action.name ?? existing?.name ?? action.id,
          isOutOfSync: action.isOutOfSync ?? existing?.isOutOfSync ?? false,
        });
        return;
      }
      case 'proxy': {
        const { op: _op, ...fields } = action;
        const existing = this.proxies.get(action.id);
        this.proxies.set(action.id, {
          ...existing,
          ...fields,
          name: action.name ?? existing?.name ?? action.id,
          status: action.status ?? existing?.status ?? 'Online',
        });
        return;
      }
      case 'job': {
        const { op: _op, ...fields } = action;
        const at = this.jobs.findIndex((j) => j.id === action.id);
        const existing = at >= 0 ? this.jobs[at] : undefined;
        const job: SimJob = {
          ...existing,
          ...fields,
          name: action.name ?? existing?.name ?? action.id,
          repositoryId: action.repositoryId ?? existing?.repositoryId ?? '',
        };
        if (at >= 0) this.jobs[at] = this.#scheduled(job);
        else this.jobs.push(this.#scheduled(job));
        return;
      }
      case 'jobRun': {
        const job = this.jobs.find((j) => j.id === action.job);
        if (!job) throw new Error(`scenario: unknown job ${action.job}`);
        const now = new Date(this.#now()).toISOString();
        const running = action.status === 'Running';
        const existing = this.jobSessions.find((s) => s.id === action.session);
        const session: SimJobSession = {
          id: action.session,
          jobId: action.job,
          status: action.status,
          creationTime: action.creationTime ?? existing?.creationTime ?? now,
          endTime: running ? null : (action.endTime ?? now),
          ...(action.details !== undefined ? { details: action.details } : {}),
        };
        if (existing) Object.assign(existing, session);
        else this.jobSessions.push(session);
        job.lastRun = session.creationTime;
        job.lastStatus = action.status;
        return;
      }
      case 'organization':
        this.organizations.set(action.id, { id: action.id, name: action.name });
        return;
      case 'health':
        this.health = { status: action.status, entries: structuredClone(action.entries ?? this.health.entries) };
        return;
      case 'build':
        this.build = action.version;
        return;
      case 'start': {
        const repo = this.repositories.get(action.repository);
        if (repo) repo.isOutOfSync = true;
        else
          this.repositories.set(action.repository, {
            id: action.repository,
            name: action.repository,
            isOutOfSync: true,
          });
        this.sessions.set(action.session, {
          id: action.session,
          repositoryId: action.repository,
          state: 'Synchronizing',
          progressPercent: action.progress ?? 0,
          error: null,
        });
        return;
      }
      case 'progress':
        this.#session(action.session).progressPercent = action.progress;
        return;
      case 'fail': {
        const s = this.#session(action.session);
        s.state = 'Failed';
        s.error = action.error;
        return;
      }
      case 'state': {
        const s = this.#session(action.session);
        s.state = action.state;
        if (action.progress !== undefined) s.progressPercent = action.progress;
        return;
      }
      case 'vanish':
        this.sessions.delete(action.session);
        return;
      case 'service':
        this.serviceRunning = action.running;
        if (!action.running) this.#access.clear(); // a restarted service has forgotten its tokens
        return;
      case 'inSync': {
        const repo = this.repositories.get(action.repository);
        if (!repo) throw new Error(`scenario: unknown repository ${action.repository}`);
        repo.isOutOfSync = action.isOutOfSync ?? false;
        return;
      }
    }
  }

  /** The job with a relative `nextRunIn` turned into `nextRun`. */
  #scheduled(job: SimJob): SimJob {
    if (job.nextRunIn === undefined) return job;
    const { nextRunIn, ...rest } = job;
    return { ...rest, nextRun: new Date(this.#now() + nextRunIn * 1000).toISOString() };
  }

  #session(id: string): SimSession {
    const s = this.sessions.get(id);
    if (!s) throw new Error(`scenario: unknown session ${id}`);
    return s;
  }
}

/** Start a simulator on loopback HTTPS with a freshly generated CA (unless one is given). */
export async function startSimulator(options: SimulatorOptions = {}): Promise<Vb365Simulator> {
  const pki = options.pki ?? (await generatePki());
  const server = createServer({ key: pki.serverKey, cert: pki.serverCert, keepAliveTimeout: 5_000 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return new Vb365Simulator(server, pki, port, options);
}

function routeOf(method: string, rest: string[]): Route {
  const [collection, id, action] = rest.map((s) => s.toLowerCase());
  if (collection === 'serviceinstance' && !id && method === 'GET') return 'serviceInstance';
  if (collection === 'token' && !id) return 'token';
  if (collection === 'token' && id === 'logout' && method === 'POST') return 'logout';
  if (collection === 'repositorysynchronizesessions' && method === 'GET' && !action)
    return id ? 'getSession' : 'listSessions';
  if (collection === 'backuprepositories' && method === 'GET' && !action)
    return id ? 'getRepository' : 'listRepositories';
  if (collection === 'jobs' && method === 'GET' && !id) return 'listJobs';
  if (method !== 'GET' || id) return 'unknown';
  const lists: Record<string, Route> = {
    copyjobs: 'listCopyJobs',
    proxies: 'listProxies',
    organizations: 'listOrganizations',
    jobsessions: 'listJobSessions',
    health: 'health',
  };
  return (collection !== undefined && Object.hasOwn(lists, collection) ? lists[collection] : undefined) ?? 'unknown';
}

function servedIn(version: SimVersion, route: Route): boolean {
  const since = SERVED_SINCE[route];
  return since === undefined || version >= since;
}

function bearer(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  return header?.startsWith('Bearer ') ? header.slice(7) : undefined;
}

function parseForm(contentType: string | undefined, body: string): Record<string, unknown> {
  if (contentType?.includes('application/json')) {
    try {
      return JSON.parse(body) as Record<string, unknown>;
    } catch {
      return {};
    }
  }
  return Object.fromEntries(new URLSearchParams(body));
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function send(res: ServerResponse, status: number, json: unknown): void {
  if (status === 204 || json === null) {
    res.writeHead(status).end();
    return;
  }
  sendRaw(res, status, JSON.stringify(json));
}

function sendRaw(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
