import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { errors } from '@opensearch-project/opensearch';
import type { ApiResponse } from '@opensearch-project/opensearch';
import { classifyBulkItem } from '../../../src/sinks/search-index/bulk-response.js';
import { classifyRequestError } from '../../../src/sinks/search-index/request-retry.js';

/** Items as OpenSearch 2.19 returned them (filtered to the fields the sink asks for). */
const items = {
  created: { index: { status: 201, result: 'created' } },
  updated: { index: { status: 200, result: 'updated' } },
  deleted: { delete: { status: 200, result: 'deleted' } },
  versionConflict: {
    index: {
      status: 409,
      error: {
        type: 'version_conflict_engine_exception',
        reason:
          '[1]: version conflict, current version [5] is higher or equal to the one provided [4]',
      },
    },
  },
  deleteConflict: {
    delete: {
      status: 409,
      error: { type: 'version_conflict_engine_exception', reason: '[2]: version conflict' },
    },
  },
  deleteNotFound: { delete: { status: 404, result: 'not_found' } },
  deleteIndexMissing: {
    delete: {
      status: 404,
      error: { type: 'index_not_found_exception', reason: 'no such index [x]' },
    },
  },
  rejectedExecution: {
    index: {
      status: 429,
      error: {
        type: 'es_rejected_execution_exception',
        reason: 'rejected execution of coordinating operation',
      },
    },
  },
  floodStage: {
    index: {
      status: 429,
      error: {
        type: 'cluster_block_exception',
        reason:
          'index [x] blocked by: [TOO_MANY_REQUESTS/12/disk usage exceeded flood-stage watermark, index has read-only-allow-delete block];',
      },
    },
  },
  writeBlock: {
    index: {
      status: 403,
      error: {
        type: 'cluster_block_exception',
        reason: 'index [x] blocked by: [FORBIDDEN/8/index write (api)];',
      },
    },
  },
  unavailableShards: {
    index: { status: 503, error: { type: 'unavailable_shards_exception', reason: 'primary' } },
  },
  internal: { index: { status: 500, error: { type: 'null_pointer_exception' } } },
  badDate: {
    index: {
      status: 400,
      error: {
        type: 'mapper_parsing_exception',
        reason:
          "failed to parse field [publicationDate] of type [date] in document with id '2'. Preview of field's value: '2020-13'",
        caused_by: {
          type: 'date_time_exception',
          reason: 'Invalid value for MonthOfYear (valid values 1 - 12): 13',
        },
      },
    },
  },
  strict: {
    index: {
      status: 400,
      error: {
        type: 'strict_dynamic_mapping_exception',
        reason: 'mapping set to strict, dynamic introduction of [x] within [_doc] is not allowed',
      },
    },
  },
};

describe('classifyBulkItem', () => {
  test('successes, replays and deletions of absent documents are done', () => {
    assert.deepEqual(classifyBulkItem('index', items.created), { kind: 'applied' });
    assert.deepEqual(classifyBulkItem('index', items.updated), { kind: 'applied' });
    assert.deepEqual(classifyBulkItem('delete', items.deleted), { kind: 'applied' });
    assert.deepEqual(classifyBulkItem('index', items.versionConflict), { kind: 'superseded' });
    assert.deepEqual(classifyBulkItem('delete', items.deleteConflict), { kind: 'superseded' });
    assert.deepEqual(classifyBulkItem('delete', items.deleteNotFound), { kind: 'absent' });
  });

  test('throttling, unavailability, blocks and a missing index are retried', () => {
    const cases: [keyof typeof items, 'index' | 'delete', string][] = [
      ['rejectedExecution', 'index', 'es_rejected_execution_exception'],
      ['floodStage', 'index', 'cluster_block_exception'],
      ['writeBlock', 'index', 'cluster_block_exception'],
      ['unavailableShards', 'index', 'unavailable_shards_exception'],
      ['internal', 'index', 'null_pointer_exception'],
      ['deleteIndexMissing', 'delete', 'index_not_found_exception'],
    ];
    for (const [name, kind, reason] of cases) {
      const outcome = classifyBulkItem(kind, items[name]);
      assert.equal(outcome.kind, 'retry', name);
      assert.equal('reason' in outcome && outcome.reason, reason, name);
    }
  });

  test('mapping and parsing errors are rejected with the server’s reason and its cause', () => {
    const outcome = classifyBulkItem('index', items.badDate);
    assert.equal(outcome.kind, 'reject');
    assert.ok(outcome.kind === 'reject');
    assert.equal(outcome.reason, 'mapper_parsing_exception');
    assert.match(
      outcome.message,
      /^400 mapper_parsing_exception: failed to parse field \[publicationDate\]/,
    );
    assert.match(outcome.message, /caused by date_time_exception: Invalid value for MonthOfYear/);
    const strict = classifyBulkItem('index', items.strict);
    assert.equal(strict.kind, 'reject');
    assert.equal('reason' in strict && strict.reason, 'strict_dynamic_mapping_exception');
  });

  test('an unreadable or missing item is retried, never guessed', () => {
    for (const item of [undefined, null, {}, { index: {} }, { delete: { status: 'x' } }]) {
      const outcome = classifyBulkItem('index', item);
      assert.equal(outcome.kind, 'retry');
    }
    // The item of another operation kind does not count as this one's.
    assert.equal(classifyBulkItem('delete', items.created).kind, 'retry');
  });
});

