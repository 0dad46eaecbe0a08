import { afterEach, describe, expect, it } from 'vitest';
import type { MonitorEvent } from '../../lambda/domain/events.js';
import { DEFAULT_POLICY } from '../../lambda/domain/policy.js';
import { pollOnce } from '../../lambda/domain/poll.js';
import { vb365ApiFor } from '../../lambda/wiring.js';
import { scenarios } from '../../local/simulator/scenarios.js';
import { startSimulator, type Vb365Simulator } from '../../local/simulator/simulator.js';
import { InMemoryStateStore } from '../support/in-memory-state-store.js';
import { RecordingNotifier } from '../support/recording-notifier.js';

/*
 * The simulator's feature scenarios through the real client over HTTPS (its generated CA) and the real cycle: what
 * an admin would receive when VB365 is upgraded, a proxy goes offline, or tenants share a server. One scenario step
 * per cycle, cycles 30 simulated minutes apart (a blocker or a proxy seen in two cycles in a row has lasted the 30-minute
 * delay).
 */

let sim: Vb365Simulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

async function play(name: string, extraCycles = 2): Promise<MonitorEvent[]> {
  const scenario = scenarios[name];
  if (!scenario) throw new Error(`no scenario ${name}`);
  const server = await startSimulator({ scenario });
  sim = server;
  const api = vb365ApiFor(
    {
      url: server.url,
      ca: server.pki.caCert,
      credentials: () => ({ username: server.username, password: server.password }),
    },
    { maxRetries: 0 },
  );
  const store = new InMemoryStateStore();
  const notifier = new RecordingNotifier();
  let clock = Date.parse('2026-11-28T08:00:00Z');
  const cycle = async () => {
    const at = new Date(clock);
    const summary = await pollOnce({
      api,
      store,
      notifier,
      policy: DEFAULT_POLICY,
      server: { id: 'vb365', name: 'VB365', url: server.url },
      now: () => at,
      owner: `c${clock}`,
    });
    expect(summary.status).toBe('ok');
    clock += 30 * 60_000;
  };
  try {
    while (server.step() !== undefined) await cycle();
    for (let i = 0; i < extraCycles; i++) await cycle();
  } finally {
    await api.close();
  }
  return notifier.delivered;
}

const line = (e: MonitorEvent) =>
  `${e.type} ${e.blocker?.name ?? e.proxy?.name ?? e.session?.repositoryName ?? e.repository?.name ?? ''}`.trim();

describe('the feature scenarios, end to end over HTTPS', () => {
  it('upgrade: each Out of Date repository blocked with the jobs it stops (copy jobs too), then unblocked', async () => {
    const events = await play('upgrade');

    expect(events.filter((e) => e.type.startsWith('repository.')).map(line)).toEqual([
      'repository.blocked S3 Immutable (eu-west-1)',
      'repository.blocked Wasabi (us-east-1)',
      'repository.blocked Glacier Archive',
      'repository.unblocked S3 Immutable (eu-west-1)',
      'repository.unblocked Wasabi (us-east-1)',
      'repository.unblocked Glacier Archive',
    ]);
    const blocked = events.filter((e) => e.type === 'repository.blocked');
    expect(blocked.map((e) => e.blocker?.kind)).toEqual(['outdated', 'outdated', 'outdated']);
    expect(blocked.map((e) => e.impact?.jobs.map((j) => `${j.name} (${j.kind})`))).toEqual([
      ['Mailboxes EU nightly (backup)'],
      ['OneDrive US nightly (backup)'],
      ['Copy to Glacier (copy)'],
    ]);
  });

  it('proxy-offline: the proxy offline with the repositories it serves, then online', async () => {
    const events = await play('proxy-offline');

    const offline = events.find((e) => e.type === 'proxy.offline');
    expect(events.filter((e) => e.type.startsWith('proxy.')).map(line)).toEqual([
      'proxy.offline vb365-proxy-01.corp.example',
      'proxy.online vb365-proxy-01.corp.example',
    ]);
    expect(offline?.proxy?.repositories.map((r) => r.name)).toEqual(['S3 Immutable (eu-west-1)', 'Wasabi (us-east-1)']);
    expect(offline?.impact?.total).toBe(2);
  });

  it('tenants: every repository event names its organization, by the name the server gives it', async () => {
    const events = await play('tenants');

    const named = events.filter((e) => e.session?.repositoryId !== undefined && e.session.repositoryId !== null);
    expect(named.length).toBeGreaterThan(0);
    expect(new Set(named.map((e) => e.organization?.name))).toEqual(new Set(['Contoso Ltd', 'Fabrikam Inc']));
  });
});
