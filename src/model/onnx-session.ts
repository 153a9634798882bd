import { existsSync } from 'node:fs';
import { InferenceSession, listSupportedBackends } from 'onnxruntime-node';
import { MedStreamError } from '../errors.js';

export type ExecutionProvider = 'cpu' | 'cuda';

export interface SessionOptions {
  executionProvider?: ExecutionProvider;
  /** Threads for one operator; defaults to onnxruntime's choice (all cores). */
  intraOpThreads?: number;
  graphOptimization?: 'disabled' | 'basic' | 'extended' | 'all';
  /**
   * Turns on onnxruntime's profiler: one Chrome-trace JSON file per session, named
   * `<prefix>_<date>.json`, written when the session is released (operator times per run).
   * Diagnostics only: it adds overhead to every run.
   */
  profileFilePrefix?: string;
}

/**
 * One InferenceSession per process and model. CUDA needs onnxruntime-node's CUDA binaries,
 * which `npm ci` skips by design (.npmrc); asking for CUDA without them is a configuration
 * error with instructions, never a silent fall-back to CPU.
 */
export async function createSession(
  modelPath: string,
  options: SessionOptions = {},
): Promise<InferenceSession> {
  if (!existsSync(modelPath)) {
    throw new MedStreamError('MODEL_INVALID', `ONNX model not found: ${modelPath}`);
  }
  const provider = options.executionProvider ?? 'cpu';
  if (provider === 'cuda' && !listSupportedBackends().some((b) => b.name === 'cuda')) {
    throw new MedStreamError('CONFIG_INVALID', cudaHint());
  }
  const sessionOptions: InferenceSession.SessionOptions = {
    executionProviders: [provider],
    graphOptimizationLevel: options.graphOptimization ?? 'all',
    executionMode: 'sequential',
    ...(options.intraOpThreads === undefined ? {} : { intraOpNumThreads: options.intraOpThreads }),
    interOpNumThreads: 1,
    ...(options.profileFilePrefix === undefined
      ? {}
      : { enableProfiling: true, profileFilePrefix: options.profileFilePrefix }),
  };
  try {
    return await InferenceSession.create(modelPath, sessionOptions);
  } catch (error) {
    if (provider === 'cuda') {
      throw new MedStreamError('CONFIG_INVALID', cudaHint(), { cause: error });
    }
    throw new MedStreamError('MODEL_INVALID', `cannot load ONNX model ${modelPath}`, {
      cause: error,
    });
  }
}

function cudaHint(): string {
  return (
    'execution provider "cuda" is not available: install onnxruntime-node with its CUDA ' +
    'binaries (npm install onnxruntime-node --onnxruntime-node-install=cuda12 on a machine ' +
    'with CUDA 12 and cuDNN 9), or use the "cpu" provider'
  );
}
