// Transforms on single images [C, H, W] (a Float32Array plus shape; a Tensor works as input).
// A transform never changes its input (a DataLoader hands it views of the data set); it
// returns a new image `{data, shape}`. Random transforms draw from, in this order of
// preference: their own `generator` or `seed` option, the generator the caller passes (a
// DataLoader passes one per epoch derived from its seed), the process-wide default. Each
// draws a fixed number of values per image, so a seed gives the same sequence every run.
//
// Rotation, translation and scaling are one affine warp about the image centre, sampled
// bilinearly with a fill value (0) outside the image. Angles are in degrees, positive is
// counter-clockwise as seen on screen (torchvision's convention); translations in pixels,
// positive is right/down.
import { Generator, defaultGenerator } from '../random';

/** An image [C, H, W] (also [H, W], read as one channel). */
export interface Image {
  data: Float32Array;
  shape: readonly number[];
}

export type Transform = (image: Image, generator?: Generator) => Image;

export interface RandomOptions {
  /** Generator to draw from (shared, advances). */
  generator?: Generator;
  /** Seed of a generator owned by this transform. */
  seed?: number;
}

function ownGenerator(name: string, o: RandomOptions | undefined): Generator | undefined {
  if (!o) return undefined;
  if (o.generator !== undefined) {
    if (!(o.generator instanceof Generator)) throw new TypeError(`${name}: generator must be a Generator`);
    return o.generator;
  }
  if (o.seed !== undefined) {
    if (!Number.isFinite(o.seed)) throw new TypeError(`${name}: seed must be a finite number, got ${o.seed}`);
    return new Generator(o.seed);
  }
  return undefined;
}

function dims(name: string, img: Image): [number, number, number] {
  if (img === null || typeof img !== 'object' || !(img.data instanceof Float32Array) || !Array.isArray(img.shape)) {
    throw new TypeError(`${name}: expected an image {data: Float32Array, shape: [C, H, W]} or a Tensor`);
  }
  const s = img.shape;
  let c: number, h: number, w: number;
  if (s.length === 3) [c, h, w] = s as [number, number, number];
  else if (s.length === 2) { c = 1; [h, w] = s as [number, number]; }
  else throw new RangeError(`${name}: expected an image [C, H, W], got shape [${s.join(', ')}]`);
  if (c * h * w !== img.data.length) {
    throw new RangeError(`${name}: shape [${s.join(', ')}] needs ${c * h * w} values, data has ${img.data.length}`);
  }
  return [c, h, w];
}

const checkNumber = (name: string, what: string, v: unknown, min = -Infinity, max = Infinity): number => {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) {
    const range = min === -Infinity && max === Infinity ? 'a finite number' : `a number in [${min}, ${max}]`;
    throw new RangeError(`${name}: ${what} must be ${range}, got ${v}`);
  }
  return v;
};

const checkInt = (name: string, what: string, v: unknown, min = 0): number => {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw new RangeError(`${name}: ${what} must be an integer >= ${min}, got ${v}`);
  return v;
};

/** Applies transforms in order; the caller's generator is passed on to each. */
export function compose(transforms: Transform[]): Transform {
  if (!Array.isArray(transforms)) throw new TypeError('compose: expected an array of transforms');
  transforms.forEach((t, i) => { if (typeof t !== 'function') throw new TypeError(`compose: transform ${i} is not a function`); });
  const list = transforms.slice();
  return (img, gen) => {
    let out = img;
    for (const t of list) out = t(out, gen);
    return out;
  };
}

