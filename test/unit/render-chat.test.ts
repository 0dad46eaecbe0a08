import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { type MonitorAlarm, parseAlarm } from '../../lambda/domain/alarm.js';
import type { MonitorEvent } from '../../lambda/domain/events.js';
import { qDeveloperNotification, teamsAlarmMessage, teamsMessage } from '../../lambda/domain/render-chat.js';
import { inert, progressBar, slackEscape } from '../../lambda/domain/render-chat-text.js';
import { slackAlarmMessage, slackMessage } from '../../lambda/domain/render-slack.js';
import { subjectOf } from '../../lambda/domain/render-text.js';
import { everyEventType, sampleAlarm, sampleEvent, sampleVariants } from '../../local/cli/sample-events.js';
import { INCIDENT_KEY, incidentEvent } from '../support/incident-events.js';

type Session = NonNullable<MonitorEvent['session']>;

type Block = {
  type: string;
  text?: { type: string; text: string };
  fields?: { type: string; text: string }[];
  elements?: unknown[];
};

function slackBlocks(msg: Record<string, unknown>): Block[] {
  return (msg.attachments as { blocks: Block[] }[])[0]?.blocks ?? [];
}

/** Every text object of a Slack message with its type. */
function slackTexts(msg: Record<string, unknown>): { type: string; text: string }[] {
  const out: { type: string; text: string }[] = [];
  const walk = (x: unknown) => {
    if (Array.isArray(x)) x.forEach(walk);
    else if (x && typeof x === 'object') {
      const o = x as Record<string, unknown>;
      if (typeof o.type === 'string' && typeof o.text === 'string') out.push({ type: o.type, text: o.text });
      Object.values(o).forEach(walk);
    }
  };
  walk(msg.attachments);
  return out;
}

// Amazon Q Developer drops malformed custom notifications silently: check the documented shape.
const qSchema = {
  type: 'object',
  required: ['version', 'source', 'content'],
  properties: {
    version: { const: '1.0' },
    source: { const: 'custom' },
    id: { type: 'string' },
    content: {
      type: 'object',
      required: ['description'],
      additionalProperties: false,
      properties: {
        textType: { enum: ['client-markdown'] },
        title: { type: 'string', minLength: 1 },
        description: { type: 'string', minLength: 1 },
        nextSteps: { type: 'array', items: { type: 'string' } },
        keywords: { type: 'array', items: { type: 'string' } },
      },
    },
    metadata: {
      type: 'object',
      additionalProperties: false,
      properties: {
        threadId: { type: 'string', minLength: 1 },
        summary: { type: 'string' },
        eventType: { type: 'string' },
        relatedResources: { type: 'array', items: { type: 'string' } },
        additionalContext: { type: 'object', additionalProperties: { type: 'string' } },
        enableCustomActions: { type: 'boolean' },
      },
    },
  },
  additionalProperties: false,
};
const validateQ = new Ajv2020({ allErrors: true }).compile(qSchema);

/** One sample per event type, then the variants (a storm's likely cause, other blockers, an older outbox's event). */
const SAMPLES = [
  ...everyEventType().map((e) => [e.type, e] as const),
  ...sampleVariants().map((v) => [`${v.event.type} (${v.label})`, v.event] as const),
];

