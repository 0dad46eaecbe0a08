import type { PeerCertificate } from 'node:tls';
import type { Dispatcher } from 'undici';
import { credentialsInUrl, isLoopback, withoutUserinfo } from '../../connection-checks.js';
import {
  UpstreamAuthError,
  UpstreamError,
  UpstreamResponseError,
  UpstreamTlsError,
  UpstreamUnreachableError,
  UpstreamUnsupportedError,
} from '../../domain/errors.js';
import type { CallOptions, Vb365Api } from '../../domain/ports.js';
import {
  API_VERSIONS,
  type ApiVersion,
  type ApiVersionSetting,
  type HealthReport,
  type JobInfo,
  type JobSessionInfo,
  type Lookup,
  type Optional,
  type OrganizationInfo,
  type ProxyInfo,
  type RepositoryInfo,
  type ServerCertificate,
  type ServiceInstance,
  type SessionList,
  type SyncSession,
} from '../../domain/types.js';
import { Redactor } from '../http/redact.js';
import { backoff } from '../http/retry-policy.js';
import { Agent, retry } from '../http/undici.js';
import { cut, wellFormed } from '../limits.js';
import { CertificateRefusedError, PIN_MISMATCH_CODE, type PresentedCertificate, pinningConnector } from './tls.js';
import {
  normaliseDate,
  parseHealth,
  parseJobList,
  parseJobSessionList,
  parseOrganizationList,
  parseProxyList,
  parseRepository,
  parseRepositoryList,
  parseServiceInstance,
  parseSession,
  parseSessionList,
} from './wire.js';

/** Username and password for the password grant. */
export interface Vb365Credentials {
  readonly username: string;
  readonly password: string;
}

/** Options of {@link HttpVb365Api}. Only `baseUrl` and `credentials` are required. */
export interface HttpVb365ApiOptions {
  /** Development only: accept `http://` to a loopback address (a local stand-in without TLS). @default false */
  readonly allowHttpLoopback?: boolean;
  /** `https://host:4443` (a path prefix is kept, e.g. behind a reverse proxy). */
  readonly baseUrl: string;
  /** @default 'auto' — probe `GET /{v}/ServiceInstance` from v8 down, once. */
  readonly apiVersion?: ApiVersionSetting;
  /**
   * Called when a password grant is needed (e.g. reads Secrets Manager). Its values are redacted everywhere. If it
   * throws an `UpstreamError` (e.g. `UpstreamSetupError` for a secret still holding its placeholder), the call fails
   * with exactly that error; anything else fails it with `UpstreamAuthError` ("credentials unavailable").
   */
  readonly credentials: () => Vb365Credentials | Promise<Vb365Credentials>;
  /**
   * PEM CA bundle trusted for this server, in addition to nothing else (the system store is then not used). Without
   * it and without a pin, Node's bundled roots decide.
   */
  readonly ca?: string | undefined;
  /**
   * SHA-256 fingerprint of the server's certificate (64 hex digits, colons optional, any case). With `ca`, the chain
   * must verify and the certificate must be this one (instead of naming the host); alone, exactly this certificate is
   * trusted, self-signed or not, and nothing else. See `pinningConnector`.
   */
  readonly pinSha256?: string | undefined;
  /** @default 5_000 */
  readonly connectTimeoutMs?: number;
  /** Time to the response headers. @default 15_000 */
  readonly headersTimeoutMs?: number;
  /** Longest pause between body chunks. @default 15_000 */
  readonly bodyTimeoutMs?: number;
  /** Deadline for one public call, covering login, retries and backoff. @default 30_000 */
  readonly callDeadlineMs?: number;
  /** Bodies larger than this fail with a clear error. @default 5 MiB */
  readonly maxResponseBytes?: number;
  /** Retries of a GET after a network error, 5xx or 429. @default 3 */
  readonly maxRetries?: number;
  /** First backoff (full jitter, doubling). @default 250 */
  readonly retryBaseDelayMs?: number;
  /** Longest backoff between two attempts. @default 4_000 */
  readonly retryMaxDelayMs?: number;
  /** A `Retry-After` longer than this is not waited for: the call fails as unreachable and the next cycle retries. @default 30_000 */
  readonly maxRetryAfterMs?: number;
  /** Refresh the access token this long before `expires_in` runs out. @default 60_000 */
  readonly tokenRefreshMarginMs?: number;
  /** Injected clock (ms since epoch). @default Date.now */
  readonly now?: () => number;
  /** Injected randomness for backoff jitter. @default Math.random */
  readonly random?: () => number;
  /** Replaces the internal agent (tests with undici MockAgent). TLS options are then the dispatcher's business. */
  readonly dispatcher?: Dispatcher;
}

interface Token {
  readonly access: string;
  readonly refresh: string | undefined;
  /** ms since epoch. */
  readonly expiresAt: number;
}

interface Exchange {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
}

interface Ctx {
  readonly signal: AbortSignal;
  readonly deadline: number;
  readonly callerSignal: AbortSignal | undefined;
}

