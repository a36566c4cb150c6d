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

/** One convolution of a prepared sibling group: its weight and bias, then its BatchNorm. */
export interface PreparedPart {
  weight: Tensor;
  bias: Tensor | null;
  bn: FoldedBatchNorm | null;
}

export class PreparedWeights {
  private prepared: PreparedConv2d | null = null;
  private backend: Backend | null = null;
  private epoch = -1;
  private key = '';
  /** The geometry of the last call that returned the form, and its BatchNorm eps (-1: none). */
  private last: ConvGeometry | null = null;
  private lastEps = -1;
  private sources: Array<Tensor | null> = [];
  /** getSiblings' last geometry and BatchNorm eps list (its per-call path). */
  private lastSiblings: ConvGeometry | null = null;
  private lastSiblingsEps = '';

  /** The prepared form of conv(w, bias) (then bn) for geometry g on backend be. */
  get(be: Backend, g: ConvGeometry, weight: Tensor, bias: Tensor | null,
      bn: FoldedBatchNorm | null): PreparedConv2d {
    // The per-call path: the same geometry as the last call, nothing moved. The algorithm
    // for it cannot have changed either (a change of policy or ISA moves the data epoch).
    if (this.prepared && this.backend === be && this.epoch === currentDataEpoch() &&
        this.last !== null && sameGeometry(this.last, g) && this.lastEps === (bn ? bn.eps : -1) &&
        this.sameSources(weight, bias, bn)) {
      return this.prepared;
    }
    const key = filterKey(g, bn) + `,${be.convAlgorithm(g)}`;
    const sources = bn ? [weight, bias, bn.weight, bn.bias, bn.runningMean, bn.runningVar] : [weight, bias];
    if (this.prepared && this.backend === be && this.epoch === currentDataEpoch() && this.key === key &&
        sources.length === this.sources.length && sources.every((t, i) => t === this.sources[i])) {
      this.last = { ...g };
      this.lastEps = bn ? bn.eps : -1;
      return this.prepared;
    }
    this.prepared = null; // let the old form go before the new one is made
    const { scale, shift } = bn ? foldBatchNorm(g.K, bias, bn) : { scale: null, shift: bias ? bias.data : null };
    this.prepared = be.prepareConv2d(g, weight.data, scale, shift);
    this.backend = be;
    this.epoch = currentDataEpoch();
    this.key = key;
    this.sources = sources;
    this.last = { ...g };
    this.lastEps = bn ? bn.eps : -1;
    return this.prepared;
  }

  /**
   * The prepared form of sibling convolutions (one input, the same filter size, groups 1)
   * as one: their filters one after another (g.K = their output channels in all), each
   * then its BatchNorm, for conv2dForwardPreparedSplit.
   */
  getSiblings(be: Backend, g: ConvGeometry, parts: PreparedPart[]): PreparedConv2d {
    const eps = parts.map((p) => (p.bn ? p.bn.eps : -1)).join(',');
    const sources: Array<Tensor | null> = [];
    for (const p of parts) {
      sources.push(p.weight, p.bias);
      if (p.bn) sources.push(p.bn.weight, p.bn.bias, p.bn.runningMean, p.bn.runningVar);
    }
    const same = this.prepared !== null && this.backend === be && this.epoch === currentDataEpoch() &&
      sources.length === this.sources.length && sources.every((t, i) => t === this.sources[i]);
    // The per-call path: the last call's geometry and eps, nothing moved (no algorithm query).
    if (same && this.lastSiblings !== null && sameGeometry(this.lastSiblings, g) && this.lastSiblingsEps === eps) {
      return this.prepared!;
    }
    const key = `${filterKey(g, null)},${eps},${be.convAlgorithm(g)}`;
    this.lastSiblings = { ...g };
    this.lastSiblingsEps = eps;
    if (same && this.key === key) return this.prepared!;
    this.prepared = null;
    const K = parts.reduce((k, p) => k + p.weight.shape[0], 0);
    const w = new Float32Array(parts.reduce((n, p) => n + p.weight.size, 0));
    const scale = new Float32Array(K), shift = new Float32Array(K);
    let k0 = 0, at = 0;
    for (const p of parts) {
      const k = p.weight.shape[0];
      w.set(p.weight.data, at);
      at += p.weight.size;
      if (p.bn) {
        const f = foldBatchNorm(k, p.bias, p.bn);
        scale.set(f.scale, k0);
        shift.set(f.shift, k0);
      } else {
        scale.fill(1, k0, k0 + k);
        if (p.bias) shift.set(p.bias.data, k0);
      }
      k0 += k;
    }
    this.prepared = be.prepareConv2d(g, w, scale, shift);
    this.backend = be;
    this.epoch = currentDataEpoch();
    this.key = key;
    this.sources = sources;
    this.last = null;  // (get()'s per-call path does not apply to this form)
    return this.prepared;
  }

  private sameSources(weight: Tensor, bias: Tensor | null, bn: FoldedBatchNorm | null): boolean {
    const s = this.sources;
    if (s[0] !== weight || s[1] !== bias) return false;
    if (!bn) return s.length === 2;
    return s.length === 6 && s[2] === bn.weight && s[3] === bn.bias && s[4] === bn.runningMean && s[5] === bn.runningVar;
  }

  /** Drops the prepared form (its memory goes with the next garbage collection). */
  clear(): void {
    this.prepared = null;
    this.sources = [];
    this.last = null;
    this.lastSiblings = null;
  }

  /** The prepared form's algorithm, kernel and size, or null when none is held. */
  describe(): { algorithm: string; kernel: string; bytes: number } | null {
    const p = this.prepared;
    return p ? { algorithm: p.algorithm, kernel: p.kernel, bytes: p.bytes } : null;
  }
}

function sameGeometry(a: ConvGeometry, b: ConvGeometry): boolean {
  return a.N === b.N && a.C === b.C && a.H === b.H && a.W === b.W && a.K === b.K && a.R === b.R &&
    a.S === b.S && a.strideH === b.strideH && a.strideW === b.strideW && a.padTop === b.padTop &&
    a.padBottom === b.padBottom && a.padLeft === b.padLeft && a.padRight === b.padRight &&
    a.dilationH === b.dilationH && a.dilationW === b.dilationW && a.groups === b.groups;
}

/** What the prepared form depends on besides the tensors: filter, groups, stride, dilation, BN eps. */
function filterKey(g: ConvGeometry, bn: FoldedBatchNorm | null): string {
  return `${g.K},${g.C},${g.R},${g.S},${g.groups},${g.strideH},${g.strideW},` +
    `${g.dilationH},${g.dilationW}${bn ? `,bn${bn.eps}` : ''}`;
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
