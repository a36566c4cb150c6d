// safetensors, the public format (https://github.com/huggingface/safetensors):
//
//   8 bytes   N, little-endian u64: length of the header
//   N bytes   UTF-8 JSON object {name: {dtype, shape, data_offsets: [begin, end]}, ...,
//             "__metadata__": {string: string}} (optional), padded with spaces so that
//             8 + N is a multiple of 8
//   rest      the byte buffer; offsets are relative to its start, little-endian, C order,
//             tensors contiguous with no overlaps and no holes, covering it exactly
//
// Reading maps tensors straight onto the file's bytes: the file is read once and an F32
// tensor whose bytes are 4-byte aligned becomes a Float32Array view over that one buffer
// (no copy). F16, BF16, F64, the integer types, BOOL and the F8 types are converted to
// float32 (Tensor holds float32). I64/U64 values (BatchNorm's num_batches_tracked) become
// float32 numbers: exact up to 2^24, rounded beyond. `info` keeps each entry's stored dtype.
//
// Writing produces what the reference implementation (Python `safetensors.torch.save_file`)
// produces for float32 tensors: entries sorted by name (byte order), compact JSON,
// `__metadata__` first when given, header padded with spaces to 8 bytes. The file is
// replaced atomically (see atomic.ts).
import * as fs from 'fs';
import * as os from 'os';
import { Tensor } from '../tensor';
import { writeFileAtomic } from './atomic';

/** The dtypes of the format, with their sizes in bytes. */
export const SAFETENSORS_DTYPES = {
  BOOL: 1, U8: 1, I8: 1, F8_E5M2: 1, F8_E4M3: 1,
  I16: 2, U16: 2, F16: 2, BF16: 2,
  I32: 4, U32: 4, F32: 4,
  F64: 8, I64: 8, U64: 8,
} as const;

export type SafetensorsDtype = keyof typeof SAFETENSORS_DTYPES;

/** The reference implementation refuses headers above 100 MB; so do we. */
export const MAX_HEADER_SIZE = 100_000_000;

/** What the header says about one tensor. */
export interface SafetensorsEntry {
  dtype: SafetensorsDtype;
  shape: number[];
  /** [begin, end) in bytes, relative to the start of the byte buffer. */
  dataOffsets: [number, number];
}

/** A corrupt or unreadable safetensors file, or a value that cannot be written. */
export class SafetensorsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SafetensorsError';
  }
}

/** The tensors of a file by name (in file order), with its metadata and the stored dtypes. */
export class SafetensorsDict extends Map<string, Tensor> {
  /** The `__metadata__` map ({} when the file has none). */
  readonly metadata: Record<string, string>;
  /** The header's entry for each tensor (stored dtype, shape, offsets). */
  readonly info: Map<string, SafetensorsEntry>;
  /** Names whose data is a view over the file's bytes (no copy was made). */
  readonly views: Set<string>;

  constructor(metadata: Record<string, string>, info: Map<string, SafetensorsEntry>) {
    super();
    this.metadata = metadata;
    this.info = info;
    this.views = new Set();
  }

  /** The state dict as a plain object (for APIs that take one). */
  toObject(): Record<string, Tensor> {
    const o: Record<string, Tensor> = {};
    for (const [k, v] of this) o[k] = v;
    return o;
  }
}

export interface ParseOptions {
  /** Name used in error messages (the file path when loading). */
  source?: string;
  /** Copy every tensor into its own buffer instead of viewing the input (default false). */
  copy?: boolean;
}

const LITTLE_ENDIAN = os.endianness() === 'LE';

function fail(source: string, what: string): never {
  throw new SafetensorsError(`safetensors ${source}: ${what}`);
}

function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'string' ? `the string ${JSON.stringify(v).slice(0, 60)}` : `a ${typeof v}`;
}