describe('slackMessage', () => {
  it.each(SAMPLES)('renders %s within Block Kit limits', (_type, event) => {
    const msg = slackMessage(event);
    const blocks = slackBlocks(msg);

    expect(blocks[0]).toMatchObject({ type: 'header', text: { type: 'plain_text' } });
    expect((blocks[0]?.text?.text ?? '').length).toBeLessThanOrEqual(150);
    for (const b of blocks) expect(['header', 'section', 'context', 'rich_text']).toContain(b.type);
    for (const b of blocks) expect((b.fields ?? []).length).toBeLessThanOrEqual(10);
    expect((msg.attachments as { color: string }[])[0]?.color).toMatch(/^#[0-9A-F]{6}$/);
  });

  it('colours by severity and mentions @here on critical events only, by default', () => {
    const critical = slackMessage(sampleEvent('sync.failed'));
    const warning = slackMessage(sampleEvent('sync.stalled'));
    const info = slackMessage(sampleEvent('sync.completed'));

    expect([critical, warning, info].map((m) => (m.attachments as { color: string }[])[0]?.color)).toEqual([
      '#D92D20',
      '#F79009',
      '#2E90FA',
    ]);
    expect(critical.text).toMatch(/^<!here> /);
    expect(warning.text).not.toMatch(/<!/);
  });

  it('uses the configured mentions', () => {
    const msg = slackMessage(sampleEvent('sync.stalled'), { warning: '<!subteam^S0123ABC>' });

    expect(msg.text).toMatch(/^<!subteam\^S0123ABC> /);
  });

  it('shows a progress bar and the error in a preformatted block', () => {
    const msg = slackMessage(sampleEvent('sync.failed'));
    const texts = slackTexts(msg).map((t) => t.text);

    expect(texts).toContain('Progress: ▓▓▓▓░░░░░░ 42 %');
    expect(JSON.stringify(slackBlocks(msg))).toContain('"type":"rich_text_preformatted"');
  });

  it('cuts over-long names and errors with an ellipsis', () => {
    const e = sampleEvent('sync.failed');
    const long = {
      ...e,
      session: {
        ...(e.session as Session),
        repositoryName: 'R'.repeat(500),
        error: 'E'.repeat(10_000),
      },
    };

    const msg = slackMessage(long);
    const header = slackBlocks(msg)[0]?.text?.text ?? '';
    const error = JSON.stringify(slackBlocks(msg).find((b) => b.type === 'rich_text'));

    expect(header.length).toBe(150);
    expect(header.endsWith('…')).toBe(true);
    expect(error.length).toBeLessThan(3_000);
  });
});

describe('teamsMessage', () => {
  it.each(SAMPLES)('renders %s as an Adaptive Card for a Workflows webhook', (_type, event) => {
    const msg = teamsMessage(event) as {
      type: string;
      attachments: {
        contentType: string;
        content: { type: string; version: string; body: { type: string; style?: string }[] };
      }[];
    };
    const card = msg.attachments[0]?.content;

    expect(msg.type).toBe('message');
    expect(msg.attachments[0]?.contentType).toBe('application/vnd.microsoft.card.adaptive');
    expect(card).toMatchObject({ type: 'AdaptiveCard', version: '1.4' });
    expect(card?.body[0]?.style).toBe({ critical: 'attention', warning: 'warning', info: 'accent' }[event.severity]);
    expect(JSON.stringify(card).length).toBeLessThan(28_000);
  });
});

describe('qDeveloperNotification', () => {
  it.each(SAMPLES)('renders %s as a schema-valid custom notification', (_type, event) => {
    const n = qDeveloperNotification(event);

    expect(validateQ(n) ? [] : validateQ.errors).toEqual([]);
  });

  it('threads every update of a session by session id, server events by server', () => {
    const sync = qDeveloperNotification(sampleEvent('sync.stalled')) as { metadata: { threadId: string } };
    const server = qDeveloperNotification(sampleEvent('server.unreachable')) as { metadata: { threadId: string } };

    expect(sync.metadata.threadId).toBe('a4c1e7f2-6b3d-4e8a-9c5f-2d7b8e1a3f60');
    expect(server.metadata.threadId).toBe('server-vb365-prod');
  });
});

describe('escaping helpers', () => {
  it.each([
    ['<!channel> & <@U1>', '&lt;!channel&gt; &amp; &lt;@U1&gt;'],
    ['plain', 'plain'],
  ])('slackEscape(%j)', (input, expected) => {
    expect(slackEscape(input)).toBe(expected);
  });

  it.each([
    ['<!channel> see <https://evil.example|here>', '‹!channel› see ‹https꞉//evil․example¦here›'],
    ['[login](https://evil.example)', '［login］(https꞉//evil․example)'],
    ['*bold* _it_ ~s~ `c`', '∗bold∗ ˍitˍ ∼s∼ ˋcˋ'],
    ['@channel mail a@b.example', '＠channel mail a＠b․example'],
    ['www.evil.example/x and HTTP://EVIL', 'www․evil․example/x and HTTP꞉//EVIL'],
    ['&lt;!here&gt; &#60; AT&T', '＆lt;!here＆gt; ＆#60; AT&T'],
    ['# title\nnext', '＃ title next'],
    ['- item\r\n> quote', '\u2060- item › quote'],
    ['1. one\u2028two', '\u20601. one two'],
    ['S3 Immutable (eu-west-1), 42.5 %', 'S3 Immutable (eu-west-1), 42.5 %'],
  ])('inert(%j) for Markdown', (input, expected) => {
    expect(inert(input)).toBe(expected);
    expect(inert(expected)).toBe(expected);
  });

  it.each([
    ['*x* <!channel> @here', '*x* <!channel> @here'],
    ['see https://evil.example and www.evil.example\nnext', 'see https꞉//evil․example and www․evil․example\nnext'],
  ])('inert(%j) for Slack literal elements defuses links only', (input, expected) => {
    expect(inert(input, 'literal')).toBe(expected);
  });

  it.each([
    [0, '░░░░░░░░░░ 0 %'],
    [42, '▓▓▓▓░░░░░░ 42 %'],
    [100, '▓▓▓▓▓▓▓▓▓▓ 100 %'],
  ])('progressBar(%d)', (p, expected) => {
    expect(progressBar(p)).toBe(expected);
  });
});

/*
 * Server text (and config and alarm text) against every channel. Each payload is tried alone in each field, so no
 * truncation hides one; `INJ` marks it, to prove the field is shown at all.
 */
const INJECTIONS = [
  'INJ <!channel> <!here> <!everyone> <@U123> <#C123|ops> <!subteam^S0123>',
  'INJ @channel @here @everyone',
  'INJ http://evil.example/reset https://evil.example HTTP://EVIL.EXAMPLE',
  'INJ www.evil.example evil.com/login a@evil.example',
  'INJ [click](http://evil) ![x](http://evil/x.png) [ref]: http://evil',
  'INJ <http://evil|click> <mailto:a@evil.example|mail>',
  'INJ *x* _y_ ~z~ **b** __u__ ~~s~~',
  'INJ ```\ncode\n``` `inline`',
  'INJ <b>bold</b> <a href="http://evil">a</a> &lt;!here&gt; &#60;!channel&#62;',
  '# INJ heading\n- item\r\n> quote\u2028=== \n1. one',
  'INJ\r\nBcc: victim@evil.example\r\n\r\nbody',
];

type Shown = { sink: 'markdown' | 'literal' | 'subject'; texts: string[] };
type Source = MonitorEvent | MonitorAlarm;
const isEvent = (x: Source): x is MonitorEvent => 'schemaVersion' in x;

/** Every string a Teams card shows: TextBlocks and fact titles and values. */
function teamsTexts(msg: Record<string, unknown>): string[] {
  const out: string[] = [];
  const walk = (x: unknown) => {
    if (Array.isArray(x)) x.forEach(walk);
    else if (x && typeof x === 'object') {
      const o = x as Record<string, unknown>;
      if (o.type === 'TextBlock') out.push(String(o.text));
      if (typeof o.title === 'string' && typeof o.value === 'string') out.push(o.title, o.value);
      Object.values(o).forEach(walk);
    }
  };
  walk((msg.attachments as { content: { body: unknown } }[])[0]?.content.body);
  return out;
}

/**
 * What each channel shows of an event or an alarm; `undefined` where the channel does not render it itself (Q
 * Developer gets alarms as they are and renders them natively; email gets AWS's alarm email).
 */
const CHANNELS: Record<string, (x: Source) => Shown | undefined> = {
  'Slack notification text': (x) => ({
    sink: 'markdown',
    texts: [String((isEvent(x) ? slackMessage(x, {}) : slackAlarmMessage(x, {})).text)],
  }),
  'Slack blocks': (x) => {
    const texts = slackTexts(isEvent(x) ? slackMessage(x) : slackAlarmMessage(x));
    // Only elements Slack shows literally: no mrkdwn anywhere.
    expect(texts.filter((t) => t.type !== 'plain_text' && t.type !== 'text')).toEqual([]);
    return { sink: 'literal', texts: texts.map((t) => t.text) };
  },
  'Teams card': (x) => ({ sink: 'markdown', texts: teamsTexts(isEvent(x) ? teamsMessage(x) : teamsAlarmMessage(x)) }),
  'Q Developer': (x) => {
    if (!isEvent(x)) return undefined; // alarms are forwarded as they are (Q Developer renders them)
    const n = qDeveloperNotification(x) as {
      content: { title: string; description: string; nextSteps?: string[] };
      metadata: { summary: string };
    };
    return {
      sink: 'markdown',
      texts: [n.content.title, n.content.description, ...(n.content.nextSteps ?? []), n.metadata.summary],
    };
  },
  'email subject': (x) => (isEvent(x) ? { sink: 'subject', texts: [subjectOf(x)] } : undefined),
};

/** The product's own Markdown in a line: list bullets, Q Developer's bold labels and list titles. */
const PRODUCT_MARKUP = /^(?:- |• |\*[^*]+:\* |\*[^*]+\*$)/;

/** What in `text` a channel would render as a link, a mention, formatting, or a header (email subject). */
function injections(sink: Shown['sink'], text: string): string[] {
  const found: string[] = [];
  const check = (what: string, re: RegExp, where = text) => {
    const m = re.exec(where);
    if (m) found.push(`${what} ${JSON.stringify(m[0])} in ${JSON.stringify(text.slice(0, 300))}`);
  };
  if (sink === 'subject') {
    check('not printable ASCII (a header break)', /[^\x20-\x7e]/);
    if (text.length > 100 || !text.startsWith('[VB365] ')) found.push(`bad subject ${JSON.stringify(text)}`);
    return found;
  }
  check('URL', /[a-z][a-z0-9+.-]*:\/\//i);
  check('www link', /\bwww\./i);
  check('domain or e-mail link', /[\p{L}\p{N}]\.\p{L}/u);
  if (sink === 'literal') return found;
  check('line from server text', /[\r\n\u2028](?:- item|> quote|=== |1\. one|Bcc:|body|code)/);
  check('Unicode line break', /[\u2028\u2029\u0085\v\f]/);
  for (const raw of text.split(/[\r\n]/)) {
    const line = raw.replace(PRODUCT_MARKUP, '');
    check('Slack control sequence or HTML', /[<>]/, line);
    check('Markdown link or image', /[[\]]/, line);
    check('mention', /@/, line);
    check('emphasis, strike, code or table', /[*_~`|]/, line);
    check('HTML entity', /&#?[a-z0-9]+;/i, line.replace(/&amp;/g, ''));
    check('heading, quote or list', /^\s*(?:[#>+=-]|\d+[.)](?:\s|$))/, line);
  }
  return found;
}

type Row = { field: string; make: (t: string) => Source; inTitle?: boolean; hiddenIn?: string[] };

const alarm = (overrides: Record<string, string> = {}): MonitorAlarm =>
  parseAlarm('5b2c0d1e-7f3a-5b6c-9d8e-1f2a3b4c5d6e', JSON.stringify(sampleAlarm(overrides))) as MonitorAlarm;

/** Sets a session field of a sample event. */
const session =
  (type: MonitorEvent['type'], patch: (t: string) => Partial<Session>) =>
  (t: string): MonitorEvent => {
    const e = sampleEvent(type);
    return { ...e, session: { ...(e.session as Session), ...patch(t) } };
  };

/** Every field of every event shape that carries server, configuration or alarm text. */
const ROWS: Row[] = [
  {
    field: 'server.name',
    make: (t) => ({ ...sampleEvent('sync.failed'), server: { ...sampleEvent('sync.failed').server, name: t } }),
    inTitle: true,
  },
  {
    field: 'server.url',
    make: (t) => ({ ...sampleEvent('server.unreachable'), server: { ...sampleEvent('sync.failed').server, url: t } }),
  },
  { field: 'session.repositoryName', make: session('sync.failed', (t) => ({ repositoryName: t })), inTitle: true },
  {
    field: 'session.repositoryId',
    make: session('sync.failed', (t) => ({ repositoryName: null, repositoryId: t })),
    inTitle: true,
  },
  { field: 'session.id', make: session('sync.stalled', (t) => ({ id: t })), hiddenIn: ['Q Developer'] },
  { field: 'session.state', make: session('sync.state_changed', (t) => ({ state: t })), inTitle: true },
  { field: 'session.previousState', make: session('sync.state_changed', (t) => ({ previousState: t })) },
  { field: 'session.error', make: session('sync.failed', (t) => ({ error: t })) },
  {
    field: 'problem.reason',
    make: (t) => {
      const e = sampleEvent('server.tls_failed');
      return { ...e, problem: { ...(e.problem as NonNullable<MonitorEvent['problem']>), reason: t } };
    },
  },
  {
    field: 'certificate.subject',
    make: (t) => {
      const e = sampleEvent('server.certificate_expiring');
      return { ...e, certificate: { ...(e.certificate as NonNullable<MonitorEvent['certificate']>), subject: t } };
    },
  },
  {
    field: 'repository.name',
    make: (t) => {
      const e = sampleEvent('repository.out_of_sync');
      return { ...e, repository: { ...(e.repository as NonNullable<MonitorEvent['repository']>), name: t } };
    },
    inTitle: true,
  },
  {
    field: 'impact.jobs[].name',
    make: (t) => ({
      ...sampleEvent('repository.out_of_sync'),
      impact: {
        jobs: [
          {
            id: 'j1',
            name: t,
            isEnabled: true,
            kind: 'copy',
            nextRun: '2026-11-28T13:00:00.000Z',
            missesNextRun: true,
          },
          { id: 'j2', name: t, isEnabled: false, kind: 'backup', nextRun: null, missesNextRun: false },
        ],
        total: 2,
        blockedUntil: null,
        missedRuns: 1,
      },
    }),
  },
  {
    field: 'blocker.name and blocker.reason',
    make: (t) => {
      const e = sampleEvent('repository.blocked');
      const b = e.blocker as NonNullable<MonitorEvent['blocker']>;
      return { ...e, blocker: { ...b, name: t, kind: 'out_of_order', reason: t } };
    },
    inTitle: true,
  },
  {
    field: 'proxy (name, status, repositories)',
    make: (t) => {
      const e = sampleEvent('proxy.offline');
      const p = e.proxy as NonNullable<MonitorEvent['proxy']>;
      return {
        ...e,
        proxy: { ...p, name: t, status: t, maintenanceModeState: t, repositories: [{ id: 'r1', name: t }] },
      };
    },
    inTitle: true,
  },
  {
    field: 'health.entries[] (name, status, description)',
    make: (t) => {
      const e = sampleEvent('server.unhealthy');
      const h = e.health as NonNullable<MonitorEvent['health']>;
      return { ...e, health: { ...h, status: t, entries: [{ name: t, status: t, description: t }] } };
    },
    inTitle: true,
  },
  {
    field: 'cause findings (components, versions, proxy)',
    make: (t) => ({
      ...sampleEvent('repository.out_of_sync'),
      cause: [
        { kind: 'unhealthy', entries: [{ name: t, status: t, description: t }] },
        { kind: 'upgrade', from: t, to: t, at: '2026-11-28T02:10:00.000Z' },
        { kind: 'proxy', proxyId: 'p1', proxyName: t, state: 'offline' },
      ],
    }),
  },
  {
    field: 'firstBackup.jobs[] (name, status) and organization.name',
    make: (t) => {
      const e = sampleEvent('repository.first_backup_failed');
      const f = e.firstBackup as NonNullable<MonitorEvent['firstBackup']>;
      return {
        ...e,
        firstBackup: { ...f, jobs: f.jobs.map((j) => ({ ...j, name: t, status: t })) },
        organization: { id: 'o1', name: t },
      };
    },
  },
  {
    field: 'summary items (name, state, error)',
    make: (t) => {
      const item = { sessionId: 's1', repositoryId: 'r1', repositoryName: t, state: t, progressPercent: 4, error: t };
      return {
        ...sampleEvent('monitor.started'),
        summary: { running: [item], failed: [item], other: [], totals: { running: 1, failed: 1, other: 0 } },
      };
    },
  },
  {
    field: 'held.note and held.items[].title',
    make: (t) => {
      const e = sampleEvent('monitor.held_summary');
      const held = e.held as NonNullable<MonitorEvent['held']>;
      return { ...e, held: { ...held, note: t, items: held.items.map((i) => ({ ...i, title: t })) } };
    },
  },
  {
    field: 'digest problems and out-of-sync names',
    make: (t) => {
      const e = sampleEvent('digest.weekly');
      const d = e.digest as NonNullable<MonitorEvent['digest']>;
      return {
        ...e,
        digest: {
          ...d,
          problems: d.problems.map((p) => ({ ...p, repositoryName: t, error: t })),
          outOfSync: d.outOfSync.map((r) => ({ ...r, name: t })),
        },
      };
    },
  },
  {
    field: 'group.items[] (name, error)',
    make: (t) => {
      const e = sampleEvent('monitor.grouped');
      const g = e.group as NonNullable<MonitorEvent['group']>;
      return { ...e, group: { ...g, items: g.items.map((i) => ({ ...i, repositoryName: t, error: t })) } };
    },
  },
  { field: 'alarm AlarmName', make: (t) => alarm({ AlarmName: t }), inTitle: true },
  { field: 'alarm NewStateReason', make: (t) => alarm({ NewStateReason: t }) },
  { field: 'alarm AlarmDescription', make: (t) => alarm({ AlarmDescription: t }) },
  { field: 'alarm OldStateValue', make: (t) => alarm({ OldStateValue: t }) },
];

/** The notification text and the email subject show only the title. */
const TITLE_ONLY = new Set(['Slack notification text', 'email subject']);

describe('server text in every channel', () => {
  const cases = Object.keys(CHANNELS).flatMap((channel) =>
    ROWS.filter((r) => (r.inTitle || !TITLE_ONLY.has(channel)) && CHANNELS[channel]?.(r.make('x')) !== undefined).map(
      (r) => [channel, r.field, r] as const,
    ),
  );

  it.each(cases)('%s: %s can inject no link, mention, formatting or header', (channel, _field, row) => {
    const found: string[] = [];
    const shown: string[] = [];
    for (const payload of INJECTIONS) {
      const out = CHANNELS[channel]?.(row.make(payload)) as Shown;
      shown.push(out.texts.join('\n'));
      for (const text of out.texts) found.push(...injections(out.sink, text));
    }

    expect(found).toEqual([]);
    if (!row.hiddenIn?.includes(channel)) for (const s of shown) expect(s).toContain('INJ');
  });

  it('keeps a hostile repository name readable but inert, exactly, in each channel', () => {
    const e = session('sync.failed', () => ({ repositoryName: '*x* _y_ <!channel> http://evil.example' }))('');

    const slack = slackMessage(e);
    const teams = teamsMessage(e) as { attachments: { content: { body: { items?: { text: string }[] }[] } }[] };
    const q = qDeveloperNotification(e) as { content: { title: string } };

    expect(slack.text).toBe('<!here> 🔴 ∗x∗ ˍyˍ ‹!channel› http꞉//evil․example sync failed on Contoso VB365');
    expect(slackBlocks(slack)[0]?.text?.text).toBe(
      '🔴 *x* _y_ <!channel> http꞉//evil․example sync failed on Contoso VB365',
    );
    expect(teams.attachments[0]?.content.body[0]?.items?.[0]?.text).toBe(
      '🔴 ∗x∗ ˍyˍ ‹!channel› http꞉//evil․example sync failed on Contoso VB365',
    );
    expect(q.content.title).toBe('🔴 ∗x∗ ˍyˍ ‹!channel› http꞉//evil․example sync failed on Contoso VB365');
    expect(subjectOf(e)).toBe('[VB365] *x* _y_ <!channel> http://evil.example sync failed on Contoso VB365');
  });

  it('keeps the email subject on one printable-ASCII line whatever the name holds', () => {
    const e = session('sync.failed', () => ({ repositoryName: 'Réserve\r\nBcc: x@evil.example\u2028\u0085\u0000ü' }))(
      '',
    );

    expect(subjectOf(e)).toBe('[VB365] Reserve Bcc: x@evil.example???u sync failed on Contoso VB365');
  });
});

describe('sample events', () => {
  const schema = JSON.parse(
    readFileSync(new URL('../../lambda/domain/event-v1.schema.json', import.meta.url), 'utf8'),
  ) as object;
  const ajv = new Ajv2020({ allErrors: true, strict: true });
  (addFormats as unknown as (a: Ajv2020) => void)(ajv);
  const validate = ajv.compile(schema);

  it.each(SAMPLES)('%s is valid event contract v1', (_type, event) => {
    expect(validate(event) ? [] : validate.errors).toEqual([]);
  });
});

describe('monitor.grouped in chat', () => {
  const storm = (): MonitorEvent => {
    const e = sampleEvent('monitor.grouped');
    const g = e.group as NonNullable<MonitorEvent['group']>;
    // Errors as long as a group item keeps them (300 characters).
    return { ...e, group: { ...g, items: g.items.map((i) => ({ ...i, error: `${i.error} ${'x'.repeat(200)}` })) } };
  };

  it('shows the group in Slack: title, severity of the grouped type, the list cut to fit, and how many more', () => {
    const msg = slackMessage(storm());
    const header = slackBlocks(msg)[0]?.text?.text;
    const list = slackBlocks(msg).find((b) => b.text?.text.startsWith('Syncs failed (40)'))?.text?.text ?? '';
    const shown = list.split('\n').filter((l) => l.startsWith('• ')).length;

    expect(header).toBe('🔴 40 syncs failed on Contoso VB365');
    expect(msg.text).toBe('<!here> 🔴 40 syncs failed on Contoso VB365');
    expect(list.length).toBeLessThanOrEqual(3000);
    expect(shown).toBeGreaterThan(5);
    expect(list.endsWith(`… and ${40 - shown} more`)).toBe(true);
    expect(list).toContain('• Wasabi Tenant 01: 10 % - Unable to access object storage');
    expect(JSON.stringify(msg)).toContain('start the synchronization again'); // the grouped type's next step
  });

  it('shows the group in Teams: every listed item, then how many more', () => {
    const texts = teamsTexts(teamsMessage(storm()));
    const list = texts.find((t) => t.startsWith('- Wasabi Tenant 01')) ?? '';

    expect(texts).toContain('Syncs failed (40)');
    expect(list.split('\r')).toHaveLength(26);
    expect(list.split('\r')[25]).toBe('- … and 15 more');
  });

  it('shows the group in Q Developer within its description, ending with how many more', () => {
    const n = qDeveloperNotification(storm()) as { content: { description: string; keywords: string[] } };
    const lines = n.content.description.split('\n');
    const shown = lines.filter((l) => l.startsWith('• ')).length;

    expect(n.content.description.length).toBeLessThanOrEqual(3500);
    expect(lines).toContain('*Syncs failed (40)*');
    expect(shown).toBeGreaterThan(5);
    expect(lines.at(-1)).toBe(`… and ${40 - shown} more`);
    expect(n.content.keywords).toEqual(['critical', 'monitor.grouped', 'sync.failed', 'vb365-prod']);
  });
});

describe('new server events in chat', () => {
  it('shows a refused certificate as critical, with the problem and what to do', () => {
    const msg = slackMessage(sampleEvent('server.tls_failed'));
    const texts = slackTexts(msg).map((t) => t.text);

    expect(msg.text).toBe('<!here> 🔴 Contoso VB365 certificate refused');
    expect(texts).toContain(
      'The monitor REFUSED the TLS certificate of Contoso VB365: sync sessions are not being watched.',
    );
    expect(texts.find((t) => t.startsWith('Problem: '))).toMatch(
      /^Problem: TLS: certificate of https꞉\/\/vb365․contoso․local:4443 changed: now SHA-256 C9:F9:2B/,
    );
    expect(texts.find((t) => t.startsWith('Next: '))).toMatch(/did not send its credentials/);
  });

  it('shows the setup reminder as information, without a mention, with the command to store the account', () => {
    const msg = slackMessage(sampleEvent('server.setup_required'));
    const teams = teamsTexts(teamsMessage(sampleEvent('server.setup_required')));

    expect(msg.text).toBe('🔵 Contoso VB365 waits for its credentials');
    expect((msg.attachments as { color: string }[])[0]?.color).toBe('#2E90FA');
    expect(teams.find((t) => t.startsWith('Next: '))).toMatch(/^Next: Store the VB365 account .* put-secret-value/);
  });
});

describe('monitor alarms in chat', () => {
  it('renders an ALARM for Slack as critical: title, what it means, the reason and what to do', () => {
    const msg = slackAlarmMessage(alarm());
    const texts = slackTexts(msg).map((t) => t.text);

    expect(msg.text).toBe(
      '<!here> 🔴 Monitor alarm: VB365SyncMonitor-MonitorPollNotInvoked1A2B3C4D-Q1W2E3R4T5Y6 is ALARM',
    );
    expect((msg.attachments as { color: string }[])[0]?.color).toBe('#D92D20');
    expect(texts).toContain('State: OK -> ALARM');
    expect(texts).toContain(
      'What it means: The poll Lambda was not invoked for 3 intervals: its schedules are not running, nothing is watched.',
    );
    expect(texts.find((t) => t.startsWith('Reason: '))).toMatch(/^Reason: Threshold Crossed/);
    expect(texts).toContain('Changed: 2026-11-28 12:30 UTC');
    expect(texts.find((t) => t.startsWith('Next: '))).toMatch(
      /^Next: Nothing invoked the poll function for several intervals: no server is watched/,
    );
  });

  it('renders the OK message as information, without a mention', () => {
    const msg = slackAlarmMessage(alarm({ NewStateValue: 'OK', OldStateValue: 'ALARM' }));
    const teams = teamsAlarmMessage(alarm({ NewStateValue: 'OK', OldStateValue: 'ALARM' })) as {
      attachments: { content: { body: { style?: string }[] } }[];
    };

    expect(msg.text).toBe('🔵 Monitor alarm: VB365SyncMonitor-MonitorPollNotInvoked1A2B3C4D-Q1W2E3R4T5Y6 is OK');
    expect(slackTexts(msg).map((t) => t.text)).toContain('State: ALARM -> OK');
    expect(teams.attachments[0]?.content.body[0]?.style).toBe('accent');
  });

  it.each([
    ['VB365SyncMonitor-PollErrors1A2B3C4D-X', /^Next: The poll function failed/],
    ['VB365SyncMonitor-DeliveryDeadLettersAlarm1A2B-X', /^Next: Notifications did not reach a chat or webhook/],
    ['VB365SyncMonitor-DeadLetters1A2B3C4D-X', /^Next: Scheduled polls could not invoke/],
    ['someone-elses-alarm', /^Next: Open the alarm in the CloudWatch console/],
  ])('says what to do about %s', (name, next) => {
    const texts = slackTexts(slackAlarmMessage(alarm({ AlarmName: name }))).map((t) => t.text);

    expect(texts.find((t) => t.startsWith('Next: '))).toMatch(next);
  });
});

describe('incidents and runbooks in chat', () => {
  const RUNBOOK = 'https://wiki.contoso.example/runbooks/vb365-sync-failed';
  const failed = () =>
    incidentEvent({
      type: 'sync.failed',
      at: '2026-11-28T11:05:00.000Z',
      sequence: 5,
      severity: 'critical',
      runbookUrl: RUNBOOK,
    });

  it('gives Slack a Runbook URL button and the incident line as context', () => {
    const blocks = slackBlocks(slackMessage(failed()));

    expect(blocks.find((b) => b.type === 'actions')).toEqual({
      type: 'actions',
      elements: [
        {
          type: 'button',
          action_id: 'runbook',
          text: { type: 'plain_text', text: 'Runbook', emoji: false },
          url: RUNBOOK,
        },
      ],
    });
    expect(slackTexts(slackMessage(failed()))).toContainEqual({
      type: 'plain_text',
      text: 'Incident: open since 2026-11-28 10:00 UTC (1h 5m)',
    });
    expect(slackTexts(slackMessage(failed())).some((t) => t.text.startsWith('Next: '))).toBe(true);
  });

  it('gives Teams an Action.OpenUrl and the incident line', () => {
    const card = (teamsMessage(failed()) as { attachments: { content: Record<string, unknown> }[] }).attachments[0]
      ?.content;

    expect(card?.actions).toEqual([{ type: 'Action.OpenUrl', title: 'Runbook', url: RUNBOOK }]);
    expect(JSON.stringify(card?.body)).toContain('Incident: open since 2026-11-28 10:00 UTC (1h 5m)');
  });

  it('threads Amazon Q Developer by incident key and adds the runbook as the last next step', () => {
    const n = qDeveloperNotification(failed()) as {
      content: { nextSteps: string[]; description: string };
      metadata: { threadId: string };
    };

    expect(validateQ(n) ? [] : validateQ.errors).toEqual([]);
    expect(n.metadata.threadId).toBe(INCIDENT_KEY);
    expect(n.content.nextSteps).toHaveLength(2);
    expect(n.content.nextSteps[1]).toBe(`Runbook: ${RUNBOOK}`);
    expect(n.content.description).toContain('*Incident:* open since');
  });

  it.each([
    ['not https', 'http://wiki.contoso.example/runbook'],
    ['a Slack link in disguise', 'https://x.example/|<!channel>'],
    ['with spaces', 'https://x.example/a b'],
  ])('leaves out a runbook URL that is %s', (_what, url) => {
    const event = { ...failed(), runbookUrl: url };

    expect(slackBlocks(slackMessage(event)).some((b) => b.type === 'actions')).toBe(false);
    expect((teamsMessage(event) as { attachments: { content: object }[] }).attachments[0]?.content).not.toHaveProperty(
      'actions',
    );
    expect(JSON.stringify(qDeveloperNotification(event))).not.toContain('Runbook:');
  });
});

describe('new event types in chat', () => {
  it.each([
    [
      'repository.blocked',
      '🟠 Repository Archive-EU blocked: Out of Date (since 09:12 UTC) on Contoso VB365',
      [
        'Tenant: Contoso',
        'Blocks: 3 jobs; 2 miss their next run before it ends: Daily Exchange (backup, 12:00), Copy to Archive (copy, 13:00); also Monthly SharePoint (backup, disabled)',
      ],
    ],
    [
      'repository.unblocked',
      '🔵 Repository Archive-EU no longer Out of Date on Contoso VB365',
      ['Was blocked: Out of Date, from 09:12 UTC for 1h 53m'],
    ],
    [
      'proxy.offline',
      '🟠 Proxy proxy02.corp offline on Contoso VB365 — 4 repositories',
      ['Offline: since 12:10 UTC (20m)', 'Repositories it serves (4)'],
    ],
    [
      'proxy.maintenance',
      '🔵 Proxy proxy01.corp in maintenance on Contoso VB365 — 2 repositories',
      ['Status: Online, maintenance mode Enabled'],
    ],
    ['proxy.online', '🔵 Proxy proxy02.corp back online on Contoso VB365', ['Was offline: from 12:10 UTC for 45m']],
    [
      'server.unhealthy',
      '🔴 Contoso VB365 unhealthy: PostgreSQL',
      ['Health: Unhealthy since 12:20 UTC (10m)', 'PostgreSQL: Unhealthy - Failed to connect to 127.0.0.1:5432'],
    ],
    ['server.healthy', '🔵 Contoso VB365 healthy again', ['Were not healthy (1)']],
    [
      'repository.first_backup_ok',
      '🔵 MinIO On-Prem: first backups after the resync succeeded on Contoso VB365',
      ['First backups: Daily Exchange Success, Copy to Archive Warning'],
    ],
    [
      'repository.first_backup_failed',
      '🟠 MinIO On-Prem: first backup after the resync failed on Contoso VB365',
      ['First backups: Daily Exchange Success, Copy to Archive Failed'],
    ],
    [
      'sync.started',
      '🔵 S3 Immutable (eu-west-1) sync started on Contoso VB365',
      [
        'Forecast: previous 5 syncs took 1h 40m–3h 10m (median 2h 5m), expect about 14:35 UTC',
        'Likely cause: repository added 40m ago',
      ],
    ],
    [
      'repository.out_of_sync',
      '🟠 MinIO On-Prem out of sync, nothing syncing it, on Contoso VB365',
      [
        'Likely cause: PostgreSQL Unhealthy (Failed to connect to 127.0.0.1:5432); upgraded 8.0.1.1234 → 8.1.0.305 at 02:10 UTC; proxy proxy02.corp offline',
      ],
    ],
  ] as const)('shows %s in Slack, Teams and Q Developer', (type, title, lines) => {
    const e = sampleEvent(type);

    const slack = slackTexts(slackMessage(e)).map((t) => t.text);
    const slackText = slack.join('\n');
    const teams = teamsTexts(teamsMessage(e));
    const teamsText = teams.join('\n');
    const q = qDeveloperNotification(e) as { content: { title: string; description: string } };

    // Names look as they are, with their link-making dots defused (proxy02․corp).
    expect(slackBlocks(slackMessage(e))[0]?.text?.text).toBe(inert(title, 'literal'));
    expect(teams[0]).toBe(inert(title));
    expect(q.content.title).toBe(inert(title));
    for (const line of lines) {
      expect(slackText).toContain(inert(line, 'literal'));
      // Teams shows a fact as title and value, Q Developer as "*label:* value".
      const [label, ...rest] = line.split(': ');
      const value = inert(rest.join(': ') || (label as string));
      expect(teamsText).toContain(value);
      expect(q.content.description).toContain(value);
    }
  });

  it('gives Slack long facts (the jobs blocked, a likely cause) a full-width section, short ones fields', () => {
    const blocks = slackBlocks(slackMessage(sampleEvent('repository.out_of_sync')));
    const fields = blocks.flatMap((b) => b.fields ?? []).map((f) => f.text);
    const sections = blocks.filter((b) => b.type === 'section' && b.text).map((b) => b.text?.text ?? '');

    expect(fields).toContain('Tenant: Contoso');
    expect(fields.some((f) => f.startsWith('Blocks: ') || f.startsWith('Likely cause: '))).toBe(false);
    expect(sections.some((t) => t.startsWith('Blocks: 2 jobs; 1 misses its next run'))).toBe(true);
    expect(sections.some((t) => t.startsWith('Likely cause: PostgreSQL Unhealthy'))).toBe(true);
  });

  it('shows the cause a storm shares in the group message', () => {
    const group = sampleVariants().find((v) => v.event.group?.type === 'repository.out_of_sync')?.event as MonitorEvent;

    const slack = slackTexts(slackMessage(group)).map((t) => t.text);
    const q = qDeveloperNotification(group) as { content: { keywords: string[] } };

    expect(slack[0]).toBe('🟠 12 repositories out of sync, nothing syncing them, on Contoso VB365');
    expect(slack).toContain('Likely cause: PostgreSQL Unhealthy (Failed to connect to 127.0.0.1:5432)');
    expect(q.content.keywords).toEqual(['warning', 'monitor.grouped', 'repository.out_of_sync', 'vb365-prod']);
  });

  it('relates a proxy event to the proxy, a blocker to its repository, in Q Developer', () => {
    const proxy = qDeveloperNotification(sampleEvent('proxy.offline')) as { metadata: { relatedResources: string[] } };
    const blocked = qDeveloperNotification(sampleEvent('repository.blocked')) as {
      metadata: { relatedResources: string[] };
    };

    expect(proxy.metadata.relatedResources).toEqual([
      'https://vb365.contoso.local:4443',
      'e4d3c2b1-0000-4000-8000-0000000000p2',
    ]);
    expect(blocked.metadata.relatedResources).toEqual([
      'https://vb365.contoso.local:4443',
      '7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d',
    ]);
  });
});