/** (x - mean[c]) / std[c] per channel; one value applies to every channel. */
export function normalize(mean: number | readonly number[], std: number | readonly number[]): Transform {
  const m = typeof mean === 'number' ? [mean] : Array.from(mean ?? []);
  const s = typeof std === 'number' ? [std] : Array.from(std ?? []);
  if (m.length === 0 || s.length === 0) throw new RangeError('normalize: mean and std need at least one value');
  m.forEach((v, i) => checkNumber('normalize', `mean[${i}]`, v));
  s.forEach((v, i) => {
    checkNumber('normalize', `std[${i}]`, v);
    if (v <= 0) throw new RangeError(`normalize: std[${i}] must be positive, got ${v}`);
  });
  return (img) => {
    const [c, h, w] = dims('normalize', img);
    for (const [what, arr] of [['mean', m], ['std', s]] as const) {
      if (arr.length !== 1 && arr.length !== c) throw new RangeError(`normalize: ${arr.length} ${what} values for an image of ${c} channels`);
    }
    const out = new Float32Array(img.data.length);
    const plane = h * w;
    for (let ch = 0; ch < c; ch++) {
      const mu = m[m.length === 1 ? 0 : ch], inv = 1 / s[s.length === 1 ? 0 : ch];
      const o = ch * plane;
      for (let i = o; i < o + plane; i++) out[i] = (img.data[i] - mu) * inv;
    }
    return { data: out, shape: [c, h, w] };
  };
}

type PadSpec = number | readonly [number, number] | readonly [number, number, number, number];

/** [left, top, right, bottom] from n | [leftRight, topBottom] | [left, top, right, bottom] (torchvision's Pad). */
function padSides(name: string, p: PadSpec): [number, number, number, number] {
  if (typeof p === 'number') { checkInt(name, 'padding', p); return [p, p, p, p]; }
  if (Array.isArray(p) && p.length === 2) {
    p.forEach((v, i) => checkInt(name, `padding[${i}]`, v));
    return [p[0], p[1], p[0], p[1]];
  }
  if (Array.isArray(p) && p.length === 4) {
    p.forEach((v, i) => checkInt(name, `padding[${i}]`, v));
    return [p[0], p[1], p[2], p[3]];
  }
  throw new RangeError(`${name}: padding must be an integer, [leftRight, topBottom] or [left, top, right, bottom], got ${JSON.stringify(p)}`);
}

function padImage(img: Image, [l, t, r, b]: [number, number, number, number], fill: number, name: string): Image {
  const [c, h, w] = dims(name, img);
  const H = h + t + b, W = w + l + r;
  const out = new Float32Array(c * H * W);
  if (fill !== 0) out.fill(fill);
  for (let ch = 0; ch < c; ch++) {
    for (let y = 0; y < h; y++) {
      const src = (ch * h + y) * w;
      out.set(img.data.subarray(src, src + w), (ch * H + y + t) * W + l);
    }
  }
  return { data: out, shape: [c, H, W] };
}

/** Pads every side with `fill` (default 0); `padding` as in torchvision's Pad. */
export function pad(padding: PadSpec, fill = 0): Transform {
  const sides = padSides('pad', padding);
  checkNumber('pad', 'fill', fill);
  return (img) => padImage(img, sides, fill, 'pad');
}

function cropImage(img: Image, top: number, left: number, th: number, tw: number, name: string): Image {
  const [c, h, w] = dims(name, img);
  const out = new Float32Array(c * th * tw);
  for (let ch = 0; ch < c; ch++) {
    for (let y = 0; y < th; y++) {
      const src = (ch * h + top + y) * w + left;
      out.set(img.data.subarray(src, src + tw), (ch * th + y) * tw);
    }
  }
  return { data: out, shape: [c, th, tw] };
}

function sizePair(name: string, size: number | readonly [number, number]): [number, number] {
  if (typeof size === 'number') { checkInt(name, 'size', size, 1); return [size, size]; }
  if (Array.isArray(size) && size.length === 2) {
    checkInt(name, 'size[0]', size[0], 1); checkInt(name, 'size[1]', size[1], 1);
    return [size[0], size[1]];
  }
  throw new RangeError(`${name}: size must be a positive integer or [height, width], got ${JSON.stringify(size)}`);
}

