import type { IHeaders, Producer, RecordMetadata } from 'kafkajs';

export interface OutgoingMessage {
  key: string;
  /** null is a tombstone. */
  value: Buffer | null;
  headers?: IHeaders;
}

export interface PublisherOptions {
  topic: string;
  maxBatchMessages?: number;
  maxBatchBytes?: number;
  /** Batches sent but not yet acknowledged; `send` waits beyond this (backpressure). */
  maxInFlightBatches?: number;
}

/**
 * Groups messages into batches bounded by count and bytes and keeps a bounded number of batches
 * in flight. `flush()` resolves only when every message handed to `send` so far is acknowledged
 * by the broker (acks = all), which is the point where a caller may advance its checkpoint.
 * The first delivery failure is re-thrown from the next `send` or `flush`; nothing is dropped
 * silently.
 */
export class KafkaPublisher {
  private readonly topic: string;
  private readonly maxBatchMessages: number;
  private readonly maxBatchBytes: number;
  private readonly maxInFlight: number;
  private batch: OutgoingMessage[] = [];
  private batchBytes = 0;
  private readonly inFlight = new Set<Promise<RecordMetadata[] | void>>();
  private failure: unknown;
  private delivered = 0;

  constructor(
    private readonly producer: Producer,
    options: PublisherOptions,
  ) {
    this.topic = options.topic;
    this.maxBatchMessages = options.maxBatchMessages ?? 500;
    this.maxBatchBytes = options.maxBatchBytes ?? 1024 * 1024;
    this.maxInFlight = options.maxInFlightBatches ?? 4;
  }

  get deliveredCount(): number {
    return this.delivered;
  }

  async send(message: OutgoingMessage): Promise<void> {
    this.throwIfFailed();
    this.batch.push(message);
    this.batchBytes += message.key.length + (message.value?.length ?? 0);
    if (this.batch.length >= this.maxBatchMessages || this.batchBytes >= this.maxBatchBytes) {
      await this.dispatch();
    }
  }

  async flush(): Promise<void> {
    await this.dispatch();
    await Promise.all(this.inFlight);
    this.throwIfFailed();
  }

  private async dispatch(): Promise<void> {
    if (this.batch.length === 0) return;
    while (this.inFlight.size >= this.maxInFlight) {
      await Promise.race(this.inFlight);
    }
    this.throwIfFailed();
    const messages = this.batch;
    this.batch = [];
    this.batchBytes = 0;
    const sending: Promise<RecordMetadata[] | void> = this.producer
      .send({ topic: this.topic, acks: -1, messages })
      .then(
        (metadata) => {
          this.delivered += messages.length;
          return metadata;
        },
        (error: unknown) => {
          this.failure ??= error;
        },
      )
      .finally(() => this.inFlight.delete(sending));
    this.inFlight.add(sending);
  }

  private throwIfFailed(): void {
    if (this.failure !== undefined) throw this.failure;
  }
}