/** Decodes and validates the header; returns the entries in buffer order. */
export function readSafetensorsHeader(buf: Uint8Array, source = '<buffer>'): {
  headerLength: number; dataStart: number; metadata: Record<string, string> | null;
  entries: Array<[string, SafetensorsEntry]>;
} {
  if (!(buf instanceof Uint8Array)) throw new TypeError('parseSafetensors: expected a Buffer or Uint8Array');
  const total = buf.byteLength;
  if (total < 8) fail(source, `file is ${total} bytes, too short for the 8-byte header length`);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const lo = dv.getUint32(0, true), hi = dv.getUint32(4, true);
  const n = hi * 0x100000000 + lo;
  if (hi !== 0 || n > MAX_HEADER_SIZE) fail(source, `header length ${hi ? dv.getBigUint64(0, true) : n} is over the 100 MB limit (not a safetensors file, or corrupt)`);
  if (8 + n > total) fail(source, `header length ${n} exceeds the file size (${total} bytes; truncated or not a safetensors file)`);

  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(buf.subarray(8, 8 + n));
  } catch {
    fail(source, 'header is not valid UTF-8');
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    fail(source, `header is not valid JSON (${(e as Error).message})`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) {
    fail(source, `header must be a JSON object, got ${describeValue(header)}`);
  }

  const dataStart = 8 + n;
  const dataLength = total - dataStart;
  let metadata: Record<string, string> | null = null;
  const entries: Array<[string, SafetensorsEntry]> = [];
  for (const [name, value] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (value === null) continue;
      if (typeof value !== 'object' || Array.isArray(value)) fail(source, `__metadata__ must be an object of strings, got ${describeValue(value)}`);
      metadata = Object.create(null) as Record<string, string>;
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        if (typeof v !== 'string') fail(source, `__metadata__ value for '${k}' must be a string, got ${describeValue(v)}`);
        metadata[k] = v;
      }
      continue;
    }
    entries.push([name, checkEntry(source, name, value, dataLength)]);
  }

  // Contiguous, no overlaps, no holes, covering the buffer exactly (like the reference reader).
  entries.sort((a, b) => a[1].dataOffsets[0] - b[1].dataOffsets[0] || a[1].dataOffsets[1] - b[1].dataOffsets[1]);
  let expected = 0;
  let previous: string | null = null;
  for (const [name, e] of entries) {
    const [begin, end] = e.dataOffsets;
    if (begin < expected) fail(source, `tensor '${name}': data_offsets [${begin}, ${end}] overlap tensor '${previous}' (which ends at ${expected})`);
    if (begin > expected) fail(source, `tensor '${name}': data_offsets [${begin}, ${end}] leave a hole of ${begin - expected} bytes after ${previous === null ? 'the start of the data' : `tensor '${previous}'`}`);
    expected = end;
    previous = name;
  }
  if (expected !== dataLength) {
    fail(source, `${dataLength - expected} bytes of data after the last tensor are not described by the header (data is ${dataLength} bytes, tensors cover ${expected})`);
  }
  return { headerLength: n, dataStart, metadata, entries };
}

function checkEntry(source: string, name: string, value: unknown, dataLength: number): SafetensorsEntry {
  const where = `tensor '${name}'`;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) fail(source, `${where}: entry must be an object, got ${describeValue(value)}`);
  const v = value as Record<string, unknown>;
  const dtype = v.dtype;
  if (typeof dtype !== 'string') fail(source, `${where}: dtype must be a string, got ${describeValue(dtype)}`);
  if (!Object.prototype.hasOwnProperty.call(SAFETENSORS_DTYPES, dtype)) {
    fail(source, `${where}: unknown dtype '${dtype}' (known: ${Object.keys(SAFETENSORS_DTYPES).join(', ')})`);
  }
  const shape = v.shape;
  if (!Array.isArray(shape)) fail(source, `${where}: shape must be an array, got ${describeValue(shape)}`);
  let numel = 1;
  for (const d of shape) {
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) {
      fail(source, `${where}: shape [${shape.map((s) => JSON.stringify(s)).join(', ')}] has an invalid dimension ${JSON.stringify(d)} (dimensions must be non-negative integers)`);
    }
    numel *= d;
  }
  if (!Number.isSafeInteger(numel)) fail(source, `${where}: shape [${shape.join(', ')}] is too large`);
  const offs = v.data_offsets;
  if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((o) => typeof o === 'number' && Number.isSafeInteger(o) && o >= 0)) {
    fail(source, `${where}: data_offsets must be two non-negative integers [begin, end], got ${JSON.stringify(offs)}`);
  }
  const [begin, end] = offs as [number, number];
  if (end < begin) fail(source, `${where}: data_offsets [${begin}, ${end}] end before they begin`);
  if (end > dataLength) fail(source, `${where}: data_offsets [${begin}, ${end}] run past the end of the data (${dataLength} bytes; file truncated?)`);
  const size = SAFETENSORS_DTYPES[dtype as SafetensorsDtype];
  const need = numel * size;
  if (end - begin !== need) {
    fail(source, `${where}: data_offsets [${begin}, ${end}] span ${end - begin} bytes but shape [${shape.join(', ')}] of ${dtype} needs ${need}`);
  }
  return { dtype: dtype as SafetensorsDtype, shape: shape.slice() as number[], dataOffsets: [begin, end] };
}