function responseError(statusCode: number, body: unknown): errors.ResponseError {
  return new errors.ResponseError({
    body,
    statusCode,
    headers: {},
    warnings: null,
    meta: {},
  } as unknown as ApiResponse);
}

describe('classifyRequestError', () => {
  test('connection failures and timeouts are retriable', () => {
    const refused = classifyRequestError(
      new errors.ConnectionError('connect ECONNREFUSED'),
      'bulk',
    );
    assert.equal(refused?.code, 'NETWORK');
    assert.equal(refused?.retriable, true);
    const timeout = classifyRequestError(
      new errors.TimeoutError('Request timed out', {} as ApiResponse),
      'bulk',
    );
    assert.equal(timeout?.code, 'HTTP_TIMEOUT');
    assert.equal(timeout?.retriable, true);
    const none = classifyRequestError(
      new errors.NoLivingConnectionsError('no living connections', {} as ApiResponse),
      'bulk',
    );
    assert.equal(none?.code, 'SERVICE_UNAVAILABLE');
  });

  test('429, 502, 503, 504 and cluster blocks are retriable; other statuses are final', () => {
    const retriable: [number, unknown, string][] = [
      [429, { error: { type: 'es_rejected_execution_exception' }, status: 429 }, 'HTTP_STATUS'],
      [502, '<html>Bad Gateway</html>', 'HTTP_STATUS'],
      [
        503,
        { error: { type: 'cluster_block_exception', reason: 'no master' }, status: 503 },
        'SERVICE_UNAVAILABLE',
      ],
      [504, '', 'HTTP_STATUS'],
      [
        403,
        { error: { type: 'cluster_block_exception', reason: 'FORBIDDEN/8' }, status: 403 },
        'HTTP_STATUS',
      ],
    ];
    for (const [status, body, code] of retriable) {
      const error = classifyRequestError(responseError(status, body), 'bulk');
      assert.equal(error?.code, code, String(status));
      assert.equal(error?.retriable, true, String(status));
      assert.equal(error?.details.status, status);
    }
    const invalid = classifyRequestError(
      responseError(400, {
        error: {
          type: 'action_request_validation_exception',
          reason: 'illegal version value [-1]',
        },
        status: 400,
      }),
      'bulk to x',
    );
    assert.equal(invalid?.code, 'HTTP_STATUS');
    assert.equal(invalid?.retriable, false);
    assert.match(
      invalid?.message ?? '',
      /^bulk to x: HTTP 400 action_request_validation_exception: illegal version/,
    );
    const auth = classifyRequestError(responseError(401, { error: 'unauthorized' }), 'connect');
    assert.equal(auth?.retriable, false);
    assert.match(auth?.message ?? '', /OPENSEARCH_USERNAME/);
  });

  test('programmer errors are not classified', () => {
    assert.equal(classifyRequestError(new TypeError('x is not a function'), 'bulk'), undefined);
    assert.equal(
      classifyRequestError(new errors.SerializationError('circular', {}), 'bulk'),
      undefined,
    );
  });
});