const RETRY_STATUS = [429, 500, 502, 503, 504];
const RETRY_ERROR_CODES = [
  'ECONNRESET',
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ENETDOWN',
  'ENETUNREACH',
  'EHOSTDOWN',
  'EHOSTUNREACH',
  'EPIPE',
  'ETIMEDOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
];
/** Plain words for the network failures an admin meets. */
const NETWORK_WORDS: Record<string, string> = {
  ECONNREFUSED: 'connection refused (is the REST API service running, is the port right?)',
  ECONNRESET: 'connection reset by the server',
  UND_ERR_SOCKET: 'connection closed by the server',
  EPIPE: 'connection closed by the server',
  ENOTFOUND: 'host name not found',
  EAI_AGAIN: 'host name lookup failed',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'connection timed out',
  UND_ERR_CONNECT_TIMEOUT: 'connection timed out',
  UND_ERR_HEADERS_TIMEOUT: 'no answer in time',
  UND_ERR_BODY_TIMEOUT: 'answer stopped arriving',
};

const TLS_ERROR_CODES = new Set([
  PIN_MISMATCH_CODE,
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_REVOKED',
  'CERT_REJECTED',
  'CERT_SIGNATURE_FAILURE',
  'CERT_CHAIN_TOO_LONG',
  'INVALID_CA',
  'INVALID_PURPOSE',
  'PATH_LENGTH_EXCEEDED',
  'HOSTNAME_MISMATCH',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
  'UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY',
]);

/** OpenSSL verification results, Node's TLS name checks, and TLS protocol failures (e.g. plain HTTP on the port). */
function isTlsError(code: string | undefined): code is string {
  return (
    code !== undefined && (TLS_ERROR_CODES.has(code) || code.startsWith('ERR_TLS_') || code.startsWith('ERR_SSL_'))
  );
}

/**
 * The VB365 REST API over HTTPS (undici), for one server. One instance per server and container: it keeps a
 * keep-alive connection pool, the access token (refreshed before it expires) and the probed API version.
 *
 * Failure contract: every method throws only `UpstreamError` subclasses whose messages and causes are safe to log.
 * GETs are retried with exponential backoff and full jitter on network errors, 5xx and 429 (`Retry-After` honoured)
 * by undici's retry interceptor, all inside one deadline per call. A 401 triggers one refresh grant, then one
 * password grant, then `UpstreamAuthError`. Any failure on the token endpoint that is not a refusal (5xx, network,
 * timeout) is `UpstreamUnreachableError`, never an authentication error.
 *
 * Optional reads (`Optional`, see {@link OPTIONAL_SINCE}) answer `available: false` without a request when the API
 * version in use predates the endpoint, and when the server answers 403, 404 or 405; otherwise they fail like the others.
 */
export class HttpVb365Api implements Vb365Api {
  readonly #base: URL;
  readonly #setting: ApiVersionSetting;
  readonly #credentials: HttpVb365ApiOptions['credentials'];
  readonly #dispatcher: Dispatcher;
  readonly #ownsDispatcher: boolean;
  readonly #pinned: boolean;
  readonly #redactor = new Redactor();
  readonly #now: () => number;
  readonly #random: () => number;
  readonly #o: Required<
    Pick<
      HttpVb365ApiOptions,
      | 'callDeadlineMs'
      | 'maxResponseBytes'
      | 'maxRetries'
      | 'retryBaseDelayMs'
      | 'retryMaxDelayMs'
      | 'maxRetryAfterMs'
      | 'tokenRefreshMarginMs'
    >
  >;
  #version: ApiVersion | undefined;
  #versionProbe: Promise<ApiVersion> | undefined;
  #token: Token | undefined;
  #tokenRequest: Promise<Token> | undefined;
  #certificate: ServerCertificate | undefined;

