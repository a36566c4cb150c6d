// IDX, the file format of MNIST and Fashion-MNIST (http://yann.lecun.com/exdb/mnist/):
//
//   bytes 0-1  0x00 0x00
//   byte 2     element type: 0x08 ubyte, 0x09 byte, 0x0B short, 0x0C int, 0x0D float, 0x0E double
//   byte 3     number of dimensions
//   then       one big-endian u32 per dimension, then the values, big-endian, row-major
//
// Files may be gzip-compressed; that is detected from the gzip magic bytes (1f 8b), not from
// the file name. Every check failure throws an Error naming the file and the problem.
import * as fs from 'fs';
import * as zlib from 'zlib';

export type IdxDType = 'uint8' | 'int8' | 'int16' | 'int32' | 'float32' | 'float64';
export type IdxTypedArray = Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;

export interface IdxArray {
  dtype: IdxDType;
  shape: number[];
  /** Row-major values in native byte order. */
  data: IdxTypedArray;
}

interface TypeInfo { code: number; dtype: IdxDType; size: number; Ctor: new (n: number) => IdxTypedArray }

const TYPES: TypeInfo[] = [
  { code: 0x08, dtype: 'uint8', size: 1, Ctor: Uint8Array },
  { code: 0x09, dtype: 'int8', size: 1, Ctor: Int8Array },
  { code: 0x0b, dtype: 'int16', size: 2, Ctor: Int16Array },
  { code: 0x0c, dtype: 'int32', size: 4, Ctor: Int32Array },
  { code: 0x0d, dtype: 'float32', size: 4, Ctor: Float32Array },
  { code: 0x0e, dtype: 'float64', size: 8, Ctor: Float64Array },
];
const BY_CODE = new Map(TYPES.map((t) => [t.code, t]));
const BY_NAME = new Map(TYPES.map((t) => [t.dtype, t]));

const hex = (b: number) => `0x${b.toString(16).padStart(2, '0')}`;

/** True when the bytes start with the gzip magic number. */
export function isGzip(buf: Uint8Array): boolean {
  return buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b;
}

/**
 * Decodes IDX bytes (raw or gzip). Single-byte types are returned as a view over the
 * (decompressed) buffer; wider types are decoded from big-endian into a new array.
 */
export function parseIdx(input: Uint8Array, source = '<buffer>'): IdxArray {
  if (!(input instanceof Uint8Array)) throw new TypeError('parseIdx: expected a Buffer or Uint8Array');
  let buf = input;
  if (isGzip(buf)) {
    try {
      buf = zlib.gunzipSync(buf);
    } catch (e) {
      throw new Error(`IDX file ${source}: gzip data is corrupt or truncated (${(e as Error).message})`);
    }
  }
  const err = (what: string) => new Error(`IDX file ${source}: ${what}`);
  if (buf.length < 4) throw err(`only ${buf.length} bytes, too short for the 4-byte magic number`);
  if (buf[0] !== 0 || buf[1] !== 0) {
    throw err(`bad magic number ${[...buf.subarray(0, 4)].map(hex).join(' ')} (an IDX file starts with 0x00 0x00 <type> <ndim>)`);
  }
  const type = BY_CODE.get(buf[2]);
  if (!type) throw err(`unknown element type ${hex(buf[2])} (expected 0x08, 0x09, 0x0b, 0x0c, 0x0d or 0x0e)`);
  const ndim = buf[3];
  if (ndim === 0) throw err('has 0 dimensions');
  const headerLength = 4 + 4 * ndim;
  if (buf.length < headerLength) throw err(`truncated header: ${ndim} dimensions need ${headerLength} bytes, the file has ${buf.length}`);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const shape: number[] = [];
  let count = 1;
  for (let i = 0; i < ndim; i++) {
    const d = dv.getUint32(4 + 4 * i, false);
    shape.push(d);
    count *= d;
  }
  const expected = headerLength + count * type.size;
  if (!Number.isSafeInteger(expected)) throw err(`dimensions [${shape.join(', ')}] are impossibly large`);
  if (buf.length < expected) {
    throw err(`truncated: dimensions [${shape.join(', ')}] of ${type.dtype} need ${expected} bytes, the file has ${buf.length}`);
  }
  if (buf.length > expected) {
    throw err(`wrong length: dimensions [${shape.join(', ')}] of ${type.dtype} need ${expected} bytes, the file has ${buf.length} (${buf.length - expected} extra)`);
  }
  let data: IdxTypedArray;
  if (type.dtype === 'uint8') data = new Uint8Array(buf.buffer, buf.byteOffset + headerLength, count);
  else if (type.dtype === 'int8') data = new Int8Array(buf.buffer, buf.byteOffset + headerLength, count);
  else {
    data = new type.Ctor(count);
    const o = headerLength;
    switch (type.dtype) {
      case 'int16': for (let i = 0; i < count; i++) data[i] = dv.getInt16(o + 2 * i, false); break;
      case 'int32': for (let i = 0; i < count; i++) data[i] = dv.getInt32(o + 4 * i, false); break;
      case 'float32': for (let i = 0; i < count; i++) data[i] = dv.getFloat32(o + 4 * i, false); break;
      case 'float64': for (let i = 0; i < count; i++) data[i] = dv.getFloat64(o + 8 * i, false); break;
    }
  }
  return { dtype: type.dtype, shape, data };
}

