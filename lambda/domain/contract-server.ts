/* The server parts of contract v1 (DESIGN §3): why a server cannot be used, its certificate, health and polling. */

/** `server.*` events: why the server cannot be used, and since when. */
export interface ServerProblem {
  /** Safe, one-line reason (never a secret). */
  readonly reason: string | null;
  /** Kind of failure: `unreachable` (incl. TLS), `auth`, `response`, `unsupported`. */
  readonly kind: string | null;
  readonly since: string;
  /** `server.recovered`: length of the outage. */
  readonly outageSeconds: number | null;
}

/** `server.certificate_expiring`: the REST API's TLS certificate. */
export interface CertificateInfo {
  readonly subject: string;
  /** ISO-8601 UTC. */
  readonly validTo: string;
  readonly fingerprint256: string;
  /** Whole days left when the event was emitted (0: expires within a day). */
  readonly daysLeft: number;
}

/** `server.unhealthy` / `server.healthy`: `GET /v8/Health` (the configuration database and message bus). */
export interface HealthInfo {
  /** `Unhealthy` (or another value the server sent) / `Healthy`. */
  readonly status: string;
  /** The components not healthy (`server.healthy`: the ones that were), with the server's descriptions. */
  readonly entries: readonly { readonly name: string; readonly status: string; readonly description: string | null }[];
  readonly since: string;
  readonly seconds: number;
}

/**
 * `monitor.server_not_polled` / `monitor.server_polled_again` (the fleet check): a gap in the monitor's own polling of
 * a server. Times are ISO-8601 UTC.
 */
export interface PollingGap {
  /** Start of the gap: the last poll recorded, or when the server was configured if it was not polled since. */
  readonly since: string;
  /**
   * The last poll recorded before the gap; `null`: not polled since it was configured. A poll is recorded every
   * `heartbeatIntervals` − 1 intervals, so the last poll itself may be up to `heartbeatIntervals` − 2 intervals later.
   */
  readonly lastPolledAt: string | null;
  /** `monitor.server_polled_again`: the poll that ended the gap; `null` otherwise. */
  readonly polledAgainAt: string | null;
  /** The gap so far (`server_not_polled`) or in all (`server_polled_again`). */
  readonly seconds: number;
  /** The same in poll intervals, rounded down. */
  readonly intervals: number;
  /** The configured interval between two polls of a server. */
  readonly pollEveryMinutes: number;
  /** The configured threshold: a gap of more than this many intervals is announced. */
  readonly heartbeatIntervals: number;
}
