import { UpstreamError } from '../../lambda/domain/errors.js';
import type { Vb365Api } from '../../lambda/domain/ports.js';
import type {
  ApiVersion,
  JobInfo,
  Lookup,
  RepositoryInfo,
  ServerCertificate,
  SessionList,
  SyncSession,
} from '../../lambda/domain/types.js';

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
  readonly calls = { list: 0, getSession: 0, getRepository: 0, listRepositories: 0, listJobs: 0 };
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
