import { UpstreamError } from '../../lambda/domain/errors.js';
import type { Vb365Api } from '../../lambda/domain/ports.js';
import type {
  ApiVersion,
  HealthReport,
  JobInfo,
  JobSessionInfo,
  Lookup,
  Optional,
  OrganizationInfo,
  ProxyInfo,
  RepositoryInfo,
  ServerCertificate,
  ServiceInstance,
  SessionList,
  SyncSession,
} from '../../lambda/domain/types.js';

/** The optional reads, by name (see `Optional`). */
export type OptionalRead =
  | 'listCopyJobs'
  | 'listProxies'
  | 'health'
  | 'serviceInstance'
  | 'listJobSessions'
  | 'listOrganizations';

/** Vb365Api over plain data, for use-case tests: set `sessions`, `repositories`, or `down` to fail every call. */
export class StubVb365Api implements Vb365Api {
  sessions: SyncSession[] = [];
  repositories = new Map<string, RepositoryInfo>();
  /** When set, every call throws it. */
  down: UpstreamError | undefined;
  /** Session ids whose single GET throws (isolated failure). */
  readonly brokenSessions = new Set<string>();
  /** Session ids that the list omits but whose single GET still finds (list lag). */
  readonly hiddenFromList = new Set<string>();
  readonly calls = {
    list: 0,
    getSession: 0,
    getRepository: 0,
    listRepositories: 0,
    listJobs: 0,
    listCopyJobs: 0,
    listProxies: 0,
    health: 0,
    serviceInstance: 0,
    listJobSessions: 0,
    listOrganizations: 0,
  };
  copyJobs: JobInfo[] = [];
  proxies: ProxyInfo[] = [];
  healthReport: HealthReport = { status: 'Healthy', entries: [] };
  /** The product build `serviceInstance` reports. */
  build: string | null = '8.1.0.305';
  /** Runs of jobs, by job id (filtered by end time when listed). */
  jobSessions = new Map<string, JobSessionInfo[]>();
  organizations: OrganizationInfo[] = [];
  /** Optional reads this server lacks (answered `available: false`, as an older version or a 403/404 would). */
  readonly unavailable = new Set<OptionalRead>();
  /** Optional reads that fail (an `UpstreamError`, as a 5xx or a timeout would). */
  readonly failing = new Set<OptionalRead>();

  async listCopyJobs(): Promise<Optional<JobInfo[]>> {
    return this.#optional('listCopyJobs', () => this.copyJobs.map((j) => ({ ...j, kind: 'copy' as const })));
  }

  async listProxies(): Promise<Optional<ProxyInfo[]>> {
    return this.#optional('listProxies', () => this.proxies.map((p) => ({ ...p })));
  }

  async health(): Promise<Optional<HealthReport>> {
    return this.#optional('health', () => this.healthReport);
  }

  async serviceInstance(): Promise<Optional<ServiceInstance>> {
    return this.#optional('serviceInstance', () => ({ version: this.build }));
  }

  async listJobSessions(jobId: string, endedAfter: string): Promise<Optional<JobSessionInfo[]>> {
    return this.#optional('listJobSessions', () =>
      (this.jobSessions.get(jobId) ?? []).filter((s) => s.endTime !== null && s.endTime >= endedAfter),
    );
  }

  async listOrganizations(): Promise<Optional<OrganizationInfo[]>> {
    return this.#optional('listOrganizations', () => this.organizations.map((o) => ({ ...o })));
  }

  #optional<T>(read: OptionalRead, value: () => T): Optional<T> {
    this.calls[read] += 1;
    this.#check();
    if (this.unavailable.has(read)) return { available: false, reason: `GET ${read} answered 404` };
    if (this.failing.has(read)) throw new UpstreamError('response', `GET ${read}: malformed`);
    return { available: true, value: value() };
  }
  jobs: JobInfo[] = [];
  /** When set, listing the jobs fails (and only that). */
  jobsDown = false;

  async listRepositories(): Promise<RepositoryInfo[]> {
    this.calls.listRepositories += 1;
    this.#check();
    return [...this.repositories.values()].map((r) => ({ ...r }));
  }

  async listJobs(): Promise<JobInfo[]> {
    this.calls.listJobs += 1;
    this.#check();
    if (this.jobsDown) throw new UpstreamError('response', 'GET /v8/Jobs: malformed');
    return this.jobs.map((j) => ({ ...j }));
  }

  /** What `certificate()` reports. */
  cert: ServerCertificate | undefined;

  certificate(): ServerCertificate | undefined {
    return this.cert;
  }

  async apiVersion(): Promise<ApiVersion> {
    this.#check();
    return 'v8';
  }

  async listSessions(): Promise<SessionList> {
    this.calls.list += 1;
    this.#check();
    return {
      sessions: this.sessions.filter((s) => !this.hiddenFromList.has(s.id)).map((s) => ({ ...s })),
      malformed: [],
    };
  }

  async getSession(id: string): Promise<Lookup<SyncSession>> {
    this.calls.getSession += 1;
    this.#check();
    if (this.brokenSessions.has(id)) throw new UpstreamError('response', `GET session ${id}: malformed`);
    const s = this.sessions.find((x) => x.id === id);
    return s ? { found: true, value: { ...s } } : { found: false };
  }

  async getRepository(id: string): Promise<Lookup<RepositoryInfo>> {
    this.calls.getRepository += 1;
    this.#check();
    const r = this.repositories.get(id);
    return r ? { found: true, value: { ...r } } : { found: false };
  }

  #check(): void {
    if (this.down) throw this.down;
  }
}