  constructor(options: HttpVb365ApiOptions) {
    this.#base = parseBaseUrl(options.baseUrl, options.allowHttpLoopback === true);
    this.#setting = options.apiVersion ?? 'auto';
    this.#version = this.#setting === 'auto' ? undefined : this.#setting;
    this.#credentials = options.credentials;
    this.#now = options.now ?? Date.now;
    this.#random = options.random ?? Math.random;
    this.#o = {
      callDeadlineMs: options.callDeadlineMs ?? 30_000,
      maxResponseBytes: options.maxResponseBytes ?? 5 * 1024 * 1024,
      maxRetries: options.maxRetries ?? 3,
      retryBaseDelayMs: options.retryBaseDelayMs ?? 250,
      retryMaxDelayMs: options.retryMaxDelayMs ?? 4_000,
      maxRetryAfterMs: options.maxRetryAfterMs ?? 30_000,
      tokenRefreshMarginMs: options.tokenRefreshMarginMs ?? 60_000,
    };
    this.#ownsDispatcher = options.dispatcher === undefined;
    this.#pinned = options.pinSha256 !== undefined;
    this.#dispatcher =
      options.dispatcher ??
      new Agent({
        connect: pinningConnector({
          ca: options.ca,
          pinSha256: options.pinSha256,
          timeoutMs: options.connectTimeoutMs ?? 5_000,
          onVerified: (cert) => this.#recordCertificate(cert),
          now: this.#now,
        }),
        headersTimeout: options.headersTimeoutMs ?? 15_000,
        bodyTimeout: options.bodyTimeoutMs ?? 15_000,
        keepAliveTimeout: 10_000,
        connections: 4,
      });
  }

  /** The server's TLS certificate as last seen on a new connection (for `server.certificate_expiring`). */
  certificate(): ServerCertificate | undefined {
    return this.#certificate;
  }

  #recordCertificate(cert: PeerCertificate): void {
    const validTo = Date.parse(cert.valid_to);
    if (!Number.isFinite(validTo)) return;
    this.#certificate = {
      subject: cert.subject?.CN ? `CN=${cert.subject.CN}` : (cert.subjectaltname ?? 'unknown'),
      validTo: new Date(validTo).toISOString(),
      fingerprint256: cert.fingerprint256,
    };
  }

  /** The server's base URL as configured (no credentials in it). */
  get baseUrl(): string {
    return this.#base.toString();
  }

  async apiVersion(options: CallOptions = {}): Promise<ApiVersion> {
    return this.#call(options, (ctx) => this.#resolveVersion(ctx));
  }

  /** Logs in now (the version probe, then the password grant) and reads nothing: `doctor` checks the credentials alone. */
  async login(options: CallOptions = {}): Promise<void> {
    await this.#call(options, (ctx) => this.#currentToken(ctx));
  }

  async listSessions(options: CallOptions = {}): Promise<SessionList> {
    return this.#call(options, async (ctx) => {
      const { label, exchange } = await this.#authorizedGet('RepositorySynchronizeSessions', ctx);
      if (exchange.status === 404) {
        throw new UpstreamUnsupportedError(
          `${label} answered 404: API ${await this.#resolveVersion(ctx)} does not serve sync sessions here; set the API version to auto or an older one`,
          { status: 404 },
        );
      }
      const list = parseSessionList(this.#json(label, this.#expectOk(label, exchange)), this.#base.toString());
      if (list === undefined) throw new UpstreamResponseError(`${label}: body is neither a list nor a session object`);
      return list;
    });
  }

  async getSession(id: string, options: CallOptions = {}): Promise<Lookup<SyncSession>> {
    return this.#call(options, async (ctx) => {
      const { label, exchange } = await this.#authorizedGet(`RepositorySynchronizeSessions/${encodeId(id)}`, ctx);
      if (exchange.status === 404) return { found: false };
      const parsed = parseSession(this.#json(label, this.#expectOk(label, exchange)), this.#base.toString(), id);
      if (!parsed.ok) throw new UpstreamResponseError(`${label}: malformed session (${parsed.reason})`);
      return { found: true, value: parsed.value };
    });
  }

  async getRepository(id: string, options: CallOptions = {}): Promise<Lookup<RepositoryInfo>> {
    return this.#call(options, async (ctx) => {
      const { label, exchange } = await this.#authorizedGet(`BackupRepositories/${encodeId(id)}`, ctx);
      if (exchange.status === 404) return { found: false };
      const parsed = parseRepository(this.#json(label, this.#expectOk(label, exchange)), id);
      if (!parsed.ok) throw new UpstreamResponseError(`${label}: malformed repository (${parsed.reason})`);
      return { found: true, value: parsed.value };
    });
  }

  async listRepositories(options: CallOptions = {}): Promise<RepositoryInfo[]> {
    return this.#call(options, (ctx) => this.#listAll('BackupRepositories', parseRepositoryList, ctx));
  }

  async listJobs(options: CallOptions = {}): Promise<JobInfo[]> {
    return this.#call(options, (ctx) => this.#listAll('Jobs', parseJobList, ctx));
  }

  async listCopyJobs(options: CallOptions = {}): Promise<Optional<JobInfo[]>> {
    return this.#optional(options, 'CopyJobs', (ctx) =>
      this.#listAll('CopyJobs', (body) => parseJobList(body, 'copy'), ctx, { optional: true }),
    );
  }

  async listProxies(options: CallOptions = {}): Promise<Optional<ProxyInfo[]>> {
    return this.#optional(options, 'Proxies', (ctx) =>
      this.#listAll('Proxies', parseProxyList, ctx, { optional: true }),
    );
  }

  async listOrganizations(options: CallOptions = {}): Promise<Optional<OrganizationInfo[]>> {
    return this.#optional(options, 'Organizations', (ctx) =>
      this.#listAll('Organizations', parseOrganizationList, ctx, { optional: true }),
    );
  }

  async serviceInstance(options: CallOptions = {}): Promise<Optional<ServiceInstance>> {
    return this.#optional(options, 'ServiceInstance', async (ctx) => {
      const { label, exchange } = await this.#authorizedGet('ServiceInstance', ctx);
      refuseOptional(label, exchange.status);
      const parsed = parseServiceInstance(this.#json(label, this.#expectOk(label, exchange)));
      if (parsed === undefined) throw new UpstreamResponseError(`${label}: body is not a service instance object`);
      return parsed;
    });
  }

  /**
   * `GET /v8/Health`, sent without a token (the endpoint is anonymous). ASP.NET health checks answer 503 with the same
   * body when Unhealthy, so a 503 is not retried and its body is read; a 503 without that body is a server that cannot
   * be used. A 401 counts as a refusal, like a 403: this read sends no credentials that could be at fault.
   */
  async health(options: CallOptions = {}): Promise<Optional<HealthReport>> {
    return this.#optional(options, 'Health', async (ctx) => {
      const version = await this.#resolveVersion(ctx);
      const label = `GET /${version}/Health`;
      const exchange = await this.#send('GET', this.#url(version, 'Health'), ctx, {}, undefined, {
        retryStatus: RETRY_STATUS.filter((status) => status !== 503),
      });
      refuseOptional(label, exchange.status === 401 ? 403 : exchange.status, exchange.status);
      if (exchange.status === 503) {
        const report = parseHealth(this.#jsonOrUndefined(exchange));
        if (report !== undefined) return report;
      }
      const report = parseHealth(this.#json(label, this.#expectOk(label, exchange)));
      if (report === undefined) throw new UpstreamResponseError(`${label}: body is not a health report`);
      return report;
    });
  }

  /**
   * `GET /vN/JobSessions?jobId=…&endTimeLowerBound=…` (v7+; paged in every version). Throws `TypeError` for an
   * `endedAfter` that is not a date-time: that is the caller's mistake, and no request could mean anything with it.
   */
  async listJobSessions(
    jobId: string,
    endedAfter: string,
    options: CallOptions = {},
  ): Promise<Optional<JobSessionInfo[]>> {
    const bound = normaliseDate(endedAfter);
    if (bound === null) {
      throw new TypeError(`listJobSessions: endedAfter ${JSON.stringify(endedAfter)} is not an ISO-8601 date-time`);
    }
    return this.#optional(options, 'JobSessions', async (ctx) => {
      const query = `jobId=${encodeId(jobId)}&endTimeLowerBound=${encodeURIComponent(bound)}`;
      const sessions = await this.#listAll(`JobSessions?${query}`, parseJobSessionList, ctx, {
        optional: true,
        paged: true,
      });
      // Defensive: a server that ignored a filter must not make another job's run, an older one or a running one count.
      const ended = sessions.flatMap((s) =>
        s.endTime !== null && s.endTime >= bound && (s.jobId === null || sameId(s.jobId, jobId)) ? [s] : [],
      );
      // ISO-8601 UTC strings of one format sort as their instants do.
      return ended.sort((a, b) =>
        (a.endTime as string) < (b.endTime as string) ? -1 : a.endTime === b.endTime ? 0 : 1,
      );
    });
  }

  /**
   * One optional read: unavailable without a request when the API version in use predates `endpoint`, unavailable when
   * `read` meets a refusal ({@link refuseOptional}); anything else fails the call as usual.
   */
  async #optional<T>(
    options: CallOptions,
    endpoint: keyof typeof OPTIONAL_SINCE,
    read: (ctx: Ctx) => Promise<T>,
  ): Promise<Optional<T>> {
    return this.#call(options, async (ctx) => {
      const version = await this.#resolveVersion(ctx);
      const since = OPTIONAL_SINCE[endpoint];
      if (version < since) {
        return { available: false, reason: `API ${version} has no /${endpoint} (${since} and later)` };
      }
      try {
        return { available: true, value: await read(ctx) };
      } catch (err) {
        if (err instanceof OptionalRefused) return { available: false, reason: err.message };
        throw err;
      }
    });
  }

  /**
   * A whole collection: one GET on v5–v7 (a plain array), pages of `PAGE_LIMIT` on v8 (`offset`/`limit`), or in every
   * version with `paged`. With `optional`, a 403/404/405 is a refusal ({@link refuseOptional}).
   */
  async #listAll<T>(
    path: string,
    parse: (body: unknown) => T[] | undefined,
    ctx: Ctx,
    how: { readonly optional?: boolean; readonly paged?: boolean } = {},
  ): Promise<T[]> {
    const all: T[] = [];
    const separator = path.includes('?') ? '&' : '?';
    for (let offset = 0, page = 0; page < MAX_PAGES; page++) {
      const paged = how.paged === true || (await this.#resolveVersion(ctx)) === 'v8';
      const { label, exchange } = await this.#authorizedGet(
        paged ? `${path}${separator}offset=${offset}&limit=${PAGE_LIMIT}` : path,
        ctx,
      );
      if (how.optional) refuseOptional(label, exchange.status);
      const body = this.#json(label, this.#expectOk(label, exchange));
      const items = parse(body);
      if (items === undefined) throw new UpstreamResponseError(`${label}: body is not a list`);
      all.push(...items);
      const received = Array.isArray(body) ? body.length : ((body as { results: unknown[] }).results?.length ?? 0);
      if (!paged || received < PAGE_LIMIT) return all;
      offset += received;
    }
    return all;
  }

  /** Ends the session on the server where the version supports it (v7+), then closes the connection pool. */
  async close(options: { logout?: boolean } = {}): Promise<void> {
    const token = this.#token;
    this.#token = undefined;
    if (options.logout && token && this.#version && this.#version >= 'v7') {
      await this.#call({}, async (ctx) => {
        const url = this.#url(this.#version as ApiVersion, 'token/logout');
        const exchange = await this.#send('POST', url, ctx, { authorization: `Bearer ${token.access}` });
        return exchange.status;
      }).catch(() => undefined);
    }
    if (this.#ownsDispatcher) await this.#dispatcher.close();
  }

  // ---- plumbing -----------------------------------------------------------------------------------------------

  /** Runs one public call under its own deadline (and the caller's signal), translating every failure. */
  async #call<T>(options: CallOptions, fn: (ctx: Ctx) => Promise<T>): Promise<T> {
    const deadline = this.#now() + this.#o.callDeadlineMs;
    const timeout = AbortSignal.timeout(this.#o.callDeadlineMs);
    const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
    const ctx: Ctx = { signal, deadline, callerSignal: options.signal };
    try {
      return await fn(ctx);
    } catch (err) {
      throw this.#translate(err, ctx);
    }
  }

  async #resolveVersion(ctx: Ctx): Promise<ApiVersion> {
    if (this.#version) return this.#version;
    this.#versionProbe ??= this.#probeVersion(ctx).finally(() => {
      this.#versionProbe = undefined;
    });
    return this.#versionProbe;
  }

  /** `GET /{v}/ServiceInstance` without a token: 200, 401 or 403 mean the version is served, 404 that it is not. */
  async #probeVersion(ctx: Ctx): Promise<ApiVersion> {
    for (const version of API_VERSIONS) {
      const exchange = await this.#send('GET', this.#url(version, 'ServiceInstance'), ctx);
      if ([200, 401, 403].includes(exchange.status)) {
        this.#version = version;
        return version;
      }
      if (exchange.status !== 404) this.#expectOk(`GET /${version}/ServiceInstance`, exchange);
    }
    throw new UpstreamUnsupportedError(
      `no VB365 REST API version (${API_VERSIONS.join(', ')}) is served at ${this.#base.origin}: check the URL and port (default 4443)`,
    );
  }

  /** A GET with the bearer token; on 401 one refresh grant, then one password grant, then an auth error. */
  async #authorizedGet(path: string, ctx: Ctx): Promise<{ label: string; exchange: Exchange }> {
    const version = await this.#resolveVersion(ctx);
    const label = `GET /${version}/${path}`;
    const url = this.#url(version, path);
    let token = await this.#currentToken(ctx);
    for (const recovery of ['refresh', 'login', undefined] as const) {
      const exchange = await this.#send('GET', url, ctx, { authorization: `Bearer ${token.access}` });
      if (exchange.status !== 401) return { label, exchange };
      if (recovery === undefined) break;
      token = await this.#replaceToken(ctx, token, recovery === 'refresh');
    }
    throw new UpstreamAuthError(
      `${label} answered 401 even after a fresh login: check the account's role and the REST API settings`,
      {
        status: 401,
      },
    );
  }

  async #currentToken(ctx: Ctx): Promise<Token> {
    const token = this.#token;
    if (token && this.#now() < token.expiresAt - this.#o.tokenRefreshMarginMs) return token;
    return this.#replaceToken(ctx, token, true);
  }

  /**
   * One token request at a time, shared by concurrent callers. `stale` is the token being replaced: when another
   * caller already replaced it, that newer token is used. With `useRefresh` and a refresh token, the refresh grant is
   * tried first and a refusal falls back to the password grant; otherwise the password grant is used directly.
   */
  async #replaceToken(ctx: Ctx, stale: Token | undefined, useRefresh: boolean): Promise<Token> {
    if (this.#tokenRequest) return this.#tokenRequest;
    if (this.#token && this.#token !== stale && this.#now() < this.#token.expiresAt - this.#o.tokenRefreshMarginMs) {
      return this.#token;
    }
    this.#tokenRequest = (async () => {
      const version = await this.#resolveVersion(ctx);
      let token: Token | undefined;
      if (useRefresh && stale?.refresh) {
        token = await this.#grant(version, { grant_type: 'refresh_token', refresh_token: stale.refresh }, ctx).catch(
          (err: unknown) => {
            if (err instanceof UpstreamAuthError) return undefined;
            throw err;
          },
        );
      }
      if (!token) {
        const { username, password } = await Promise.resolve()
          .then(() => this.#credentials())
          .catch((err: unknown) => {
            // The caller already said what it is (e.g. a secret not filled in yet): keep its kind and words.
            if (err instanceof UpstreamError) throw err;
            // A missing or malformed secret needs a human, like refused credentials do.
            throw new UpstreamAuthError(
              `credentials unavailable: ${this.#redactor.text(String((err as Error)?.message ?? err))}`,
              {
                cause: this.#redactor.cause(err),
              },
            );
          });
        this.#redactor.add(password);
        token = await this.#grant(version, { grant_type: 'password', username, password }, ctx);
      }
      this.#token = token;
      return token;
    })().finally(() => {
      this.#tokenRequest = undefined;
    });
    return this.#tokenRequest;
  }

  async #grant(version: ApiVersion, params: Record<string, string>, ctx: Ctx): Promise<Token> {
    const label = `POST /${version}/token (${params.grant_type} grant)`;
    // VB365 v7+ ties tokens to a browser antiforgery cookie unless told otherwise; a headless client must always opt out.
    const body = new URLSearchParams({ ...params, disable_antiforgery_token: 'true' }).toString();
    const exchange = await this.#send(
      'POST',
      this.#url(version, 'token'),
      ctx,
      {
        'content-type': 'application/x-www-form-urlencoded',
      },
      body,
    );
    if ([400, 401, 403].includes(exchange.status)) {
      throw new UpstreamAuthError(`${label} refused: ${this.#serverReason(exchange)}`, { status: exchange.status });
    }
    if (exchange.status === 404) {
      throw new UpstreamUnsupportedError(`${label} answered 404: API ${version} is not served here`, { status: 404 });
    }
    const json = this.#json(label, this.#expectOk(label, exchange)) as Record<string, unknown> | null;
    const access = typeof json?.access_token === 'string' ? json.access_token : undefined;
    const refresh = typeof json?.refresh_token === 'string' ? json.refresh_token : undefined;
    this.#redactor.add(access, refresh);
    if (!access) throw new UpstreamResponseError(`${label}: response has no access_token`);
    const expiresIn = Number(json?.expires_in);
    // expires_in is authoritative (the lifetime is admin-configurable); 3600 s is the documented default otherwise.
    const lifetimeMs = Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn * 1000 : 3_600_000;
    return { access, refresh, expiresAt: this.#now() + lifetimeMs };
  }

  #url(version: ApiVersion, path: string): URL {
    const prefix = this.#base.pathname.replace(/\/+$/, '');
    return new URL(`${prefix}/${version}/${path}`, this.#base.origin);
  }

  /** One HTTP exchange. GETs go through undici's retry interceptor; the body is always read (or discarded) and capped. */
  async #send(
    method: 'GET' | 'POST',
    url: URL,
    ctx: Ctx,
    headers: Record<string, string> = {},
    body?: string,
    { retryStatus = RETRY_STATUS }: { retryStatus?: readonly number[] } = {},
  ): Promise<Exchange> {
    const dispatcher =
      method === 'GET'
        ? this.#dispatcher.compose(
            retry({
              maxRetries: this.#o.maxRetries,
              methods: ['GET'],
              statusCodes: [...retryStatus],
              errorCodes: RETRY_ERROR_CODES,
              retry: backoff({
                maxRetries: this.#o.maxRetries,
                baseDelayMs: this.#o.retryBaseDelayMs,
                maxDelayMs: this.#o.retryMaxDelayMs,
                maxRetryAfterMs: this.#o.maxRetryAfterMs,
                retriable: ({ statusCode, code }) =>
                  statusCode !== undefined
                    ? retryStatus.includes(statusCode)
                    : code !== undefined && RETRY_ERROR_CODES.includes(code),
                deadline: ctx.deadline,
                signal: ctx.signal,
                now: this.#now,
                random: this.#random,
              }),
            }),
          )
        : this.#dispatcher;
    const res = await dispatcher.request({
      origin: url.origin,
      path: `${url.pathname}${url.search}`,
      method,
      headers: { accept: 'application/json', ...headers },
      body,
      signal: ctx.signal,
    });
    const text = await this.#readCapped(res, `${method} ${url.pathname}`);
    return { status: res.statusCode, headers: res.headers, text };
  }

  async #readCapped(res: Dispatcher.ResponseData, label: string): Promise<string> {
    const cap = this.#o.maxResponseBytes;
    const declared = Number(res.headers['content-length']);
    if (Number.isFinite(declared) && declared > cap) {
      res.body.destroy();
      throw new UpstreamResponseError(`${label}: response of ${declared} bytes exceeds the ${cap}-byte limit`, {
        status: res.statusCode,
      });
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of res.body) {
      size += (chunk as Buffer).length;
      if (size > cap) {
        res.body.destroy();
        throw new UpstreamResponseError(`${label}: response exceeds the ${cap}-byte limit`, { status: res.statusCode });
      }
      chunks.push(chunk as Buffer);
    }
    return Buffer.concat(chunks).toString('utf8');
  }

  /** 2xx passes; 429/5xx is unreachable; 403 is an auth problem; anything else is an unusable response. */
  #expectOk(label: string, exchange: Exchange): Exchange {
    const { status } = exchange;
    if (status >= 200 && status < 300) return exchange;
    const reason = this.#serverReason(exchange);
    if (status === 429 || status >= 500) {
      throw new UpstreamUnreachableError(`${label} answered ${status}: ${reason}`, { status });
    }
    if (status === 401 || status === 403) {
      throw new UpstreamAuthError(`${label} answered ${status}: ${reason}`, { status });
    }
    throw new UpstreamResponseError(`${label} answered ${status}: ${reason}`, { status });
  }

  /** The body as JSON, or `undefined` when it is not JSON (a body read only if it has a known shape). */
  #jsonOrUndefined(exchange: Exchange): unknown {
    try {
      return JSON.parse(exchange.text);
    } catch {
      return undefined;
    }
  }

  #json(label: string, exchange: Exchange): unknown {
    if (exchange.text.trim() === '') return null;
    try {
      return JSON.parse(exchange.text);
    } catch {
      throw new UpstreamResponseError(
        `${label}: body is not valid JSON (${Buffer.byteLength(exchange.text)} bytes, malformed or truncated)`,
        { status: exchange.status },
      );
    }
  }

  /** The server's own explanation (`message`, or OAuth `error`/`error_description`), short and redacted. */
  #serverReason(exchange: Exchange): string {
    let reason = `HTTP ${exchange.status}`;
    try {
      const body = JSON.parse(exchange.text) as Record<string, unknown>;
      const parts = [body.error, body.error_description, body.errorCode, body.message].filter(
        (p): p is string => typeof p === 'string' && p !== '',
      );
      if (parts.length > 0) reason = parts.join(': ');
    } catch {
      // Not JSON: the status says it all; an HTML error page is not worth quoting.
    }
    // Server text like any other (see wire.ts): well-formed, and cut without splitting a surrogate pair.
    return cut(wellFormed(this.#redactor.text(reason)), 300);
  }

  #translate(err: unknown, ctx: Ctx): UpstreamError {
    if (err instanceof UpstreamError) return err;
    const e = err as Error & { code?: string; statusCode?: number };
    const cause = this.#redactor.cause(err);
    const where = this.#base.origin;
    if (ctx.callerSignal?.aborted)
      return new UpstreamUnreachableError(`call to ${where} aborted by the caller`, { cause });
    if (ctx.signal.aborted || e.name === 'AbortError' || e.name === 'TimeoutError') {
      return new UpstreamUnreachableError(`no usable answer from ${where} within ${this.#o.callDeadlineMs} ms`, {
        cause,
      });
    }
    if (isTlsError(e.code)) {
      return new UpstreamTlsError(tlsFailure(where, this.#base.hostname, e.code, presentedOf(err), this.#pinned), {
        cause,
      });
    }
    if (typeof e.statusCode === 'number') {
      return new UpstreamUnreachableError(`${where} answered ${e.statusCode} after retries`, {
        status: e.statusCode,
        cause,
      });
    }
    const what =
      e.code && NETWORK_WORDS[e.code]
        ? `${NETWORK_WORDS[e.code]} (${e.code})`
        : this.#redactor.text(e.code ?? e.message);
    return new UpstreamUnreachableError(`cannot reach ${where}: ${what}`, { cause });
  }
}