// ---- conversions to float32 ----

let halfTable: Float32Array | null = null;

/** float32 value of every IEEE binary16 bit pattern (256 KB, built on first use). */
function halfToFloatTable(): Float32Array {
  if (halfTable) return halfTable;
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const e = (h >> 10) & 31, m = h & 1023;
    let v: number;
    if (e === 0) v = m * 2 ** -24;
    else if (e === 31) v = m ? NaN : Infinity;
    else v = (1 + m / 1024) * 2 ** (e - 15);
    t[h] = h & 0x8000 ? -v : v;
  }
  return (halfTable = t);
}

function fp8Table(kind: 'F8_E5M2' | 'F8_E4M3'): Float32Array {
  const t = new Float32Array(256);
  const half = halfToFloatTable();
  for (let b = 0; b < 256; b++) {
    if (kind === 'F8_E5M2') { t[b] = half[b << 8]; continue; }
    // E4M3 "fn" (as in PyTorch's float8_e4m3fn): bias 7, no infinities, S.1111.111 is NaN.
    const e = (b >> 3) & 15, m = b & 7;
    let v: number;
    if (e === 15 && m === 7) v = NaN;
    else if (e === 0) v = (m / 8) * 2 ** -6;
    else v = (1 + m / 8) * 2 ** (e - 7);
    t[b] = b & 0x80 ? -v : v;
  }
  return t;
}

type IntArrayCtor = Uint8ArrayConstructor | Int8ArrayConstructor | Uint16ArrayConstructor | Int16ArrayConstructor
  | Uint32ArrayConstructor | Int32ArrayConstructor | Float32ArrayConstructor | Float64ArrayConstructor
  | BigInt64ArrayConstructor | BigUint64ArrayConstructor;

/** A typed view of `bytes` when aligned on a little-endian host, else an aligned (byte-swapped) copy. */
function typedOver<C extends IntArrayCtor>(Ctor: C, bytes: Uint8Array, forceCopy: boolean): { array: InstanceType<C>; view: boolean } {
  const bpe = Ctor.BYTES_PER_ELEMENT;
  const count = bytes.byteLength / bpe;
  if (!forceCopy && LITTLE_ENDIAN && bytes.byteOffset % bpe === 0) {
    return { array: new Ctor(bytes.buffer as ArrayBuffer, bytes.byteOffset, count) as InstanceType<C>, view: true };
  }
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  if (!LITTLE_ENDIAN && bpe > 1) {
    for (let i = 0; i < copy.length; i += bpe) copy.subarray(i, i + bpe).reverse();
  }
  return { array: new Ctor(copy.buffer, 0, count) as InstanceType<C>, view: false };
}

function toFloat32(dtype: SafetensorsDtype, bytes: Uint8Array, copy: boolean): { data: Float32Array; view: boolean } {
  switch (dtype) {
    case 'F32': {
      const r = typedOver(Float32Array, bytes, copy);
      return { data: r.array, view: r.view };
    }
    case 'F16': {
      const src = typedOver(Uint16Array, bytes, false).array, t = halfToFloatTable();
      const out = new Float32Array(src.length);
      for (let i = 0; i < src.length; i++) out[i] = t[src[i]];
      return { data: out, view: false };
    }
    case 'BF16': {
      // bfloat16 is the top half of a float32: shifting the bits back is exact (NaNs included).
      const src = typedOver(Uint16Array, bytes, false).array;
      const out = new Float32Array(src.length);
      const bits = new Uint32Array(out.buffer);
      for (let i = 0; i < src.length; i++) bits[i] = src[i] << 16;
      return { data: out, view: false };
    }
    case 'F8_E5M2': case 'F8_E4M3': {
      const t = fp8Table(dtype);
      const out = new Float32Array(bytes.length);
      for (let i = 0; i < bytes.length; i++) out[i] = t[bytes[i]];
      return { data: out, view: false };
    }
    case 'BOOL': {
      const out = new Float32Array(bytes.length);
      for (let i = 0; i < bytes.length; i++) out[i] = bytes[i] ? 1 : 0;
      return { data: out, view: false };
    }
    case 'I64': case 'U64': {
      const src = typedOver(dtype === 'I64' ? BigInt64Array : BigUint64Array, bytes, false).array;
      const out = new Float32Array(src.length);
      for (let i = 0; i < src.length; i++) out[i] = Number(src[i]);
      return { data: out, view: false };
    }
    default: {
      const Ctor = ({ U8: Uint8Array, I8: Int8Array, I16: Int16Array, U16: Uint16Array, I32: Int32Array, U32: Uint32Array, F64: Float64Array } as const)[dtype];
      return { data: Float32Array.from(typedOver(Ctor, bytes, false).array as ArrayLike<number>), view: false };
    }
  }
}

