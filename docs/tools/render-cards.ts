import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { delimiter, join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { type MonitorAlarm, parseAlarm } from '../../lambda/domain/alarm.js';
import type { EventType, MonitorEvent } from '../../lambda/domain/events.js';
import { teamsAlarmMessage, teamsMessage } from '../../lambda/domain/render-chat.js';
import { DEFAULT_SLACK_MENTIONS, slackAlarmMessage, slackMessage } from '../../lambda/domain/render-slack.js';
import { sampleAlarm, sampleEvent, sampleIncidentThread } from '../../local/cli/sample-events.js';

/*
 * Renders the Slack and Teams messages of a few events and of the monitor's heartbeat alarm to PNG for the README (`npm run render-cards`), in a headless
 * Chromium (found on PATH, or CHROMIUM_PATH). Teams cards go through Microsoft's own Adaptive Cards renderer;
 * Slack has no offline renderer, so its Block Kit message is laid out here the way Slack shows an attachment (colour
 * bar, header, fields, code block, context), from the exact payload the deliverer posts.
 */

const TYPES: readonly EventType[] = ['sync.failed', 'sync.stalled', 'monitor.grouped'];
const require = createRequire(import.meta.url);

type Block = { type: string; text?: { text: string }; fields?: { text: string }[]; elements?: unknown[] };

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Slack `mrkdwn` of the notification text as Slack shows it: mentions highlighted, entities decoded. */
function mrkdwn(text: string): string {
  return text
    .split(/(<[^>]*>)/)
    .map((part) => {
      const mention = /^<(?:!(here|channel|everyone)|@([UW][A-Z0-9]+)|!subteam\^([A-Z0-9]+))>$/.exec(part);
      if (mention) return `<span class="mention">@${mention[1] ?? mention[2] ?? mention[3]}</span>`;
      return esc(part.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&'));
    })
    .join('');
}

function richText(elements: unknown[]): string {
  return elements
    .map((el) => {
      const e = el as { type: string; elements?: { text?: string }[] };
      const text = esc((e.elements ?? []).map((t) => t.text ?? '').join(''));
      return e.type === 'rich_text_preformatted' ? `<pre>${text}</pre>` : `<p>${text}</p>`;
    })
    .join('');
}

/** HTML of a Slack incoming-webhook message with one coloured attachment of Block Kit blocks. */
export function slackHtml(message: Record<string, unknown>): string {
  return `<!doctype html><meta charset="utf-8"><style>${SLACK_CSS}</style><div id="card">${slackMessageHtml(message, '12:30')}</div>`;
}

/**
 * HTML of a Slack app's incident thread: the first message as it was last edited, then the thread's replies, the way
 * Slack shows a thread beside the channel.
 */
export function slackThreadHtml(
  first: Record<string, unknown>,
  replies: readonly { message: Record<string, unknown>; time: string }[],
): string {
  return `<!doctype html><meta charset="utf-8"><style>${SLACK_CSS}
  .thread { border-left: 1px solid #ddd; margin-left: 20px; }
  .count { color: #1264a3; font-size: 13px; font-weight: 700; padding: 0 20px 8px 64px; }
</style><div id="card" style="flex-direction:column;width:640px">
  ${slackMessageHtml(first, '10:00 (edited)')}
  <div class="count">${replies.length} replies</div>
  <div class="thread">${replies.map((r) => `<div class="reply">${slackMessageHtml(r.message, r.time)}</div>`).join('')}</div>
</div>`;
}

const SLACK_CSS = `
  body { margin: 0; background: #fff; font: 15px/1.46668 Lato, "Helvetica Neue", Arial, sans-serif; color: #1d1c1d; }
  #card { display: flex; width: 640px; }
  .msg { display: flex; padding: 12px 20px; }
  .avatar { width: 36px; height: 36px; border-radius: 4px; background: #2eb67d; color: #fff; font-weight: 700;
    display: flex; align-items: center; justify-content: center; margin-right: 8px; flex: none; }
  .name { font-weight: 900; } .name small { font-weight: 400; color: #616061; margin-left: 4px; font-size: 12px; }
  .text { margin: 2px 0 6px; }
  .att { display: flex; } .bar { width: 4px; border-radius: 8px; flex: none; }
  .blocks { padding: 0 12px; flex: 1; min-width: 0; }
  .header { font-weight: 900; font-size: 18px; margin: 4px 0 8px; }
  .section { margin: 4px 0; white-space: pre-line; } .fields { display: grid; grid-template-columns: 1fr 1fr; gap: 8px 16px; margin: 8px 0; }
  pre { background: #f8f8f8; border: 1px solid #ddd; border-radius: 4px; padding: 8px; white-space: pre-wrap;
    font: 12px/1.5 Monaco, Menlo, Consolas, monospace; margin: 8px 0; }
  .context { color: #616061; font-size: 12px; margin: 6px 0; }
  .button { display: inline-block; border: 1px solid #bbb; border-radius: 4px; padding: 2px 10px; font-weight: 700; font-size: 13px; margin: 4px 0; }
  .mention { background: #f2c744; color: #1d1c1d; border-radius: 3px; padding: 0 2px; }`;

/** One message (avatar, name, text, the attachment's blocks). */
function slackMessageHtml(message: Record<string, unknown>, time: string): string {
  const attachment = (message.attachments as { color: string; blocks: Block[] }[])[0];
  const blocks = (attachment?.blocks ?? [])
    .map((b) => {
      switch (b.type) {
        case 'header':
          return `<div class="header">${esc(b.text?.text ?? '')}</div>`;
        case 'section':
          return b.fields
            ? `<div class="fields">${b.fields.map((f) => `<div>${esc(f.text)}</div>`).join('')}</div>`
            : `<div class="section">${esc(b.text?.text ?? '')}</div>`;
        case 'rich_text':
          return richText(b.elements ?? []);
        case 'context':
          return `<div class="context">${(b.elements as { text: string }[]).map((e) => esc(e.text)).join(' ')}</div>`;
        case 'divider':
          return '<hr>';
        case 'actions':
          return `<div>${(b.elements as { text?: { text: string } }[]).map((e) => `<span class="button">${esc(e.text?.text ?? '')}</span>`).join(' ')}</div>`;
        default:
          return '';
      }
    })
    .join('');
  return `<div class="msg"><div class="avatar">VB</div><div style="flex:1;min-width:0">
  <div class="name">vb365-sync-monitor <small>APP ${time}</small></div>
  <div class="text">${mrkdwn(String(message.text ?? ''))}</div>
  <div class="att"><div class="bar" style="background:${attachment?.color ?? '#ddd'}"></div><div class="blocks">${blocks}</div></div>
</div></div>`;
}

/** HTML that renders a Teams Workflows message's Adaptive Card with Microsoft's renderer. */
function teamsHtml(message: Record<string, unknown>): string {
  const card = (message.attachments as { content: unknown }[])[0]?.content;
  const script = pathToFileURL(require.resolve('adaptivecards/dist/adaptivecards.min.js')).href;
  return `<!doctype html><meta charset="utf-8"><style>
  body { margin: 0; background: #f5f5f5; font-family: "Segoe UI", system-ui, sans-serif; }
  #card { width: 560px; margin: 12px; background: #fff; border-radius: 6px; box-shadow: 0 1px 4px rgba(0,0,0,.15); overflow: hidden; }
  .ac-container { padding: 12px 16px !important; }
</style><div id="card"></div><script src="${script}"></script><script>
  const card = new AdaptiveCards.AdaptiveCard();
  card.hostConfig = new AdaptiveCards.HostConfig({
    fontFamily: '"Segoe UI", system-ui, sans-serif',
    containerStyles: {
      default: { backgroundColor: '#ffffff', foregroundColors: { default: { default: '#242424', subtle: '#616161' },
        attention: { default: '#c4314b', subtle: '#c4314b' }, good: { default: '#237b4b' }, warning: { default: '#835c00' } } },
      emphasis: { backgroundColor: '#f5f5f5' },
      attention: { backgroundColor: '#fcf4f6', foregroundColors: { default: { default: '#c4314b' } } },
      warning: { backgroundColor: '#fbf6d9', foregroundColors: { default: { default: '#835c00' } } },
      good: { backgroundColor: '#e7f2da', foregroundColors: { default: { default: '#237b4b' } } },
      accent: { backgroundColor: '#e8ebfa' },
    },
  });
  card.parse(${JSON.stringify(card)});
  document.getElementById('card').appendChild(card.render());
</script>`;
}

/** The first of `names` found in a directory of PATH. */
function findOnPath(names: readonly string[]): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    for (const name of names) if (dir && existsSync(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

async function main(): Promise<void> {
  const out = resolve(process.argv[2] ?? 'docs/img');
  mkdirSync(out, { recursive: true });
  const executablePath = process.env.CHROMIUM_PATH ?? findOnPath(['chromium', 'chromium-browser', 'google-chrome']);
  if (!executablePath) throw new Error('no Chromium found: install it (Debian package chromium) or set CHROMIUM_PATH');
  const browser = await chromium.launch({ executablePath });
  try {
    const page = await browser.newPage({ deviceScaleFactor: 2 });
    const scratch = join(tmpdir(), `render-cards-${process.pid}.html`);
    const alarm = parseAlarm('sample', JSON.stringify(sampleAlarm())) as MonitorAlarm;
    const cards: [string, Record<string, unknown>, Record<string, unknown>][] = [
      ...TYPES.map((type): [string, Record<string, unknown>, Record<string, unknown>] => [
        type.replace('.', '-'),
        slackMessage(sampleEvent(type)),
        teamsMessage(sampleEvent(type)),
      ]),
      ['monitor-alarm', slackAlarmMessage(alarm), teamsAlarmMessage(alarm)],
    ];
    // An incident as a Slack app shows it: the first message, edited to the current state, and its thread.
    const incident = sampleIncidentThread();
    const last = incident.at(-1) as MonitorEvent;
    writeFileSync(
      scratch,
      slackThreadHtml(
        slackMessage(last, {}),
        incident.slice(1).map((e) => ({
          message: slackMessage(e, e.severity === 'critical' ? DEFAULT_SLACK_MENTIONS : {}),
          time: e.occurredAt.slice(11, 16),
        })),
      ),
    );
    await page.goto(pathToFileURL(scratch).href);
    const threadFile = join(out, 'slack-incident-thread.png');
    await page.locator('#card').screenshot({ path: threadFile });
    console.log(`wrote ${relative(process.cwd(), threadFile)}`);
    for (const [name, slack, teams] of cards) {
      for (const [kind, html] of [
        ['slack', slackHtml(slack)],
        ['teams', teamsHtml(teams)],
      ] as const) {
        writeFileSync(scratch, html);
        await page.goto(pathToFileURL(scratch).href);
        const file = join(out, `${kind}-${name}.png`);
        await page.locator('#card').screenshot({ path: file });
        console.log(`wrote ${relative(process.cwd(), file)}`);
      }
    }
  } finally {
    await browser.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
  });
}
