/**
 * Addresses of the real services for integration tests. A missing variable fails the test with
 * the command that fixes it: these tests never skip, so a CI run without services is red.
 */
const HINT =
  'Start the local services and export their addresses:\n' +
  '  npm run services -- up && eval "$(npm run -s services -- env)"\n' +
  '(or: . .cache/services/env.sh after `npm run services -- up`)';

export function requireServiceEnv(name: 'KAFKA_BROKERS' | 'OPENSEARCH_URL' | 'NEO4J_URI'): string {
  const value = process.env[name];
  if (value === undefined || value.trim() === '') {
    throw new Error(`${name} is not set. ${HINT}`);
  }
  return value.trim();
}

/** Optional: the local Neo4j runs without authentication, so this is usually unset. */
export function optionalServiceEnv(name: 'NEO4J_USER' | 'NEO4J_PASSWORD'): string | undefined {
  const value = process.env[name];
  return value === undefined || value === '' ? undefined : value;
}

/** Short random suffix for topic, index and label names unique to one test run. */
export function runId(): string {
  return `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
}
