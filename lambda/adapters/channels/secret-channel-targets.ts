import type { ChannelTarget, ChannelTargets, WebhookChannel } from '../../domain/delivery.js';
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
    let value: string | undefined;
    try {
      value = await this.read(channel.secret);
    } catch (err) {
      throw new DeliveryError(
        `channel ${channel.id}: cannot read secret ${channel.secret} (${(err as Error)?.name ?? 'error'})`,
        true,
      );
    }
    const text = value?.trim() ?? '';
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
