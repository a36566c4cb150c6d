// detFill: the deterministic parameter generator of ../shared/fixtures/README.md ("Model
// cases"), written from the README's definition. 32-bit integer arithmetic only
// (Math.imul, >>> 0) and one float64 product rounded once to float32, so it reproduces
// the Python generator bit for bit.
'use strict';

/** detFill(numel, seed, scale) -> Float32Array. */
function detFill(numel, seed, scale) {
  const out = new Float32Array(numel);
  const s = Math.imul(seed + 1, 97531) >>> 0;             // (seed + 1) * 97531 mod 2^32
  for (let i = 0; i < numel; i++) {
    let h = (Math.imul(i, 2654435761) + s) >>> 0;         // (i * 2654435761 + s) mod 2^32
    h = (h ^ (h >>> 15)) >>> 0;
    h = Math.imul(h, 2246822519) >>> 0;                   // h * 2246822519 mod 2^32
    h = (h ^ (h >>> 13)) >>> 0;
    const v = (h / 4294967296) * 2 - 1;                   // exact in float64, in [-1, 1)
    out[i] = v * scale;                                   // rounded to float32 on store
  }
  return out;
}

/** fanIn of a weight shape: numel / shape[0]. */
function fanInOf(shape) {
  return shape.reduce((a, b) => a * b, 1) / shape[0];
}

/**
 * The values of one state_dict entry of a model fixture ({name, shape, seed, rule,
 * fanIn?}); `weightShape` is the shape of the matching '.weight' (for fan_in_bias when
 * the entry carries no fanIn). Returns null for 'untouched' (num_batches_tracked).
 */
function detParam(entry, weightShape) {
  const n = entry.shape.reduce((a, b) => a * b, 1);
  const seed = entry.seed;
  switch (entry.rule) {
    case 'kaiming_uniform_weight': return detFill(n, seed, Math.sqrt(6 / (entry.fanIn ?? fanInOf(entry.shape))));
    case 'fan_in_bias': return detFill(n, seed, 1 / Math.sqrt(entry.fanIn ?? fanInOf(weightShape)));
    case 'bn_weight': return detFill(n, seed, 1).map((d) => 1 + 0.1 * d);   // Float32Array.map rounds to f32
    case 'bn_bias': return detFill(n, seed, 0.1);
    case 'bn_running_mean': return detFill(n, seed, 0.1);
    case 'bn_running_var': return detFill(n, seed, 0.25).map((d) => 1.25 + d);
    case 'untouched': return null;
    default: throw new Error(`detParam: unknown rule '${entry.rule}' for ${entry.name}`);
  }
}

/** The fixture's whole state dict as a Map name -> {shape, data} (untouched entries skipped). */
function detStateDict(stateDictList, makeTensor) {
  const byName = new Map(stateDictList.map((e) => [e.name, e]));
  const out = new Map();
  for (const e of stateDictList) {
    const w = e.name.endsWith('.bias') ? byName.get(e.name.replace(/\.bias$/, '.weight')) : null;
    const data = detParam(e, w ? w.shape : null);
    if (data === null) continue;
    out.set(e.name, makeTensor ? makeTensor(data, e.shape.slice()) : { shape: e.shape.slice(), data });
  }
  return out;
}

module.exports = { detFill, detParam, detStateDict, fanInOf };
