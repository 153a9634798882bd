import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import neo4j from 'neo4j-driver';

/** One probe: resolves when the service answers correctly, rejects with the reason otherwise. */
export type HealthCheck = () => Promise<void>;

/**
 * Kafka is healthy when the admin API answers `describeCluster` and a topic can be created,
 * described and deleted (proves the controller quorum and metadata propagation work, not only
 * that the port is open).
 */
export function kafkaHealthCheck(broker: string): HealthCheck {
  return async () => {
    const kafka = new Kafka({
      clientId: 'medstream-services-health',
      brokers: [broker],
      connectionTimeout: 3_000,
      requestTimeout: 10_000,
      retry: { retries: 0 },
      logLevel: logLevel.NOTHING,
    });
    const admin = kafka.admin();
    await admin.connect();
    try {
      const cluster = await admin.describeCluster();
      if (cluster.brokers.length === 0) throw new Error('describeCluster returned no brokers');
      const topic = `medstream.health.${randomUUID()}`;
      await admin.createTopics({
        topics: [{ topic, numPartitions: 1, replicationFactor: 1 }],
        waitForLeaders: true,
        timeout: 10_000,
      });
      try {
        const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
        const partitions = metadata.topics[0]?.partitions ?? [];
        if (partitions.length !== 1 || partitions[0]?.leader !== cluster.brokers[0]?.nodeId) {
          throw new Error(`topic ${topic} has no leader yet`);
        }
      } finally {
        await admin.deleteTopics({ topics: [topic], timeout: 10_000 });
      }
    } finally {
      await admin.disconnect();
    }
  };
}

/** OpenSearch is healthy when `GET /_cluster/health` reports yellow or green. */
export function openSearchHealthCheck(url: string): HealthCheck {
  return async () => {
    const response = await fetch(`${url}/_cluster/health`, { signal: AbortSignal.timeout(5_000) });
    if (!response.ok) throw new Error(`GET /_cluster/health answered ${response.status}`);
    const body = (await response.json()) as { status?: string };
    if (body.status !== 'green' && body.status !== 'yellow') {
      throw new Error(`cluster status is ${String(body.status)}`);
    }
  };
}

/** Neo4j is healthy when the driver verifies connectivity and `RETURN 1` answers 1. */
export function neo4jHealthCheck(uri: string, password: string | undefined): HealthCheck {
  return async () => {
    const driver = neo4j.driver(
      uri,
      password === undefined ? undefined : neo4j.auth.basic('neo4j', password),
      { connectionTimeout: 3_000, maxConnectionPoolSize: 1 },
    );
    try {
      await driver.verifyConnectivity();
      const result = await driver.executeQuery('RETURN 1 AS one');
      const one = result.records[0]?.get('one') as unknown;
      if (!neo4j.isInt(one) || one.toNumber() !== 1) {
        throw new Error(`RETURN 1 answered ${String(one)}`);
      }
    } finally {
      await driver.close();
    }
  };
}
