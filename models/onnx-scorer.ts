/**
 * Inference through ONNX Runtime for models with one float32 [N, F] input and one float32
 * [N, H] output (the exported linear-sigmoid model, later tree models with the same contract).
 * The caller batches: `score` runs one ORT call over the rows it is given.
 */
import fs from 'node:fs/promises';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { ErrorCodes, PaydecideError } from '../core/errors';

export interface ScorerOptions {
  /** ORT intra-op threads (config `ortThreads`). @defaultValue 1 */
  threads?: number;
}

function invalid(message: string, cause?: unknown): PaydecideError {
  return new PaydecideError(ErrorCodes.MODEL_INVALID, message, cause !== undefined ? { cause } : {});
}

/** The numeric width of a [N, W] float32 value, or a reason it is not one. */
function widthOf(meta: InferenceSession.ValueMetadata | undefined, what: string, src: string): number {
  if (!meta || !meta.isTensor) throw invalid(`${src}: ${what} is not a tensor`);
  if (meta.type !== 'float32') throw invalid(`${src}: ${what} '${meta.name}' is ${meta.type}, expected float32`);
  const s = meta.shape;
  if (s.length !== 2 || typeof s[1] !== 'number' || !(s[1] > 0)) {
    throw invalid(`${src}: ${what} '${meta.name}' has shape [${s.join(', ')}], expected [N, <fixed width>]`);
  }
  return s[1];
}

export class OnnxScorer {
  private constructor(
    private readonly session: InferenceSession,
    readonly inputName: string,
    readonly outputName: string,
    /** Features per row (F). */
    readonly inputWidth: number,
    /** Scores per row (H). */
    readonly outputWidth: number,
    /** The file path, or `<bytes>`, for error messages. */
    readonly source: string,
  ) {}

  /** Loads a model from bytes or a file path: NO_MODEL if the file is missing, MODEL_INVALID if ORT rejects it or its signature is wrong. */
  static async load(bytesOrPath: Uint8Array | string, opts: ScorerOptions = {}): Promise<OnnxScorer> {
    const src = typeof bytesOrPath === 'string' ? bytesOrPath : '<bytes>';
    let bytes: Uint8Array;
    if (typeof bytesOrPath === 'string') {
      try {
        bytes = await fs.readFile(bytesOrPath);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') throw new PaydecideError(ErrorCodes.NO_MODEL, `model file not found: ${bytesOrPath}`, { cause: e });
        throw invalid(`cannot read model file ${bytesOrPath}: ${(e as Error).message}`, e);
      }
    } else {
      bytes = bytesOrPath;
    }
    const threads = opts.threads ?? 1;
    if (!Number.isInteger(threads) || threads < 1) throw invalid(`threads must be a positive integer, got ${threads}`);
    let session: InferenceSession;
    try {
      session = await InferenceSession.create(bytes, {
        intraOpNumThreads: threads,
        interOpNumThreads: 1,
        graphOptimizationLevel: 'all',
        executionMode: 'sequential',
        // Idle intra-op threads sleep instead of spinning: the chunk threads run ONNX Runtime
        // beside DuckDB on the same cores, where a spinning pool burns CPU the others need.
        extra: { session: { intra_op: { allow_spinning: '0' } } },
      });
    } catch (e) {
      throw invalid(`ONNX Runtime cannot load ${src}: ${(e as Error).message}`, e);
    }
    try {
      if (session.inputNames.length !== 1 || session.outputNames.length !== 1) {
        throw invalid(`${src}: expected 1 input and 1 output, got ${session.inputNames.length} and ${session.outputNames.length}`);
      }
      const inW = widthOf(session.inputMetadata[0], 'input', src);
      const outW = widthOf(session.outputMetadata[0], 'output', src);
      return new OnnxScorer(session, session.inputNames[0], session.outputNames[0], inW, outW, src);
    } catch (e) {
      await session.release();
      throw e;
    }
  }

  /** Scores n rows of X (row-major n × inputWidth); returns n × outputWidth, row-major. */
  async score(X: Float32Array, n: number): Promise<Float32Array> {
    if (!Number.isInteger(n) || n < 0) throw invalid(`score: row count must be an integer ≥ 0, got ${n}`);
    if (!(X instanceof Float32Array)) throw invalid('score: X must be a Float32Array');
    if (X.length !== n * this.inputWidth) {
      throw invalid(`score: X has ${X.length} values, expected ${n} rows × ${this.inputWidth} features = ${n * this.inputWidth}`);
    }
    if (n === 0) return new Float32Array(0);
    const out = await this.session.run({ [this.inputName]: new Tensor('float32', X, [n, this.inputWidth]) });
    const t = out[this.outputName] as Tensor | undefined;
    const data = t?.data;
    if (!(data instanceof Float32Array) || data.length !== n * this.outputWidth) {
      throw invalid(`score: ${this.source} returned ${data instanceof Float32Array ? data.length : typeof data} values, expected ${n * this.outputWidth}`);
    }
    return data;
  }

  /** Releases the native session; the scorer cannot be used afterwards. */
  async close(): Promise<void> {
    await this.session.release();
  }
}
