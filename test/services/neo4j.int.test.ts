import assert from 'node:assert/strict';
import { test } from 'node:test';
import neo4j from 'neo4j-driver';
import { optionalServiceEnv, requireServiceEnv, runId } from './service-env.js';

test('neo4j: MERGE twice yields exactly one node per key and one relationship', async () => {
  const uri = requireServiceEnv('NEO4J_URI');
  const password = optionalServiceEnv('NEO4J_PASSWORD');
  const driver = neo4j.driver(
    uri,
    password === undefined
      ? undefined
      : neo4j.auth.basic(optionalServiceEnv('NEO4J_USER') ?? 'neo4j', password),
    { disableLosslessIntegers: true },
  );
  // Labels cannot be parameters; the run id is [0-9a-z] only, so the backquoted label is safe.
  const label = `MedstreamTest_${runId()}`;
  const count = async (query: string, params: Record<string, unknown> = {}): Promise<number> => {
    const result = await driver.executeQuery(query, params);
    return result.records[0]?.get('n') as number;
  };
  try {
    await driver.verifyConnectivity();
    const merge = `
      MERGE (chemical:\`${label}\` {id: $chemical})
        ON CREATE SET chemical.kind = 'Chemical'
      MERGE (disease:\`${label}\` {id: $disease})
        ON CREATE SET disease.kind = 'Disease'
      MERGE (chemical)-[treats:TREATS]->(disease)
        ON CREATE SET treats.pmids = [$pmid]`;
    const params = { chemical: 'MESH:D008687', disease: 'MESH:D003924', pmid: '100001' };
    await driver.executeQuery(merge, params);
    await driver.executeQuery(merge, params);

    assert.equal(await count(`MATCH (x:\`${label}\`) RETURN count(x) AS n`), 2);
    assert.equal(
      await count(`MATCH (x:\`${label}\` {id: $id}) RETURN count(x) AS n`, { id: 'MESH:D008687' }),
      1,
    );
    assert.equal(
      await count(`MATCH (:\`${label}\`)-[r:TREATS]->(:\`${label}\`) RETURN count(r) AS n`),
      1,
    );
  } finally {
    try {
      await driver.executeQuery(`MATCH (x:\`${label}\`) DETACH DELETE x`);
      assert.equal(await count(`MATCH (x:\`${label}\`) RETURN count(x) AS n`), 0);
    } finally {
      await driver.close();
    }
  }
});
