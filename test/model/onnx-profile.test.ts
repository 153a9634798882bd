import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Tensor } from 'onnxruntime-node';
import { readProfile, summarizeProfile } from '../../src/model/onnx-profile.js';
import { createSession } from '../../src/model/onnx-session.js';
import { matMulModel } from '../../src/processors/bench/roofline.js';

test('summarizeProfile sums kernel time per operator and node, ignoring fences and session events', () => {
  const events = [
    { cat: 'Session', name: 'model_loading_uri', dur: 900 },
    { cat: 'Session', name: 'model_run', dur: 100 },
    { cat: 'Session', name: 'model_run', dur: 60 },
    { cat: 'Node', name: 'mm_fence_before', dur: 0, args: { op_name: 'MatMul' } },
    { cat: 'Node', name: 'mm_kernel_time', dur: 50, args: { op_name: 'MatMul' } },
    { cat: 'Node', name: 'mm_kernel_time', dur: 30, args: { op_name: 'MatMul' } },
    { cat: 'Node', name: 'mm2_kernel_time', dur: 10, args: { op_name: 'MatMul' } },
    { cat: 'Node', name: 'ls_kernel_time', dur: 40, args: { op_name: 'LogSoftmax' } },
    { cat: 'Node', name: 'mm_fence_after', dur: 0, args: { op_name: 'MatMul' } },
  ];
  const s = summarizeProfile(events, 2);
  assert.equal(s.runs, 2);
  assert.equal(s.runUs, 160);
  assert.equal(s.kernelUs, 130);
  assert.deepEqual(s.byOp, [
    { op: 'MatMul', us: 90, share: 0.6923, calls: 3 },
    { op: 'LogSoftmax', us: 40, share: 0.3077, calls: 1 },
  ]);
  assert.deepEqual(s.topNodes, [
    { node: 'mm', op: 'MatMul', us: 80, share: 0.6154 },
    { node: 'ls', op: 'LogSoftmax', us: 40, share: 0.3077 },
  ]);
});

test('a session with profileFilePrefix writes a profile that readProfile summarizes', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'medstream-profile-test-'));
  try {
    const [m, k, n] = [8, 16, 4];
    const modelPath = join(dir, 'mm.onnx');
    await writeFile(modelPath, matMulModel(m, k, n, new Float32Array(k * n).fill(0.5)));
    const session = await createSession(modelPath, {
      intraOpThreads: 1,
      profileFilePrefix: join(dir, 'trace'),
    });
    const feeds = { a: new Tensor('float32', new Float32Array(m * k).fill(1), [m, k]) };
    for (let i = 0; i < 3; i += 1) {
      const out = await session.run(feeds);
      assert.equal((out.y.data as Float32Array)[0], 8); // 16 × 1 × 0.5
    }
    await session.release();
    const traces = (await readdir(dir)).filter((f) => f.startsWith('trace') && f.endsWith('.json'));
    assert.equal(traces.length, 1);
    const summary = await readProfile(join(dir, traces[0]));
    assert.equal(summary.runs, 3);
    assert.equal(summary.byOp[0].op, 'MatMul');
    assert.equal(summary.byOp[0].calls, 3);
    assert.ok(summary.kernelUs > 0 && summary.kernelUs <= summary.runUs);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('readProfile rejects a file that is not a trace', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'medstream-profile-test-'));
  try {
    await writeFile(join(dir, 'x.json'), '{"not": "a trace"}');
    await assert.rejects(readProfile(join(dir, 'x.json')), /expected a JSON array/);
    await writeFile(join(dir, 'y.json'), 'garbage');
    await assert.rejects(readProfile(join(dir, 'y.json')), /not an onnxruntime profile/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