/** Reads an IDX file, raw or gzip-compressed (see parseIdx). */
export function readIdx(path: string): IdxArray {
  if (typeof path !== 'string' || path.length === 0) throw new TypeError('readIdx: path must be a non-empty string');
  let buf: Buffer;
  try {
    buf = fs.readFileSync(path);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new Error(`IDX file ${path}: cannot read it (${err.code === 'ENOENT' ? 'no such file' : err.code ?? err.message})`);
  }
  return parseIdx(buf, path);
}

/** The IDX type implied by a typed array. */
function dtypeOf(data: IdxTypedArray): IdxDType {
  if (data instanceof Uint8Array) return 'uint8';
  if (data instanceof Int8Array) return 'int8';
  if (data instanceof Int16Array) return 'int16';
  if (data instanceof Int32Array) return 'int32';
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Float64Array) return 'float64';
  throw new TypeError('encodeIdx: data must be a Uint8Array, Int8Array, Int16Array, Int32Array, Float32Array or Float64Array');
}

/** Encodes values as IDX bytes (gzip-compressed when `gzip` is set). */
export function encodeIdx(array: { data: IdxTypedArray; shape: readonly number[]; dtype?: IdxDType }, options: { gzip?: boolean } = {}): Buffer {
  const dtype = array.dtype ?? dtypeOf(array.data);
  const type = BY_NAME.get(dtype);
  if (!type) throw new TypeError(`encodeIdx: unknown dtype ${dtype}`);
  const shape = array.shape;
  if (!Array.isArray(shape) || shape.length < 1 || shape.length > 255) throw new RangeError('encodeIdx: shape must have 1 to 255 dimensions');
  let count = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0 || d > 0xffffffff) throw new RangeError(`encodeIdx: invalid dimension ${d} in shape [${shape.join(', ')}]`);
    count *= d;
  }
  if (count !== array.data.length) throw new RangeError(`encodeIdx: shape [${shape.join(', ')}] needs ${count} values, data has ${array.data.length}`);
  const out = Buffer.alloc(4 + 4 * shape.length + count * type.size);
  out[2] = type.code;
  out[3] = shape.length;
  shape.forEach((d, i) => out.writeUInt32BE(d, 4 + 4 * i));
  const o = 4 + 4 * shape.length;
  const d = array.data;
  for (let i = 0; i < count; i++) {
    switch (dtype) {
      case 'uint8': out.writeUInt8(d[i] & 0xff, o + i); break;
      case 'int8': out.writeInt8(d[i], o + i); break;
      case 'int16': out.writeInt16BE(d[i], o + 2 * i); break;
      case 'int32': out.writeInt32BE(d[i], o + 4 * i); break;
      case 'float32': out.writeFloatBE(d[i], o + 4 * i); break;
      case 'float64': out.writeDoubleBE(d[i], o + 8 * i); break;
    }
  }
  return options.gzip ? zlib.gzipSync(out) : out;
}

/** Writes an IDX file (for tests and for exporting data sets). */
export function writeIdx(path: string, array: { data: IdxTypedArray; shape: readonly number[]; dtype?: IdxDType }, options: { gzip?: boolean } = {}): void {
  fs.writeFileSync(path, encodeIdx(array, options));
}
