import type { WebhookChannel } from '../../domain/channels.js';
import type { ChannelTarget, ChannelTargets } from '../../domain/delivery-ports.js';
import { DeliveryError } from '../../domain/errors.js';

/** Reads a secret's string value (the Powertools SecretsProvider, with its cache, in production). */
export type SecretReader = (name: string) => Promise<string | undefined>;

/**
 * A channel's webhook target from its Secrets Manager secret: either the bare URL, or JSON `{"url", "signingSecret"?}`.
 * Errors name the channel and the secret, never its value.
 */
export class SecretChannelTargets implements ChannelTargets {
  constructor(private readonly read: SecretReader) {}

  async target(channel: WebhookChannel): Promise<ChannelTarget> {
    const text = await readChannelSecret(this.read, channel);
    if (text.startsWith('https://')) return { url: text };
    try {
      const json = JSON.parse(text) as { url?: unknown; signingSecret?: unknown };
      if (typeof json.url === 'string') {
        return {
          url: json.url,
          signingSecret: typeof json.signingSecret === 'string' ? json.signingSecret : undefined,
        };
      }
    } catch {
      // fall through to the error below
    }
    throw new DeliveryError(
      `channel ${channel.id}: secret ${channel.secret} must hold the webhook URL or {"url": "https://…"}`,
      false,
    );
  }
}

/**
 * A channel's secret, read and trimmed (empty when it holds nothing). A failed read is retryable; its error names the
 * channel and the secret, never a value.
 */
export async function readChannelSecret(
  read: SecretReader,
  channel: { readonly id: string; readonly secret: string },
): Promise<string> {
  try {
    return (await read(channel.secret))?.trim() ?? '';
  } catch (err) {
    throw new DeliveryError(
      `channel ${channel.id}: cannot read secret ${channel.secret} (${(err as Error)?.name ?? 'error'})`,
      true,
    );
  }
}

/** A secret's `field` when it holds a JSON object (`{"token": "…"}`), else the bare text; `undefined` for bad JSON. */
export function secretField(text: string, field: string): unknown {
  if (!text.startsWith('{')) return text;
  try {
    return (JSON.parse(text) as Record<string, unknown>)[field];
  } catch {
    return undefined;
  }
}
