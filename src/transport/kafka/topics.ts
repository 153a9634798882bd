import type { Admin, ITopicConfig } from 'kafkajs';

/**
 * The pipeline's topics and their configuration. Article and entity topics are keyed by PMID
 * and compacted: the newest record per PMID is what a re-reader needs, and a tombstone (null
 * value) removes the PMID after `delete.retention.ms`. The dead-letter topic keeps everything
 * for a bounded time instead.
 */
export interface TopicNames {
  articles: string;
  entities: string;
  deadLetters: string;
  /** Compacted unit markers of the ingest stage (see producers/kafka-output). */
  ingestCheckpoints: string;
}

/** `prefix` namespaces every topic (KAFKA_TOPIC_PREFIX), e.g. per environment or test run. */
export function topicNames(prefix = ''): TopicNames {
  return {
    articles: `${prefix}pubmed.articles`,
    entities: `${prefix}pubmed.entities`,
    deadLetters: `${prefix}pubmed.dlq`,
    ingestCheckpoints: `${prefix}pubmed.ingest-checkpoints`,
  };
}

export interface TopicLayout {
  partitions: number;
  replicationFactor: number;
}

export function topicConfigs(
  names: { articles: string; entities: string; deadLetters: string },
  layout: TopicLayout,
): ITopicConfig[] {
  const keyed = [
    { name: 'cleanup.policy', value: 'compact' },
    { name: 'delete.retention.ms', value: String(7 * 24 * 3600 * 1000) },
    { name: 'max.message.bytes', value: String(8 * 1024 * 1024) },
  ];
  return [
    {
      topic: names.articles,
      numPartitions: layout.partitions,
      replicationFactor: layout.replicationFactor,
      configEntries: keyed,
    },
    {
      topic: names.entities,
      numPartitions: layout.partitions,
      replicationFactor: layout.replicationFactor,
      configEntries: keyed,
    },
    {
      topic: names.deadLetters,
      numPartitions: 1,
      replicationFactor: layout.replicationFactor,
      configEntries: [
        { name: 'cleanup.policy', value: 'delete' },
        { name: 'retention.ms', value: String(30 * 24 * 3600 * 1000) },
        { name: 'max.message.bytes', value: String(8 * 1024 * 1024) },
      ],
    },
  ];
}

/** Creates the topics that do not exist yet; existing topics are left as they are. */
export async function ensureTopics(
  admin: Admin,
  topics: readonly ITopicConfig[],
): Promise<string[]> {
  const existing = new Set(await admin.listTopics());
  const missing = topics.filter((t) => !existing.has(t.topic));
  if (missing.length > 0) {
    await admin.createTopics({ topics: [...missing], waitForLeaders: true });
  }
  return missing.map((t) => t.topic);
}
