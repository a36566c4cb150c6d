// Weights a convolution layer prepares once for inference (no tape): scaled by a folded
// BatchNorm, with the final bias, and laid out by the backend for its kernels (packed
// GEMM panels, Winograd filters). Remade when the backend changes, when the layer's or the
// BatchNorm's tensors are replaced, or when tensor data may have changed (the data epoch,
// see markDataChanged in tensor.ts).
import { Tensor, currentDataEpoch } from '../tensor';
import type { Backend, ConvGeometry, PreparedConv2d } from '../backend/backend';

/** The eval-mode BatchNorm that follows a convolution, folded into its weights. */
export interface FoldedBatchNorm {
  weight: Tensor | null;
  bias: Tensor | null;
  runningMean: Tensor;
  runningVar: Tensor;
  eps: number;
}

export class PreparedWeights {
  private prepared: PreparedConv2d | null = null;
  private backend: Backend | null = null;
  private epoch = -1;
  private key = '';
  private sources: Array<Tensor | null> = [];

  /** The prepared form of conv(w, bias) (then bn) for geometry g on backend be. */
  get(be: Backend, g: ConvGeometry, weight: Tensor, bias: Tensor | null,
      bn: FoldedBatchNorm | null): PreparedConv2d {
    // The algorithm is part of the key: the choice depends on the whole geometry (image
    // size, batch), and a pass must not depend on which sizes ran before it.
    const key = `${g.K},${g.C},${g.R},${g.S},${g.groups},${g.strideH},${g.strideW},` +
      `${g.dilationH},${g.dilationW}${bn ? `,bn${bn.eps}` : ''},${be.convAlgorithm(g)}`;
    const sources = bn ? [weight, bias, bn.weight, bn.bias, bn.runningMean, bn.runningVar] : [weight, bias];
    if (this.prepared && this.backend === be && this.epoch === currentDataEpoch() && this.key === key &&
        sources.length === this.sources.length && sources.every((t, i) => t === this.sources[i])) {
      return this.prepared;
    }
    this.prepared = null; // let the old form go before the new one is made
    const { scale, shift } = bn ? foldBatchNorm(g.K, bias, bn) : { scale: null, shift: bias ? bias.data : null };
    this.prepared = be.prepareConv2d(g, weight.data, scale, shift);
    this.backend = be;
    this.epoch = currentDataEpoch();
    this.key = key;
    this.sources = sources;
    return this.prepared;
  }

  /** Drops the prepared form (its memory goes with the next garbage collection). */
  clear(): void {
    this.prepared = null;
    this.sources = [];
  }

  /** The prepared form's algorithm and size, or null when none is held. */
  describe(): { algorithm: string; bytes: number } | null {
    return this.prepared ? { algorithm: this.prepared.algorithm, bytes: this.prepared.bytes } : null;
  }
}

/**
 * bn(conv(x, w) + b) = conv(x, w * scale) + shift with scale = gamma / sqrt(var + eps) and
 * shift = beta + (b - mean) * scale per channel, computed in float64 like F.batchNorm.
 */
function foldBatchNorm(K: number, bias: Tensor | null, bn: FoldedBatchNorm): { scale: Float32Array; shift: Float32Array } {
  const scale = new Float32Array(K), shift = new Float32Array(K);
  const rm = bn.runningMean.data, rv = bn.runningVar.data;
  const w = bn.weight ? bn.weight.data : null, b = bn.bias ? bn.bias.data : null;
  const cb = bias ? bias.data : null;
  for (let k = 0; k < K; k++) {
    const s = (w ? w[k] : 1) / Math.sqrt(rv[k] + bn.eps);
    scale[k] = s;
    shift[k] = (b ? b[k] : 0) + ((cb ? cb[k] : 0) - rm[k]) * s;
  }
  return { scale, shift };
}