/**
 * Parses a whole safetensors file held in memory. F32 tensors are views over `buf` when
 * aligned (they share its memory) unless `copy` is set; other dtypes are converted.
 */
export function parseSafetensors(buf: Uint8Array, options: ParseOptions = {}): SafetensorsDict {
  const source = options.source ?? '<buffer>';
  const { dataStart, metadata, entries } = readSafetensorsHeader(buf, source);
  const info = new Map<string, SafetensorsEntry>(entries);
  const out = new SafetensorsDict(metadata ?? Object.create(null), info);
  for (const [name, e] of entries) {
    const bytes = buf.subarray(dataStart + e.dataOffsets[0], dataStart + e.dataOffsets[1]);
    const { data, view } = toFloat32(e.dtype, bytes, options.copy === true);
    out.set(name, new Tensor(data, e.shape));
    if (view) out.views.add(name);
  }
  return out;
}

/** Loads a safetensors file: one read of the whole file, then views over it (see parseSafetensors). */
export function loadSafetensors(path: string, options: Omit<ParseOptions, 'source'> = {}): SafetensorsDict {
  if (typeof path !== 'string' || path.length === 0) throw new TypeError('loadSafetensors: path must be a non-empty string');
  let buf: Buffer;
  try {
    buf = fs.readFileSync(path);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new SafetensorsError(`safetensors ${path}: cannot read the file (${err.code ?? err.message})`);
  }
  return parseSafetensors(buf, { ...options, source: path });
}

/** loadSafetensors without blocking the event loop while the file is read. */
export async function loadSafetensorsAsync(path: string, options: Omit<ParseOptions, 'source'> = {}): Promise<SafetensorsDict> {
  if (typeof path !== 'string' || path.length === 0) throw new TypeError('loadSafetensorsAsync: path must be a non-empty string');
  let buf: Buffer;
  try {
    buf = await fs.promises.readFile(path);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new SafetensorsError(`safetensors ${path}: cannot read the file (${err.code ?? err.message})`);
  }
  return parseSafetensors(buf, { ...options, source: path });
}

// ---- writing ----

/** A tensor to write: a Tensor, or any `{data: Float32Array, shape}` record. */
export type SafetensorsValue = Tensor | { data: Float32Array; shape: readonly number[] };
export type SafetensorsInput = Map<string, SafetensorsValue> | Record<string, SafetensorsValue>;
export type SafetensorsMetadata = Map<string, string> | Record<string, string>;

const utf8 = (s: string) => Buffer.from(s, 'utf8');

function checkValue(name: string, v: unknown): { data: Float32Array; shape: number[] } {
  const where = `saveSafetensors: tensor '${name}'`;
  if (v === null || typeof v !== 'object') throw new SafetensorsError(`${where} is ${describeValue(v)}, not a Tensor`);
  const t = v as { data?: unknown; shape?: unknown };
  if (!(t.data instanceof Float32Array)) throw new SafetensorsError(`${where}: data must be a Float32Array`);
  if (!Array.isArray(t.shape)) throw new SafetensorsError(`${where}: shape must be an array`);
  let n = 1;
  for (const d of t.shape) {
    if (!Number.isSafeInteger(d) || d < 0) throw new SafetensorsError(`${where}: shape [${t.shape.join(', ')}] has an invalid dimension ${d}`);
    n *= d;
  }
  if (n !== t.data.length) throw new SafetensorsError(`${where}: shape [${t.shape.join(', ')}] needs ${n} values but data has ${t.data.length}`);
  return { data: t.data, shape: t.shape.slice() };
}

