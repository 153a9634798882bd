import { randomUUID } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Tensor } from 'onnxruntime-node';
import type { SessionOptions } from '../../model/onnx-session.js';
import { createSession } from '../../model/onnx-session.js';

/**
 * The processor's roofline: a single GEMM shaped like the model's largest matrix product, run
 * through onnxruntime-node with the same session options (threads, optimization level) in the
 * same process. Its GFLOP/s is what this machine gives the model's dominant operator, so
 * `tokens/s × FLOPs/token ÷ roofline` says how much of that the whole processor achieves.
 *
 * The ONNX file is written here, byte by byte (protobuf wire format; field numbers from
 * onnx.proto), so the bench needs no Python or protobuf library for it.
 */

const WIRE_VARINT = 0;
const WIRE_LENGTH = 2;
const ONNX_FLOAT = 1;
const ONNX_IR_VERSION = 8;
const ONNX_OPSET = 17;

/** Minimal protobuf writer: varints (non-negative, < 2^53), strings, bytes, sub-messages. */
class ProtoWriter {
  private readonly chunks: Uint8Array[] = [];

  varint(field: number, value: number): this {
    this.chunks.push(encodeVarint(field * 8 + WIRE_VARINT), encodeVarint(value));
    return this;
  }

  bytes(field: number, value: Uint8Array): this {
    this.chunks.push(encodeVarint(field * 8 + WIRE_LENGTH), encodeVarint(value.length), value);
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, new TextEncoder().encode(value));
  }

  message(field: number, build: (w: ProtoWriter) => void): this {
    const inner = new ProtoWriter();
    build(inner);
    return this.bytes(field, inner.finish());
  }

  finish(): Uint8Array {
    return Buffer.concat(this.chunks);
  }
}

function encodeVarint(value: number): Uint8Array {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`bad varint ${value}`);
  const out: number[] = [];
  let v = value;
  while (v >= 0x80) {
    out.push((v % 0x80) + 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return Uint8Array.from(out);
}

/** ValueInfoProto of a float tensor with fixed dimensions. */
function floatValueInfo(w: ProtoWriter, name: string, dims: readonly number[]): void {
  w.string(1, name).message(2, (type) =>
    type.message(1, (tensor) =>
      tensor
        .varint(1, ONNX_FLOAT)
        .message(2, (shape) => dims.forEach((d) => shape.message(1, (dim) => dim.varint(1, d)))),
    ),
  );
}

/**
 * An ONNX model `y[m,n] = a[m,k] · b[k,n]` with `b` an initializer (a weight, as in the served
 * model, so onnxruntime may pre-pack it the same way).
 */
export function matMulModel(m: number, k: number, n: number, b: Float32Array): Uint8Array {
  if (b.length !== k * n) throw new RangeError(`b has ${b.length} values, expected ${k * n}`);
  const raw = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  return new ProtoWriter()
    .varint(1, ONNX_IR_VERSION)
    .string(2, 'medstream-bench')
    .message(7, (graph) => {
      graph
        .message(1, (node) => node.string(1, 'a').string(1, 'b').string(2, 'y').string(4, 'MatMul'))
        .string(2, 'roofline')
        .message(5, (tensor) => {
          tensor.varint(1, k).varint(1, n).varint(2, ONNX_FLOAT).string(8, 'b').bytes(9, raw);
        })
        .message(11, (v) => floatValueInfo(v, 'a', [m, k]))
        .message(12, (v) => floatValueInfo(v, 'y', [m, n]));
    })
    .message(8, (opset) => opset.string(1, '').varint(2, ONNX_OPSET))
    .finish();
}

export interface GemmShape {
  m: number;
  k: number;
  n: number;
}

export interface RooflineResult extends GemmShape {
  gflops: number;
  /** Median seconds per GEMM. */
  secondsPerRun: number;
  runs: number;
}

/** Deterministic values in [-1, 1): timing must not depend on denormals or a seed. */
function filled(length: number, salt: number): Float32Array {
  const out = new Float32Array(length);
  for (let i = 0; i < length; i += 1) out[i] = (((i * 2654435761 + salt) >>> 0) % 2000) / 1000 - 1;
  return out;
}

/**
 * Times the GEMM (median of at least `minRuns` runs and `minSeconds` of running, after
 * warm-up) and returns GFLOP/s = 2·m·k·n / time.
 */
export async function measureRoofline(
  shape: GemmShape,
  session: SessionOptions = {},
  options: { minSeconds?: number; minRuns?: number; warmupRuns?: number } = {},
): Promise<RooflineResult> {
  const { m, k, n } = shape;
  const path = join(tmpdir(), `medstream-roofline-${randomUUID()}.onnx`);
  await writeFile(path, matMulModel(m, k, n, filled(k * n, 7)));
  try {
    const model = await createSession(path, session);
    try {
      const feeds = { a: new Tensor('float32', filled(m * k, 3), [m, k]) };
      for (let i = 0; i < (options.warmupRuns ?? 3); i += 1) await model.run(feeds);
      const times: number[] = [];
      const minSeconds = options.minSeconds ?? 2;
      const minRuns = options.minRuns ?? 10;
      const started = performance.now();
      while (times.length < minRuns || performance.now() - started < minSeconds * 1000) {
        const t0 = performance.now();
        await model.run(feeds);
        times.push((performance.now() - t0) / 1000);
      }
      times.sort((a, b) => a - b);
      const median = times[Math.floor(times.length / 2)];
      return {
        m,
        k,
        n,
        gflops: (2 * m * k * n) / median / 1e9,
        secondsPerRun: median,
        runs: times.length,
      };
    } finally {
      await model.release();
    }
  } finally {
    await rm(path, { force: true });
  }
}