/** Chain verification failures that a CA bundle or a pin fixes. */
const UNTRUSTED_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
]);
const NAME_CODES = new Set(['ERR_TLS_CERT_ALTNAME_INVALID', 'HOSTNAME_MISMATCH']);
const PIN_FIX = 'pinSha256 (CLI: --pin)';
const CA_FIX = 'caBundleFile; CLI: --ca';

/** The names a certificate holds, as shown to an admin: its alternative names, else its CN. */
function namesOf(presented: PresentedCertificate | undefined): string {
  if (presented?.altNames) return presented.altNames;
  return presented?.subject ? `CN=${presented.subject}` : 'other names';
}

function presentedOf(err: unknown): PresentedCertificate | undefined {
  return err instanceof CertificateRefusedError ? err.presented : undefined;
}

/**
 * What a refused certificate means and its fix, with the presented certificate's fingerprint where a pin is the fix.
 * Fingerprints and dates are public facts of the certificate, safe to log.
 */
function tlsFailure(
  where: string,
  host: string,
  code: string,
  presented: PresentedCertificate | undefined,
  pinned: boolean,
): string {
  const fp = presented?.fingerprint256;
  const refused = `TLS: certificate of ${where} refused (${code})`;
  if (code === PIN_MISMATCH_CODE) {
    return fp
      ? `TLS: certificate of ${where} changed: now SHA-256 ${fp}; if it was renewed on purpose, set ${PIN_FIX} to it, otherwise find out what answers at ${host}`
      : `TLS: certificate of ${where} changed: it is not the pinned one; if it was renewed on purpose, set ${PIN_FIX} to its SHA-256 fingerprint`;
  }
  const pinIt = `pin it: ${fp ? `set ${PIN_FIX} to SHA-256 ${fp}` : `set ${PIN_FIX} to its SHA-256 fingerprint`}`;
  if (NAME_CODES.has(code)) {
    return `${refused}: it does not name ${host} (it names ${namesOf(presented)}); to trust it at this address, ${pinIt} (or use a URL with a name it holds)`;
  }
  if (UNTRUSTED_CODES.has(code)) {
    const what =
      code === 'DEPTH_ZERO_SELF_SIGNED_CERT'
        ? 'it is self-signed'
        : `it is issued by ${presented?.issuer ? `"${presented.issuer}", ` : ''}a CA that is not trusted here`;
    // With a pin, the pin replaces the host-name check, so the certificate's names do not matter.
    if (!pinned && presented && !presented.namesHost) {
      // VB365's default: a self-signed certificate naming the Windows host, reached by IP or another name. Trusting
      // it as a CA would only lead to the next refusal (ERR_TLS_CERT_ALTNAME_INVALID): the pin is the one fix here.
      return `${refused}: ${what}, and it names ${namesOf(presented)}, not ${presented.host} (the host in the URL), so a CA bundle would not help (the host-name check would fail next); ${pinIt}`;
    }
    const alternative = pinned ? 'or remove the CA bundle to trust the pinned certificate alone' : `or ${pinIt}`;
    return `${refused}: ${what}; give ${code === 'DEPTH_ZERO_SELF_SIGNED_CERT' ? 'the certificate itself' : "the issuing CA's certificate"} as the CA bundle (${CA_FIX}), ${alternative}`;
  }
  if (code === 'CERT_HAS_EXPIRED') {
    const leafExpired = presented !== undefined && Date.parse(presented.validTo) < Date.now();
    return leafExpired
      ? `${refused}: it expired on ${presented.validTo}; renew it on the VB365 server, then trust the new one (CA bundle or pin)`
      : `${refused}: a CA certificate of its chain has expired; renew the CA and give its new certificate as the CA bundle`;
  }
  if (code === 'CERT_NOT_YET_VALID') {
    return `${refused}: it is not valid before ${presented?.validFrom ?? 'its start date'}; check the clocks of the VB365 server and of this monitor`;
  }
  return `TLS: connection to ${where} failed (${code})${fp ? `, certificate SHA-256 ${fp}` : ''}: check that this port serves the VB365 REST API over HTTPS`;
}

