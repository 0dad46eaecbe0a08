import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import type { MonitorEvent } from '../../lambda/domain/events.js';
import {
  literalMarkdown,
  progressBar,
  qDeveloperNotification,
  slackEscape,
  slackMessage,
  teamsMessage,
} from '../../lambda/domain/render-chat.js';
import { everyEventType, sampleEvent } from '../../local/sample-events.js';

const HOSTILE_NAME = '<!channel> *pwned* <https://evil.example|click here> [login](https://evil.example) <@U012AB3CD>';
const HOSTILE_ERROR = '```\n<!everyone> **urgent** [reset](https://evil.example)\n```';

function hostile(type: MonitorEvent['type'] = 'sync.failed'): MonitorEvent {
  const e = sampleEvent(type);
  return {
    ...e,
    session: {
      ...(e.session as NonNullable<MonitorEvent['session']>),
      repositoryName: HOSTILE_NAME,
      error: HOSTILE_ERROR,
    },
  };
}

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

describe('slackMessage', () => {
  it.each(everyEventType().map((e) => [e.type, e] as const))('renders %s within Block Kit limits', (_type, event) => {
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

  it('puts server-provided text only where Slack renders it literally, and escapes the notification text', () => {
    const msg = slackMessage(hostile('sync.stalled'));
    const texts = slackTexts(msg);

    expect(texts.filter((t) => t.type === 'mrkdwn')).toEqual([]);
    expect(msg.text).not.toContain('<!channel>');
    expect(msg.text).not.toContain('<https://evil.example');
    expect(msg.text).toContain('&lt;!channel&gt;');
  });

  it('cuts over-long names and errors with an ellipsis', () => {
    const e = sampleEvent('sync.failed');
    const long = {
      ...e,
      session: {
        ...(e.session as NonNullable<MonitorEvent['session']>),
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
  it.each(everyEventType().map((e) => [e.type, e] as const))(
    'renders %s as an Adaptive Card for a Workflows webhook',
    (_type, event) => {
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
    },
  );

  it('escapes Markdown so a repository name cannot become a link or emphasis', () => {
    const card = JSON.stringify(teamsMessage(hostile()));

    expect(card).not.toMatch(/\]\(https/);
    expect(card).not.toContain('**urgent**');
    expect(card).not.toContain('<!channel>');
    expect(card).toContain('［login］(https://evil.example)');
    expect(card).not.toContain('\\\\'); // no backslash escapes: hosts that do not process them would show them
  });
});

describe('qDeveloperNotification', () => {
  it.each(everyEventType().map((e) => [e.type, e] as const))(
    'renders %s as a schema-valid custom notification',
    (_type, event) => {
      const n = qDeveloperNotification(event);

      expect(validateQ(n) ? [] : validateQ.errors).toEqual([]);
    },
  );

  it('threads every update of a session by session id, server events by server', () => {
    const sync = qDeveloperNotification(sampleEvent('sync.stalled')) as { metadata: { threadId: string } };
    const server = qDeveloperNotification(sampleEvent('server.unreachable')) as { metadata: { threadId: string } };

    expect(sync.metadata.threadId).toBe('a4c1e7f2-6b3d-4e8a-9c5f-2d7b8e1a3f60');
    expect(server.metadata.threadId).toBe('server-vb365-prod');
  });

  it('escapes Markdown and mentions in server-provided text', () => {
    const n = JSON.stringify(qDeveloperNotification(hostile()));

    expect(n).not.toContain('<!channel>');
    expect(n).not.toMatch(/\]\(https/);
    expect(n).not.toContain('**urgent**');
    expect(n).not.toContain('\\\\'); // no backslash escapes: Slack mrkdwn would show them
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
    ['<!channel> see <https://evil.example|here>', '‹!channel› see ‹https://evil.example¦here›'],
    ['[login](https://evil.example)', '［login］(https://evil.example)'],
    ['*bold* _it_ ~s~ `c`', '∗bold∗ ˍitˍ ∼s∼ ˋcˋ'],
    ['# title\nnext', '＃ title next'],
    ['S3 Immutable (eu-west-1)', 'S3 Immutable (eu-west-1)'],
  ])('literalMarkdown(%j)', (input, expected) => {
    expect(literalMarkdown(input)).toBe(expected);
  });

  it.each([
    [0, '░░░░░░░░░░ 0 %'],
    [42, '▓▓▓▓░░░░░░ 42 %'],
    [100, '▓▓▓▓▓▓▓▓▓▓ 100 %'],
  ])('progressBar(%d)', (p, expected) => {
    expect(progressBar(p)).toBe(expected);
  });
});
