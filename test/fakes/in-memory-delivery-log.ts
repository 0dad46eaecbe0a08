import type { DeliveryLog } from '../../lambda/domain/delivery.js';

/** DeliveryLog in memory, with the claim/lease semantics of the DynamoDB one. */
export class InMemoryDeliveryLog implements DeliveryLog {
  readonly entries = new Map<string, { status: 'sending' | 'delivered'; until: number }>();

  async claim(
    channelId: string,
    eventId: string,
    now: Date,
    leaseUntil: Date,
  ): Promise<'claimed' | 'delivered' | 'busy'> {
    const key = `${channelId}|${eventId}`;
    const entry = this.entries.get(key);
    if (entry?.status === 'delivered') return 'delivered';
    if (entry?.status === 'sending' && entry.until > now.getTime()) return 'busy';
    this.entries.set(key, { status: 'sending', until: leaseUntil.getTime() });
    return 'claimed';
  }

  async delivered(channelId: string, eventId: string, expiresAt: Date): Promise<void> {
    this.entries.set(`${channelId}|${eventId}`, { status: 'delivered', until: expiresAt.getTime() });
  }

  async release(channelId: string, eventId: string): Promise<void> {
    this.entries.delete(`${channelId}|${eventId}`);
  }
}
