import { describe, expect, it } from 'vitest';
import { INITIAL_SERVER, type ServerSnapshot, type SessionRecord } from '../../lambda/domain/state.js';
import { formatStatus, statusOf } from '../../local/status.js';

const NOW = new Date('2026-11-28T12:00:00Z');
const t = (minutesAgo: number) => new Date(NOW.getTime() - minutesAgo * 60_000);
const sec = (minutesAgo: number) => t(minutesAgo).getTime() / 1000;

function session(
  id: string,
  o: Partial<SessionRecord>,
): { record: SessionRecord; version: number; pending: []; lease: null } {
  return {
    record: {
      id,
      repositoryId: `r-${id}`,
      repositoryName: `Repo ${id}`,
      state: 'Synchronizing',
      phase: 'running',
      outcome: null,
      progressPercent: 40,
      error: null,
      firstSeenAt: t(120).toISOString(),
      lastProgressAt: t(5).toISOString(),
      finishedAt: null,
      missingCycles: 0,
      milestone: 0,
      sequence: 1,
      ...o,
    },
    version: 1,
    pending: [],
    lease: null,
  };
}

const snapshot: ServerSnapshot = {
  server: {
    record: {
      ...INITIAL_SERVER,
      initialized: true,
      failingSince: t(20).toISOString(),
      failure: { kind: 'unreachable', reason: 'connection refused' },
      alerted: 'unreachable',
    },
    version: 3,
    pending: [],
    lease: null,
  },
  sessions: [
    session('done', { phase: 'ended', state: 'None', outcome: 'completed', finishedAt: t(60).toISOString() }),
    session('stuck', {
      phase: 'stalled',
      progressPercent: 12,
      samples: [
        [sec(200), 2],
        [sec(150), 7],
        [sec(100), 12],
      ],
    }),
    session('fast', {
      samples: [
        [sec(60), 20],
        [sec(30), 30],
        [sec(0), 40],
      ],
    }),
  ],
  repositories: [],
};

describe('status', () => {
  it('lists active sessions, running first, with rate and ETA once they can be estimated', () => {
    const s = statusOf('vb365-prod', snapshot, NOW);

    expect(s.health).toBe('unreachable since 2026-11-28 11:40 UTC: connection refused');
    expect(s.sessions.map((r) => [r.session, r.ratePercentPerHour, r.estimatedFinishAt])).toEqual([
      ['fast', 20, '2026-11-28T15:00:00.000Z'],
      ['stuck', 6, null],
    ]);
  });

  it('includes ended sessions with --all', () => {
    expect(statusOf('vb365-prod', snapshot, NOW, true).sessions.map((r) => r.state)).toContain('None (completed)');
  });

  it('prints an aligned table per server', () => {
    const text = formatStatus([statusOf('vb365-prod', snapshot, NOW)], NOW);

    expect(text.split('\n')).toEqual([
      'vb365-prod: unreachable since 2026-11-28 11:40 UTC: connection refused',
      '  SESSION  REPOSITORY  STATE                    PROGRESS  RATE    ETA                           LAST CHANGE  AGE',
      '  fast     Repo fast   Synchronizing            40 %      20 %/h  2026-11-28 15:00 UTC (in 3h)  5m ago       2h',
      '  stuck    Repo stuck  Synchronizing (stalled)  12 %      6 %/h   -                             5m ago       2h',
    ]);
  });
});
