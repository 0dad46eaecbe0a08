import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { generatePki, type TestPki } from '../simulator/certs.js';

/*
 * A loopback HTTPS stand-in for the PagerDuty Events API v2 (`POST /v2/enqueue`) with its request and answer shapes:
 * `202 {"status":"success","message":"Event processed","dedup_key":…}`; `400 {"status":"invalid event","message":
 * "Event object is invalid","errors":[…]}` for an event the real API refuses (routing key, action, dedup key, and for a
 * trigger the payload's summary, source and severity); `429` when rate limited. It keeps one alert per dedup key with
 * its status and log, as PagerDuty does: a trigger opens it (or adds to it while open), acknowledge and resolve change
 * it, a trigger after a resolve opens it again.
 */

export type PagerDutyStatus = 'triggered' | 'acknowledged' | 'resolved';

/** One alert (incident) by dedup key. */
export interface PagerDutyStandInAlert {
  status: PagerDutyStatus;
  /** How often it was opened (a trigger after a resolve opens it again). */
  opened: number;
  /** Every accepted event for it, in order. */
  readonly log: Record<string, unknown>[];
}

/** What to answer to a coming request instead of serving it. */
export type PagerDutyFault =
  | { readonly kind: 'rate-limit'; readonly retryAfterSeconds?: number }
  | { readonly kind: 'status'; readonly status: number };

const SEVERITIES = ['critical', 'error', 'warning', 'info'];

export class PagerDutyStandIn {
  /** Routing keys of integrations that exist. */
  readonly routingKeys = new Set<string>();
  readonly alerts = new Map<string, PagerDutyStandInAlert>();
  /** Every request: the HTTP status answered and the body. */
  readonly requests: { status: number; body: unknown }[] = [];
  readonly #faults: PagerDutyFault[] = [];

  constructor(
    private readonly server: Server,
    /** The enqueue URL, `https://127.0.0.1:PORT/v2/enqueue`. */
    readonly url: string,
    readonly caCert: string,
  ) {
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      this.#handle(req, res).catch((err: unknown) => {
        res.writeHead(500).end(String(err));
      });
    });
  }

  /** Answer the next request with `fault`. */
  inject(fault: PagerDutyFault): void {
    this.#faults.push(fault);
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    let body: unknown;
    const answer = (status: number, json: Record<string, unknown>, headers: Record<string, string> = {}) => {
      this.requests.push({ status, body });
      res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(json));
    };
    if (req.method !== 'POST' || (req.url ?? '').split('?')[0] !== '/v2/enqueue')
      return answer(404, { status: 'not found', message: 'Not found' });
    const fault = this.#faults.shift();
    if (fault?.kind === 'rate-limit') {
      return answer(
        429,
        {
          status: 'throttle event',
          message: 'Requests for this service are arriving too quickly. Please retry later.',
        },
        fault.retryAfterSeconds === undefined ? {} : { 'retry-after': String(fault.retryAfterSeconds) },
      );
    }
    if (fault?.kind === 'status') return answer(fault.status, { status: 'error', message: 'Internal Server Error' });
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      return answer(400, { status: 'invalid event', message: 'Event object is invalid', errors: ['Malformed JSON'] });
    }
    const errors = this.#validate(body);
    if (errors.length > 0) return answer(400, { status: 'invalid event', message: 'Event object is invalid', errors });
    const event = body as Record<string, unknown> & { event_action: string; dedup_key?: string };
    const dedupKey = event.dedup_key ?? randomUUID().replace(/-/g, '');
    const alert = this.alerts.get(dedupKey);
    if (event.event_action === 'trigger') {
      if (!alert) this.alerts.set(dedupKey, { status: 'triggered', opened: 1, log: [event] });
      else {
        if (alert.status === 'resolved') {
          alert.status = 'triggered';
          alert.opened += 1;
        }
        alert.log.push(event);
      }
    } else if (alert && alert.status !== 'resolved') {
      // Acknowledging or resolving an unknown or resolved alert is accepted and does nothing, as in PagerDuty.
      alert.status = event.event_action === 'acknowledge' ? 'acknowledged' : 'resolved';
      alert.log.push(event);
    }
    return answer(202, { status: 'success', message: 'Event processed', dedup_key: dedupKey });
  }

  #validate(body: unknown): string[] {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return ['Event object must be an object'];
    const e = body as Record<string, unknown>;
    const errors: string[] = [];
    if (typeof e.routing_key !== 'string' || e.routing_key.length !== 32)
      errors.push("Length of 'routing_key' is incorrect (should be 32 characters)");
    else if (!this.routingKeys.has(e.routing_key)) errors.push('Invalid routing key');
    if (!['trigger', 'acknowledge', 'resolve'].includes(String(e.event_action)))
      errors.push("'event_action' is invalid (must be one of the following: 'trigger', 'acknowledge' or 'resolve')");
    if (e.dedup_key !== undefined && (typeof e.dedup_key !== 'string' || e.dedup_key.length > 255))
      errors.push("'dedup_key' must be a string of at most 255 characters");
    if (e.event_action !== 'trigger' && typeof e.dedup_key !== 'string')
      errors.push("'dedup_key' is missing and is required for acknowledge and resolve events");
    if (e.event_action === 'trigger') {
      const p = e.payload as Record<string, unknown> | undefined;
      if (typeof p !== 'object' || p === null) errors.push("'payload' is missing or blank");
      else {
        if (typeof p.summary !== 'string' || p.summary === '') errors.push("'payload.summary' is missing or blank");
        else if (p.summary.length > 1024) errors.push("'payload.summary' must be at most 1024 characters");
        if (typeof p.source !== 'string' || p.source === '') errors.push("'payload.source' is missing or blank");
        if (!SEVERITIES.includes(String(p.severity)))
          errors.push("'payload.severity' is invalid (must be one of: critical, error, warning, info)");
        if (p.timestamp !== undefined && Number.isNaN(Date.parse(String(p.timestamp))))
          errors.push("'payload.timestamp' is not a valid ISO 8601 timestamp");
      }
    }
    if (e.links !== undefined && (!Array.isArray(e.links) || e.links.some((l) => typeof l?.href !== 'string')))
      errors.push("'links' must be an array of objects with 'href'");
    return errors;
  }
}

/** Starts a stand-in on a loopback port with a certificate from `pki` (a fresh CA by default). */
export async function startPagerDutyStandIn(pki?: TestPki): Promise<PagerDutyStandIn> {
  const certs = pki ?? (await generatePki());
  const server = createServer({ key: certs.serverKey, cert: certs.serverCert });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return new PagerDutyStandIn(server, `https://127.0.0.1:${port}/v2/enqueue`, certs.caCert);
}
