import type { DeliveryLog, SlackMessageRef, SlackThread, SlackThreads } from '../../lambda/domain/delivery-ports.js';

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

/** SlackThreads in memory, with the claim/lease and conditional `shown` semantics of the DynamoDB one. */
export class InMemorySlackThreads implements SlackThreads {
  readonly items = new Map<string, { status: 'creating'; until: number } | { status: 'ready'; thread: SlackThread }>();

  async get(channelId: string, incidentKey: string, now: Date): Promise<SlackThread | 'creating' | undefined> {
    const item = this.items.get(`${channelId}|${incidentKey}`);
    if (item?.status === 'ready') return item.thread;
    return item && item.until > now.getTime() ? 'creating' : undefined;
  }

  async claim(channelId: string, incidentKey: string, now: Date, leaseUntil: Date): Promise<boolean> {
    const key = `${channelId}|${incidentKey}`;
    const item = this.items.get(key);
    if (item && (item.status === 'ready' || item.until >= now.getTime())) return false;
    this.items.set(key, { status: 'creating', until: leaseUntil.getTime() });
    return true;
  }

  async save(channelId: string, incidentKey: string, thread: SlackThread): Promise<void> {
    this.items.set(`${channelId}|${incidentKey}`, { status: 'ready', thread });
  }

  async release(channelId: string, incidentKey: string): Promise<void> {
    const key = `${channelId}|${incidentKey}`;
    if (this.items.get(key)?.status === 'creating') this.items.delete(key);
  }

  async advance(channelId: string, incidentKey: string, message: SlackMessageRef, shown: string): Promise<boolean> {
    const key = `${channelId}|${incidentKey}`;
    const item = this.items.get(key);
    if (item?.status !== 'ready' || item.thread.ref.ts !== message.ts || item.thread.shown >= shown) return false;
    this.items.set(key, { status: 'ready', thread: { ref: message, shown } });
    return true;
  }

  async restore(
    channelId: string,
    incidentKey: string,
    message: SlackMessageRef,
    from: string,
    to: string,
  ): Promise<void> {
    const key = `${channelId}|${incidentKey}`;
    const item = this.items.get(key);
    if (item?.status === 'ready' && item.thread.ref.ts === message.ts && item.thread.shown === from)
      this.items.set(key, { status: 'ready', thread: { ref: message, shown: to } });
  }
}
