// Sibling convolutions run as one (horizontal fusion): Conv2d layers that read the same
// input with the same filter size, stride, padding and dilation (an Inception block's
// 1x1 reductions) computed by one kernel call that reads the input once, each layer's
// output (after its eval-mode BatchNorm and an optional ReLU) written to its own
// destination. Inference only: no tape.
import { Tensor, formatShape } from '../tensor';
import { backend } from '../backend/select';
import { MAX_CONV_OUTPUT_PARTS, convOutputSize } from '../backend/backend';
import type { ConvGeometry } from '../backend/backend';
import type { ConvDestination } from '../functional/conv';
import { needsGrad } from '../autograd/engine';
import { Conv2d } from './conv';
import type { BatchNorm2d } from './normalization';
import { PreparedWeights } from './prepared_weights';
import type { PreparedPart } from './prepared_weights';

/** One sibling: its convolution, the eval-mode BatchNorm after it (or none), where its output goes. */
export interface SiblingConv {
  conv: Conv2d;
  bn?: BatchNorm2d | null;
  /** Image n of this layer's output at into.data[n * into.imageStride ..]. */
  into: ConvDestination;
}

function samePadding(a: Conv2d, b: Conv2d): boolean {
  const p = a.explicitPadding(), q = b.explicitPadding();
  return p.every(([x, y], i) => x === q[i][0] && y === q[i][1]);
}

/** Holds the siblings' filters prepared as one (remade when any of their tensors change). */
export class ConvSiblings {
  private readonly prepared = new PreparedWeights();

  /**
   * Whether these layers can run as siblings: 1 to 8 plain cross-correlation Conv2d layers
   * with zero padding, groups 1 and the same input channels, filter size, stride, padding and
   * dilation.
   */
  static compatible(convs: unknown[]): boolean {
    if (convs.length < 1 || convs.length > MAX_CONV_OUTPUT_PARTS) return false;
    const a = convs[0];
    if (!(a instanceof Conv2d)) return false;
    return convs.every((c) => c instanceof Conv2d && c.mode === 'cross-correlation' && c.paddingMode === 'zeros' &&
      c.groups === 1 && c.inChannels === a.inChannels && c.kernelSize.every((k, i) => k === a.kernelSize[i]) &&
      c.stride.every((s, i) => s === a.stride[i]) && c.dilation.every((d, i) => d === a.dilation[i]) &&
      samePadding(a, c));
  }

  /** relu?(bn(conv(x))) of every sibling, each into its destination, from one kernel call. */
  forward(x: Tensor, siblings: SiblingConv[], options: { relu?: boolean } = {}): void {
    const fn = 'ConvSiblings.forward';
    if (!(x instanceof Tensor)) throw new TypeError(`${fn}: x must be a Tensor`);
    if (!Array.isArray(siblings)) throw new TypeError(`${fn}: siblings must be an Array`);
    const convs = siblings.map((s) => s?.conv);
    if (!ConvSiblings.compatible(convs)) {
      throw new RangeError(`${fn}: expected 1 to ${MAX_CONV_OUTPUT_PARTS} Conv2d layers (cross-correlation, zero padding, ` +
        'groups 1) with the same input channels, filter size, stride, padding and dilation');
    }
    const relu = options.relu ?? false;
    if (typeof relu !== 'boolean') throw new TypeError(`${fn}: relu must be a boolean`);
    const first = convs[0] as Conv2d;
    if (x.ndim !== 4 || x.shape[1] !== first.inChannels) {
      throw new RangeError(`${fn}: expected an input [N, ${first.inChannels}, H, W], got ${formatShape(x.shape)}`);
    }
    const parts: PreparedPart[] = siblings.map((s, i) => {
      const bn = s.bn ?? null;
      if (bn !== null) {
        if (bn.training) throw new Error(`${fn}: siblings[${i}]'s BatchNorm must be in eval mode to be folded`);
        if (!bn.runningMean || !bn.runningVar) throw new Error(`${fn}: siblings[${i}]'s BatchNorm has no running statistics`);
        if (bn.numFeatures !== s.conv.outChannels) {
          throw new RangeError(`${fn}: siblings[${i}]'s BatchNorm has ${bn.numFeatures} features, its convolution ${s.conv.outChannels} output channels`);
        }
        if (needsGrad(bn.weight, bn.bias)) throw new Error(`${fn}: the inference path records no gradient; call it without a tape`);
      }
      if (needsGrad(x, s.conv.weight, s.conv.bias)) throw new Error(`${fn}: the inference path records no gradient; call it without a tape`);
      return {
        weight: s.conv.weight, bias: s.conv.bias,
        bn: bn && { weight: bn.weight, bias: bn.bias, runningMean: bn.runningMean!, runningVar: bn.runningVar!, eps: bn.eps },
      };
    });
    const [N, C, H, W] = x.shape;
    const [[padTop, padBottom], [padLeft, padRight]] = first.explicitPadding();
    const g: ConvGeometry = {
      N, C, H, W, K: siblings.reduce((k, s) => k + s.conv.outChannels, 0), R: first.kernelSize[0], S: first.kernelSize[1],
      strideH: first.stride[0], strideW: first.stride[1], padTop, padBottom, padLeft, padRight,
      dilationH: first.dilation[0], dilationW: first.dilation[1], groups: 1,
    };
    const OH = convOutputSize(H, g.R, g.strideH, padTop, padBottom, g.dilationH);
    const OW = convOutputSize(W, g.S, g.strideW, padLeft, padRight, g.dilationW);
    if (!(OH >= 1 && OW >= 1)) {
      throw new RangeError(`${fn}: input ${formatShape(x.shape)} is smaller than the filter ${first.kernelSize.join('x')} (with padding and dilation)`);
    }
    const be = backend();
    const outputs = siblings.map((s, i) => {
      const into = s.into;
      if (typeof into !== 'object' || into === null || !(into.data instanceof Float32Array)) {
        throw new TypeError(`${fn}: siblings[${i}].into must be { data: Float32Array, imageStride: number }`);
      }
      return { data: into.data, channels: s.conv.outChannels, imageStride: into.imageStride };
    });
    be.conv2dForwardPreparedSplit(g, x.data, this.prepared.getSiblings(be, g, parts), relu, outputs);
  }
}
