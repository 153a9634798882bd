import assert from 'node:assert/strict';
import { test } from 'node:test';
import { kafkaClusterId } from '../../scripts/services/service-definitions.js';

test('regression: a Kafka cluster id never starts with "-" (StorageTool reads it as an option)', () => {
  // First draw encodes to "-…" (0xf8 → '-' in base64url), the second does not.
  const draws = [Buffer.alloc(16, 0xf8), Buffer.alloc(16, 0x41)];
  const id = kafkaClusterId(() => draws.shift()!);
  assert.equal(Buffer.alloc(16, 0xf8).toString('base64url')[0], '-');
  assert.ok(!id.startsWith('-'));
  assert.equal(id, Buffer.alloc(16, 0x41).toString('base64url'));
  for (let i = 0; i < 2000; i += 1) assert.ok(!kafkaClusterId().startsWith('-'));
});