/** The central `size` crop. */
export function centerCrop(size: number | readonly [number, number]): Transform {
  const [th, tw] = sizePair('centerCrop', size);
  return (img) => {
    const [, h, w] = dims('centerCrop', img);
    if (th > h || tw > w) throw new RangeError(`centerCrop: crop ${th}x${tw} is larger than the image ${h}x${w}`);
    return cropImage(img, Math.floor((h - th) / 2), Math.floor((w - tw) / 2), th, tw, 'centerCrop');
  };
}

/**
 * A `size` crop at a uniformly random position, after optional padding (torchvision's
 * RandomCrop). Draws two values per image: the top, then the left offset.
 */
export function randomCrop(size: number | readonly [number, number],
                           options: RandomOptions & { padding?: PadSpec; fill?: number } = {}): Transform {
  const [th, tw] = sizePair('randomCrop', size);
  const sides = options.padding === undefined ? null : padSides('randomCrop', options.padding);
  const fill = checkNumber('randomCrop', 'fill', options.fill ?? 0);
  const own = ownGenerator('randomCrop', options);
  return (img, gen) => {
    const src = sides ? padImage(img, sides, fill, 'randomCrop') : img;
    const [, h, w] = dims('randomCrop', src);
    if (th > h || tw > w) throw new RangeError(`randomCrop: crop ${th}x${tw} is larger than the (padded) image ${h}x${w}`);
    const g = own ?? gen ?? defaultGenerator;
    const top = g.randint(h - th + 1), left = g.randint(w - tw + 1);
    return cropImage(src, top, left, th, tw, 'randomCrop');
  };
}

/** Mirrors image columns (exact). */
export function hflip(img: Image): Image {
  const [c, h, w] = dims('hflip', img);
  const out = new Float32Array(img.data.length);
  for (let row = 0; row < c * h; row++) {
    const o = row * w;
    for (let x = 0; x < w; x++) out[o + x] = img.data[o + w - 1 - x];
  }
  return { data: out, shape: [c, h, w] };
}

/** Flips left-right with probability p (default 0.5). Draws one value per image. */
export function randomHorizontalFlip(p = 0.5, options: RandomOptions = {}): Transform {
  checkNumber('randomHorizontalFlip', 'p', p, 0, 1);
  const own = ownGenerator('randomHorizontalFlip', options);
  return (img, gen) => {
    const g = own ?? gen ?? defaultGenerator;
    if (g.random() < p) return hflip(img);
    dims('randomHorizontalFlip', img);
    return { data: img.data.slice(), shape: [...(img.shape.length === 2 ? [1, ...img.shape] : img.shape)] };
  };
}

export interface AffineParams {
  /** Degrees, counter-clockwise. */
  angle?: number;
  /** [dx, dy] in pixels, right and down. */
  translate?: readonly [number, number];
  /** Zoom factor about the centre (> 0). */
  scale?: number;
  /** Value outside the source image (default 0). */
  fill?: number;
}

/**
 * Rotates by `angle` and scales by `scale` about the image centre ((W-1)/2, (H-1)/2 in pixel
 * coordinates), then shifts by `translate`, sampling the source bilinearly. Rotations by
 * multiples of 90 degrees of a square image move pixels exactly.
 */
