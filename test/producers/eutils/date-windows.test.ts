import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MedStreamError } from '../../../src/errors.js';
import {
  UID_MAX,
  baseWindows,
  compareCursors,
  cursorAfter,
  parseIsoDate,
  splitWindow,
  toEutilsDate,
  windowTerm,
} from '../../../src/producers/eutils/date-windows.js';

test('base windows cover the range day by day (or N days), clipped at until', () => {
  assert.deepEqual(
    [...baseWindows({ date: '2024-02-27', uidMin: 1 }, '2024-03-01', 1)].map((w) => w.from),
    ['2024-02-27', '2024-02-28', '2024-02-29', '2024-03-01'],
  );
  assert.deepEqual(
    [...baseWindows({ date: '2024-01-01', uidMin: 1 }, '2024-01-08', 3)],
    [
      { from: '2024-01-01', to: '2024-01-03' },
      { from: '2024-01-04', to: '2024-01-06' },
      { from: '2024-01-07', to: '2024-01-08' },
    ],
  );
  assert.deepEqual([...baseWindows({ date: '2024-01-02', uidMin: 1 }, '2024-01-01', 1)], []);
});

test('resuming inside a PMID-split day finishes that day first', () => {
  assert.deepEqual(
    [...baseWindows({ date: '2024-01-02', uidMin: 500 }, '2024-01-03', 1)],
    [
      { from: '2024-01-02', to: '2024-01-02', uidRange: { min: 500, max: UID_MAX } },
      { from: '2024-01-03', to: '2024-01-03' },
    ],
  );
});

test('split by days first, then by PMID; the halves partition the window', () => {
  assert.deepEqual(splitWindow({ from: '2024-01-01', to: '2024-01-04' }), [
    { from: '2024-01-01', to: '2024-01-02' },
    { from: '2024-01-03', to: '2024-01-04' },
  ]);
  const [a, b] = splitWindow({ from: '2024-01-01', to: '2024-01-01' })!;
  assert.equal(a.uidRange!.min, 1);
  assert.equal(a.uidRange!.max + 1, b.uidRange!.min);
  assert.equal(b.uidRange!.max, UID_MAX);
  assert.equal(
    splitWindow({ from: '2024-01-01', to: '2024-01-01', uidRange: { min: 7, max: 7 } }),
    undefined,
  );
});

test('cursor after a window; ordering of cursors', () => {
  assert.deepEqual(cursorAfter({ from: '2024-12-31', to: '2024-12-31' }), {
    date: '2025-01-01',
    uidMin: 1,
  });
  assert.deepEqual(
    cursorAfter({ from: '2024-01-01', to: '2024-01-01', uidRange: { min: 1, max: 99 } }),
    { date: '2024-01-01', uidMin: 100 },
  );
  assert.deepEqual(
    cursorAfter({ from: '2024-01-01', to: '2024-01-01', uidRange: { min: 100, max: UID_MAX } }),
    { date: '2024-01-02', uidMin: 1 },
  );
  assert.ok(
    compareCursors({ date: '2024-01-02', uidMin: 1 }, { date: '2024-01-01', uidMin: 9 }) > 0,
  );
  assert.ok(
    compareCursors({ date: '2024-01-01', uidMin: 1 }, { date: '2024-01-01', uidMin: 9 }) < 0,
  );
});

test('terms and dates in E-utilities syntax; invalid dates are CONFIG_INVALID', () => {
  assert.equal(toEutilsDate('2024-03-09'), '2024/03/09');
  assert.equal(
    windowTerm('all[sb]', { from: 'x', to: 'x', uidRange: { min: 1, max: 5 } }),
    '(all[sb]) AND 1:5[uid]',
  );
  assert.equal(windowTerm('all[sb]', { from: 'x', to: 'x' }), 'all[sb]');
  for (const bad of ['2024-02-30', '2024/01/01', '24-01-01']) {
    assert.throws(
      () => parseIsoDate(bad),
      (error: unknown) => error instanceof MedStreamError && error.code === 'CONFIG_INVALID',
    );
  }
});