/**
 * The first API version serving each optional endpoint (the v6–v8 OpenAPI specs; v5 from its documentation): older
 * versions are answered "unavailable" without a request. `JobSessions` exists in v6, but without the `jobId` filter
 * (v7+); `Health` is v8 only.
 */
const OPTIONAL_SINCE = {
  CopyJobs: 'v6',
  Proxies: 'v5',
  Organizations: 'v5',
  ServiceInstance: 'v5',
  JobSessions: 'v7',
  Health: 'v8',
} as const satisfies Record<string, ApiVersion>;

/** Answers that mean "this server does not offer that read" (missing, forbidden to this account, or not GET here). */
const REFUSALS = [403, 404, 405];

/** An optional read the server refused: its message is the reason, safe to log (no body, no query). */
class OptionalRefused extends Error {}

/**
 * Throws {@link OptionalRefused} when `status` is a refusal, naming the request without its query (`label` is e.g.
 * `GET /v8/Proxies?offset=0&limit=100`); `shown` is the status to report when the caller mapped `status`.
 */
function refuseOptional(label: string, status: number, shown = status): void {
  if (REFUSALS.includes(status)) throw new OptionalRefused(`${label.split('?')[0]} answered ${shown}`);
}

/** v8 page size for collections, and a bound on pages (10,000 items). */
const PAGE_LIMIT = 100;
const MAX_PAGES = 100;

function parseBaseUrl(raw: string, allowHttpLoopback: boolean): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new TypeError(`VB365 server URL ${JSON.stringify(withoutUserinfo(raw))} is not a URL: use https://host:4443`);
  }
  // Checked first: the origin quoted below would show what a password holding "/" left before it (`admin:1234`).
  if (credentialsInUrl(raw, url) !== undefined) {
    throw new TypeError(
      `VB365 server URL ${withoutUserinfo(raw)} must not carry credentials ("user:password@", or any "@"): give them separately`,
    );
  }
  if (url.protocol !== 'https:' && !(allowHttpLoopback && url.protocol === 'http:' && isLoopback(url))) {
    throw new TypeError(`VB365 server URL ${url.origin} must use https: (the REST API is served over TLS, port 4443)`);
  }
  url.search = '';
  url.hash = '';
  return url;
}

function encodeId(id: string): string {
  return encodeURIComponent(id);
}

/** GUIDs compare without regard to letter case. */
function sameId(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}