export function affine(img: Image, params: AffineParams): Image {
  const [c, h, w] = dims('affine', img);
  const angle = checkNumber('affine', 'angle', params.angle ?? 0);
  const [tx, ty] = params.translate ?? [0, 0];
  checkNumber('affine', 'translate[0]', tx); checkNumber('affine', 'translate[1]', ty);
  const scale = checkNumber('affine', 'scale', params.scale ?? 1);
  if (scale <= 0) throw new RangeError(`affine: scale must be positive, got ${scale}`);
  const fill = checkNumber('affine', 'fill', params.fill ?? 0);
  const src = img.data;
  if (angle === 0 && tx === 0 && ty === 0 && scale === 1) return { data: src.slice(), shape: [c, h, w] };

  const rad = (angle * Math.PI) / 180;
  let cos = Math.cos(rad), sin = Math.sin(rad);
  // Exact zeros and ones for the right angles, so those rotations are pixel-exact.
  if (Math.abs(cos) < 1e-12) cos = 0;
  if (Math.abs(sin) < 1e-12) sin = 0;
  const cx = (w - 1) / 2, cy = (h - 1) / 2;
  const plane = h * w;
  const out = new Float32Array(c * plane);
  // Inverse map, linear in x: the source point that lands on output pixel (x, y) is
  // (sx0 + x * ux, sy0 + x * uy) for the row's start (sx0, sy0).
  const ux = cos / scale, uy = sin / scale;
  for (let y = 0; y < h; y++) {
    const dy = y - cy - ty, dx0 = -cx - tx;
    const sx0 = cx + (cos * dx0 - sin * dy) / scale;
    const sy0 = cy + (sin * dx0 + cos * dy) / scale;
    for (let x = 0; x < w; x++) {
      const sx = sx0 + x * ux, sy = sy0 + x * uy;
      const x0 = Math.floor(sx), y0 = Math.floor(sy);
      const o = y * w + x;
      if (x0 < -1 || y0 < -1 || x0 >= w || y0 >= h) {
        for (let ch = 0; ch < c; ch++) out[ch * plane + o] = fill;
        continue;
      }
      const fx = sx - x0, fy = sy - y0;
      const w00 = (1 - fx) * (1 - fy), w01 = fx * (1 - fy), w10 = (1 - fx) * fy, w11 = fx * fy;
      const i00 = y0 * w + x0;
      if (x0 >= 0 && y0 >= 0 && x0 + 1 < w && y0 + 1 < h) {
        for (let ch = 0; ch < c; ch++) {
          const b = ch * plane + i00;
          out[ch * plane + o] = w00 * src[b] + w01 * src[b + 1] + w10 * src[b + w] + w11 * src[b + w + 1];
        }
        continue;
      }
      const in00 = x0 >= 0 && y0 >= 0, in01 = x0 + 1 < w && y0 >= 0;
      const in10 = x0 >= 0 && y0 + 1 < h, in11 = x0 + 1 < w && y0 + 1 < h;
      for (let ch = 0; ch < c; ch++) {
        const b = ch * plane + i00;
        out[ch * plane + o] =
          w00 * (in00 ? src[b] : fill) + w01 * (in01 ? src[b + 1] : fill) +
          w10 * (in10 ? src[b + w] : fill) + w11 * (in11 ? src[b + w + 1] : fill);
      }
    }
  }
  return { data: out, shape: [c, h, w] };
}

function rangeOf(name: string, what: string, v: number | readonly [number, number], symmetric: boolean): [number, number] {
  if (typeof v === 'number') {
    checkNumber(name, what, v);
    if (symmetric) {
      if (v < 0) throw new RangeError(`${name}: ${what} must be non-negative, got ${v}`);
      return [-v, v];
    }
    return [v, v];
  }
  if (Array.isArray(v) && v.length === 2) {
    checkNumber(name, `${what}[0]`, v[0]); checkNumber(name, `${what}[1]`, v[1]);
    if (v[0] > v[1]) throw new RangeError(`${name}: ${what} range [${v[0]}, ${v[1]}] is reversed`);
    return [v[0], v[1]];
  }
  throw new RangeError(`${name}: ${what} must be a number or [min, max], got ${JSON.stringify(v)}`);
}

export interface RandomAffineOptions extends RandomOptions {
  /** Rotation range: d means [-d, d] degrees; or [min, max]. */
  degrees?: number | readonly [number, number];
  /** Maximum shifts as fractions of width and height (torchvision): dx in [-fx*W, fx*W]. */
  translate?: readonly [number, number];
  /** Zoom range [min, max]. */
  scale?: readonly [number, number];
  fill?: number;
}