/**
 * Validates the tensors and builds the file as chunks: the 8-byte length plus header, then
 * each tensor's bytes (views over the tensors' memory on little-endian hosts, no copy).
 */
export function serializeSafetensors(tensors: SafetensorsInput, metadata?: SafetensorsMetadata | null): Uint8Array[] {
  if (tensors === null || typeof tensors !== 'object') throw new SafetensorsError('saveSafetensors: tensors must be a Map or an object of name -> Tensor');
  const pairs: Array<[string, unknown]> = tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors);
  const items = pairs.map(([name, v]) => {
    if (typeof name !== 'string') throw new SafetensorsError(`saveSafetensors: tensor names must be strings, got ${describeValue(name)}`);
    if (name === '__metadata__') throw new SafetensorsError("saveSafetensors: '__metadata__' is reserved and cannot name a tensor");
    return { name, key: utf8(name), ...checkValue(name, v) };
  });
  // The reference sorts by dtype alignment, then by name (Rust string order = UTF-8 bytes).
  items.sort((a, b) => Buffer.compare(a.key, b.key));
  for (let i = 1; i < items.length; i++) {
    if (items[i].name === items[i - 1].name) throw new SafetensorsError(`saveSafetensors: tensor '${items[i].name}' appears twice`);
  }

  const parts: string[] = [];
  if (metadata !== undefined && metadata !== null) {
    if (typeof metadata !== 'object') throw new SafetensorsError('saveSafetensors: metadata must be an object of strings');
    const m = (metadata instanceof Map ? [...metadata.entries()] : Object.entries(metadata)) as Array<[unknown, unknown]>;
    for (const [k, v] of m) {
      if (typeof k !== 'string' || typeof v !== 'string') {
        throw new SafetensorsError(`saveSafetensors: metadata entries must be string -> string, got '${String(k)}' -> ${describeValue(v)}`);
      }
    }
    const sorted = (m as Array<[string, string]>).map(([k, v]) => ({ k, v, key: utf8(k) })).sort((a, b) => Buffer.compare(a.key, b.key));
    parts.push(`"__metadata__":{${sorted.map(({ k, v }) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',')}}`);
  }
  let offset = 0;
  for (const it of items) {
    const end = offset + it.data.byteLength;
    parts.push(`${JSON.stringify(it.name)}:{"dtype":"F32","shape":[${it.shape.join(',')}],"data_offsets":[${offset},${end}]}`);
    offset = end;
  }
  const json = utf8(`{${parts.join(',')}}`);
  const n = json.length + ((8 - (json.length % 8)) % 8);
  const head = Buffer.alloc(8 + n, 0x20);
  head.writeUInt32LE(n % 0x100000000, 0);
  head.writeUInt32LE(Math.floor(n / 0x100000000), 4);
  json.copy(head, 8);

  const chunks: Uint8Array[] = [head];
  for (const it of items) {
    const bytes = new Uint8Array(it.data.buffer, it.data.byteOffset, it.data.byteLength);
    if (LITTLE_ENDIAN) chunks.push(bytes);
    else {
      const c = Uint8Array.from(bytes);
      for (let i = 0; i < c.length; i += 4) c.subarray(i, i + 4).reverse();
      chunks.push(c);
    }
  }
  return chunks;
}

/** The whole file as one Buffer (see serializeSafetensors). */
export function encodeSafetensors(tensors: SafetensorsInput, metadata?: SafetensorsMetadata | null): Buffer {
  return Buffer.concat(serializeSafetensors(tensors, metadata));
}

/**
 * Writes float32 tensors as a safetensors file, atomically: everything is validated first,
 * then written to `${path}.tmp-<pid>-<random>`, fsynced and renamed over `path`. On any
 * error the temporary file is removed and an existing `path` is left as it was.
 */
export function saveSafetensors(path: string, tensors: SafetensorsInput, metadata?: SafetensorsMetadata | null): void {
  if (typeof path !== 'string' || path.length === 0) throw new TypeError('saveSafetensors: path must be a non-empty string');
  const chunks = serializeSafetensors(tensors, metadata);
  writeFileAtomic(path, chunks);
}
