import type { ServerEventDraft } from './emit.js';
import { secondsBetween as seconds } from './emit.js';
import type { UpstreamErrorKind } from './errors.js';
import type { EventType } from './events.js';
import type { Observation } from './observation.js';
import type { Policy } from './policy.js';
import type { ServerRecord } from './state.js';

/*
 * The server's own health, as one cycle sees it (DESIGN §3): reachability and its alerts, hysteresis on recovery,
 * and the expiry of its TLS certificate.
 */

/** The server record after this cycle's health rules, and the server events they raise, in order. */
export interface HealthStep {
  readonly server: ServerRecord;
  readonly events: readonly ServerEventDraft[];
}

/**
 * Reachability and the certificate:
 *
 * - unreachable: `failingSince` and the failure are recorded; refused logins, refused certificates, an API version no
 *   longer served and a missing setup alert at once (`IMMEDIATE_ALERT`), a network failure once it has lasted
 *   `unreachableAfterMs` (`server.unreachable`); each alert once, until the server recovers;
 * - reachable after an alert: `server.recovered` once it worked for `recoverAfterCycles` cycles in a row (none after
 *   `setup`: the first cycle's `monitor.started` says it is set up);
 * - reachable: `server.certificate_expiring` once per certificate, when it expires within `certificateWarningMs`.
 */
export function checkHealth(previous: ServerRecord, observation: Observation, now: Date, policy: Policy): HealthStep {
  const nowIso = now.toISOString();
  const events: ServerEventDraft[] = [];
  let server = previous;

  if (!observation.reachable) {
    const failingSince = previous.failingSince ?? nowIso;
    server = {
      ...withoutStreak(server),
      failingSince,
      failure: { kind: observation.kind, reason: observation.reason },
    };
    const problem = { reason: observation.reason, kind: observation.kind, since: failingSince, outageSeconds: null };
    // Refused logins, refused certificates, an API version no longer served and a missing setup are announced at once
    // (waiting does not fix them); a network failure only once it has lasted `unreachableAfterMs`. Each alert once,
    // until the server recovers.
    const immediate = IMMEDIATE_ALERT[observation.kind];
    if (immediate) {
      if (previous.alerted !== observation.kind) {
        events.push({ type: immediate, problem });
        server = { ...server, alerted: observation.kind as NonNullable<ServerRecord['alerted']> };
      }
    } else if (previous.alerted === null && now.getTime() - Date.parse(failingSince) >= policy.unreachableAfterMs) {
      events.push({ type: 'server.unreachable', problem });
      server = { ...server, alerted: 'unreachable' };
    }
    return { server, events };
  }

  if (previous.alerted === 'setup') {
    // Set up at last: the first cycle's monitor.started says so; there was no outage to recover from.
    server = { ...withoutStreak(server), failingSince: null, failure: null, alerted: null };
  } else if (previous.alerted !== null && previous.failingSince !== null) {
    // Hysteresis: the alert stands until the server worked for `recoverAfterCycles` cycles in a row, so a flapping
    // server raises one alert, not a storm of unreachable/recovered pairs.
    const streak = (previous.reachableStreak ?? 0) + 1;
    if (streak >= policy.recoverAfterCycles) {
      events.push({
        type: 'server.recovered',
        problem: {
          reason: previous.failure?.reason ?? null,
          kind: previous.failure?.kind ?? null,
          since: previous.failingSince,
          outageSeconds: seconds(previous.failingSince, nowIso),
        },
      });
      server = { ...withoutStreak(server), failingSince: null, failure: null, alerted: null };
    } else {
      server = { ...server, reachableStreak: streak };
    }
  } else {
    server = { ...server, failingSince: null, failure: null, alerted: null };
  }

  const cert = observation.certificate;
  if (cert && server.certificateWarnedFor !== cert.validTo) {
    const left = Date.parse(cert.validTo) - now.getTime();
    if (left <= policy.certificateWarningMs) {
      events.push({
        type: 'server.certificate_expiring',
        problem: {
          reason: `certificate ${cert.subject} expires ${cert.validTo}`,
          kind: 'certificate',
          since: nowIso,
          outageSeconds: null,
        },
        certificate: { ...cert, daysLeft: Math.max(0, Math.floor(left / 86_400_000)) },
      });
      server = { ...server, certificateWarnedFor: cert.validTo };
    }
  }
  return { server, events };
}

/** Upstream failures announced at once, and their event. */
const IMMEDIATE_ALERT: Partial<Record<UpstreamErrorKind, EventType>> = {
  auth: 'server.auth_failed',
  unsupported: 'server.api_unsupported',
  tls: 'server.tls_failed',
  setup: 'server.setup_required',
};

function withoutStreak(server: ServerRecord): ServerRecord {
  const { reachableStreak: _, ...rest } = server;
  return rest;
}