/**
 * torchvision's RandomAffine (rotation, translation, scaling; no shear), as one warp.
 * Draws four values per image: angle, dx, dy, scale (shifts are not rounded to whole pixels).
 */
export function randomAffine(options: RandomAffineOptions = {}): Transform {
  const name = 'randomAffine';
  const [a0, a1] = rangeOf(name, 'degrees', options.degrees ?? 0, true);
  let fx = 0, fy = 0;
  if (options.translate !== undefined) {
    if (!Array.isArray(options.translate) || options.translate.length !== 2) throw new RangeError(`${name}: translate must be [fx, fy]`);
    fx = checkNumber(name, 'translate[0]', options.translate[0], 0, 1);
    fy = checkNumber(name, 'translate[1]', options.translate[1], 0, 1);
  }
  const [s0, s1] = options.scale === undefined ? [1, 1] : rangeOf(name, 'scale', options.scale, false);
  if (s0 <= 0) throw new RangeError(`${name}: scale must be positive, got [${s0}, ${s1}]`);
  const fill = checkNumber(name, 'fill', options.fill ?? 0);
  const own = ownGenerator(name, options);
  return (img, gen) => {
    const [, h, w] = dims(name, img);
    const g = own ?? gen ?? defaultGenerator;
    const angle = g.uniform(a0, a1);
    const dx = g.uniform(-fx * w, fx * w), dy = g.uniform(-fy * h, fy * h);
    const scale = g.uniform(s0, s1);
    return affine(img, { angle, translate: [dx, dy], scale, fill });
  };
}

/** Rotates by an angle drawn uniformly from [-degrees, degrees] (or [min, max]). One draw per image. */
export function randomRotation(degrees: number | readonly [number, number], options: RandomOptions & { fill?: number } = {}): Transform {
  const [a0, a1] = rangeOf('randomRotation', 'degrees', degrees, true);
  const fill = checkNumber('randomRotation', 'fill', options.fill ?? 0);
  const own = ownGenerator('randomRotation', options);
  return (img, gen) => {
    const g = own ?? gen ?? defaultGenerator;
    return affine(img, { angle: g.uniform(a0, a1), fill });
  };
}

/** Shifts by dx in [-maxDx, maxDx] and dy in [-maxDy, maxDy] pixels (two draws per image). */
export function randomTranslation(maxDx: number, maxDy: number = maxDx, options: RandomOptions & { fill?: number } = {}): Transform {
  checkNumber('randomTranslation', 'maxDx', maxDx, 0);
  checkNumber('randomTranslation', 'maxDy', maxDy, 0);
  const fill = checkNumber('randomTranslation', 'fill', options.fill ?? 0);
  const own = ownGenerator('randomTranslation', options);
  return (img, gen) => {
    const g = own ?? gen ?? defaultGenerator;
    const dx = g.uniform(-maxDx, maxDx), dy = g.uniform(-maxDy, maxDy);
    return affine(img, { translate: [dx, dy], fill });
  };
}

/** Zooms about the centre by a factor drawn from [minScale, maxScale] (one draw per image). */
export function randomScaling(minScale: number, maxScale: number, options: RandomOptions & { fill?: number } = {}): Transform {
  checkNumber('randomScaling', 'minScale', minScale);
  checkNumber('randomScaling', 'maxScale', maxScale);
  if (minScale <= 0) throw new RangeError(`randomScaling: minScale must be positive, got ${minScale}`);
  if (minScale > maxScale) throw new RangeError(`randomScaling: minScale ${minScale} is above maxScale ${maxScale}`);
  const fill = checkNumber('randomScaling', 'fill', options.fill ?? 0);
  const own = ownGenerator('randomScaling', options);
  return (img, gen) => {
    const g = own ?? gen ?? defaultGenerator;
    return affine(img, { scale: g.uniform(minScale, maxScale), fill });
  };
}
