// safetensors: round trips, byte-exact output against the reference implementation's own
// serialization vectors, a file written by hand from the format spec (F16, BF16, I64 and
// more, with metadata), every kind of corruption, and atomic writes.
'use strict';
const assert = require('assert');
const fs = require('fs');
const os = require('os');
const path = require('path');
const R = require('../dist');
const { Tensor, io, nn } = R;

const tmpdir = fs.mkdtempSync(path.join(os.tmpdir(), 'receptive-st-'));
after(() => fs.rmSync(tmpdir, { recursive: true, force: true }));
const tmp = (name) => path.join(tmpdir, name);
const t = (values, shape) => new Tensor(Float32Array.from(values), shape);

/** A safetensors file from a header (object or raw JSON text) and data bytes, per the spec. */
function buildFile(header, data, { pad = true, lengthOverride } = {}) {
  let hb = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header), 'utf8');
  if (pad) hb = Buffer.concat([hb, Buffer.alloc((8 - (hb.length % 8)) % 8, 0x20)]);
  const n = Buffer.alloc(8);
  n.writeBigUInt64LE(BigInt(lengthOverride ?? hb.length));
  return Buffer.concat([n, hb, Buffer.from(data)]);
}

const f32 = (...v) => Buffer.from(Float32Array.from(v).buffer);
const u16 = (...v) => Buffer.from(Uint16Array.from(v).buffer);
const i64 = (...v) => Buffer.from(BigInt64Array.from(v.map(BigInt)).buffer);

function bitsEqual(a, b) {
  assert.strictEqual(a.length, b.length);
  assert.deepStrictEqual(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

function tmpFilesIn(dir) {
  return fs.readdirSync(dir).filter((f) => f.includes('.tmp-'));
}

describe('safetensors: round trip', function () {
  it('saves and loads tensors bit-exactly, with shapes, metadata and file order by name', function () {
    const special = Float32Array.from([0, -0, NaN, Infinity, -Infinity, 1e-45, 3.4028234663852886e38, -1.5]);
    const tensors = new Map([
      ['fc.weight', t([1, 2, 3, 4, 5, 6], [2, 3])],
      ['conv.bias', t([0.5, -0.25], [2])],
      ['special', new Tensor(special, [2, 2, 2])],
      ['scalar', t([7], [])],
      ['empty', new Tensor(new Float32Array(0), [0, 3])],
    ]);
    const file = tmp('rt.safetensors');
    io.saveSafetensors(file, tensors, { format: 'pt', epoch: '3' });
    const got = io.loadSafetensors(file);
    assert.deepStrictEqual([...got.keys()], ['conv.bias', 'empty', 'fc.weight', 'scalar', 'special']);
    for (const [name, want] of tensors) {
      const g = got.get(name);
      assert.ok(g instanceof Tensor, name);
      assert.deepStrictEqual(g.shape, want.shape, name);
      bitsEqual(g.data, want.data);
      assert.strictEqual(got.info.get(name).dtype, 'F32');
    }
    assert.deepStrictEqual({ ...got.metadata }, { epoch: '3', format: 'pt' });
    // Every F32 tensor of a file we wrote is a view over the one buffer that was read.
    assert.strictEqual(got.views.size, 5);
    const buffers = new Set([...got.values()].map((x) => x.data.buffer));
    assert.strictEqual(buffers.size, 1);
    // A plain object works as input, and a file without metadata has {} metadata.
    io.saveSafetensors(file, { b: t([1], [1]), a: t([2], [1]) });
    const again = io.loadSafetensors(file);
    assert.deepStrictEqual([...again.keys()], ['a', 'b']);
    assert.deepStrictEqual(Object.keys(again.metadata), []);
    assert.deepStrictEqual(Object.keys(again.toObject()), ['a', 'b']);
  });

  it('round-trips a model state dict into loadStateDict (strict)', function () {
    const make = () => new nn.Sequential(new nn.Conv2d(1, 2, 3), new nn.BatchNorm2d(2), new nn.Linear(4, 3));
    const a = make();
    a.stateDict().get('1.running_mean').data.set([0.25, -4]);
    const file = tmp('model.safetensors');
    io.saveSafetensors(file, a.stateDict());
    const b = make();
    const res = b.loadStateDict(io.loadSafetensors(file), { strict: true });
    assert.deepStrictEqual(res, { missingKeys: [], unexpectedKeys: [] });
    for (const [k, v] of a.stateDict()) bitsEqual(b.stateDict().get(k).data, v.data);
  });

  it('loads asynchronously, and parses from a Buffer at any byte offset', async function () {
    const bytes = io.encodeSafetensors({ x: t([1, 2, 3], [3]) });
    fs.writeFileSync(tmp('async.safetensors'), bytes);
    const got = await io.loadSafetensorsAsync(tmp('async.safetensors'));
    assert.deepStrictEqual(Array.from(got.get('x').data), [1, 2, 3]);
    const shifted = Buffer.alloc(bytes.length + 1);
    bytes.copy(shifted, 1);
    const parsed = io.parseSafetensors(shifted.subarray(1));
    assert.deepStrictEqual(Array.from(parsed.get('x').data), [1, 2, 3]);
    assert.strictEqual(parsed.views.size, 0, 'misaligned data is copied, not viewed');
    const copied = io.parseSafetensors(bytes, { copy: true });
    assert.strictEqual(copied.views.size, 0);
    assert.notStrictEqual(copied.get('x').data.buffer, bytes.buffer);
  });
});

describe('safetensors: the exact public format', function () {
  it('writes the bytes the reference implementation writes (its own serialization vectors)', function () {
    // safetensors' Rust tests: one F32 tensor "attn0" [1, 1, 2, 3] = 0..5, no metadata.
    const out = io.encodeSafetensors(new Map([['attn0', t([0, 1, 2, 3, 4, 5], [1, 1, 2, 3])]]));
    const header = '{"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}}';
    const expected = Buffer.concat([
      Buffer.from([72, 0, 0, 0, 0, 0, 0, 0]), Buffer.from(header + ' '.repeat(72 - header.length)), f32(0, 1, 2, 3, 4, 5),
    ]);
    assert.deepStrictEqual(out, expected);
    // No tensors: "{}" padded to 8; with metadata {"framework": "pt"}: 40 bytes of header.
    assert.deepStrictEqual([...io.encodeSafetensors({})], [8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32]);
    const meta = io.encodeSafetensors({}, { framework: 'pt' });
    assert.deepStrictEqual(meta, Buffer.concat([Buffer.from([40, 0, 0, 0, 0, 0, 0, 0]), Buffer.from('{"__metadata__":{"framework":"pt"}}     ')]));
  });

  it('sorts entries by name in byte order, lays data out in that order and pads the header with spaces', function () {
    const names = ['b', 'a.9', 'é', 'B', 'a.10', 'a'];
    const input = Object.fromEntries(names.map((n, i) => [n, t([i], [1])]));
    const bytes = io.encodeSafetensors(input, { z: '1', a: '2' });
    const n = Number(bytes.readBigUInt64LE(0));
    assert.strictEqual((8 + n) % 8, 0);
    const text = bytes.subarray(8, 8 + n).toString('utf8');
    assert.match(text, /^\{"__metadata__":\{"a":"2","z":"1"\},"B":/);
    assert.match(text, /\} *$/);
    const header = JSON.parse(text);
    const order = Object.keys(header).filter((k) => k !== '__metadata__');
    assert.deepStrictEqual(order, ['B', 'a', 'a.10', 'a.9', 'b', 'é']);
    order.forEach((k, i) => assert.deepStrictEqual(header[k].data_offsets, [4 * i, 4 * i + 4]));
    const back = io.parseSafetensors(bytes);
    for (const k of names) assert.strictEqual(back.get(k).data[0], names.indexOf(k));
  });

  it('reads a file written by hand from the spec: F32, F16, BF16, I64, F64, I32, U8, BOOL, misaligned F32, metadata', function () {
    // Data layout (byte offsets within the buffer), deliberately not in name order:
    const parts = [
      ['w', 'F32', [2, 2], f32(1.5, -2.25, 3e-5, 1e20)], // 0..16
      ['bn.num_batches_tracked', 'I64', [], i64(12345)], // 16..24
      ['ids', 'I64', [3], i64(-7, 2n ** 40n, 0)], // 24..48
      ['d', 'F64', [1], Buffer.from(Float64Array.from([0.1]).buffer)], // 48..56
      // F16: 1, -2, 65504 (max), 2^-24 (smallest subnormal), +inf, 0.333251953125
      ['half', 'F16', [2, 3], u16(0x3c00, 0xc000, 0x7bff, 0x0001, 0x7c00, 0x3555)], // 56..68
      // BF16: 1, -0.5, 3.140625, -inf
      ['bf', 'BF16', [4], u16(0x3f80, 0xbf00, 0x4049, 0xff80)], // 68..76
      ['i32', 'I32', [2], Buffer.from(Int32Array.from([-3, 2147483647]).buffer)], // 76..84
      ['u8', 'U8', [2], Buffer.from([0, 255])], // 84..86
      ['mask', 'BOOL', [3], Buffer.from([1, 0, 1])], // 86..89
      ['after', 'F32', [2], f32(0.75, -8)], // 89..97: not 4-byte aligned
    ];
    const header = { __metadata__: { format: 'pt', note: 'written by hand' } };
    let off = 0;
    const chunks = [];
    for (const [name, dtype, shape, bytes] of parts) {
      header[name] = { dtype, shape, data_offsets: [off, off + bytes.length] };
      off += bytes.length;
      chunks.push(bytes);
    }
    // Header keys in yet another order: readers must go by data_offsets, not key order.
    const scrambled = {};
    for (const k of ['after', 'half', '__metadata__', 'w', 'mask', 'bf', 'ids', 'd', 'u8', 'i32', 'bn.num_batches_tracked']) scrambled[k] = header[k];
    const file = tmp('hand.safetensors');
    fs.writeFileSync(file, buildFile(scrambled, Buffer.concat(chunks)));

    const got = io.loadSafetensors(file);
    assert.deepStrictEqual([...got.keys()], parts.map((p) => p[0]), 'tensors in buffer order');
    assert.deepStrictEqual({ ...got.metadata }, { format: 'pt', note: 'written by hand' });
    const val = (k) => Array.from(got.get(k).data);
    assert.deepStrictEqual(val('w'), Array.from(Float32Array.from([1.5, -2.25, 3e-5, 1e20])));
    assert.deepStrictEqual(got.get('w').shape, [2, 2]);
    assert.deepStrictEqual(got.get('bn.num_batches_tracked').shape, []);
    assert.deepStrictEqual(val('bn.num_batches_tracked'), [12345]);
    assert.deepStrictEqual(val('ids'), [-7, 2 ** 40, 0]);
    assert.deepStrictEqual(val('d'), [Math.fround(0.1)]);
    assert.deepStrictEqual(val('half'), [1, -2, 65504, 2 ** -24, Infinity, 0.333251953125]);
    assert.deepStrictEqual(got.get('half').shape, [2, 3]);
    assert.deepStrictEqual(val('bf'), [1, -0.5, 3.140625, -Infinity]);
    assert.deepStrictEqual(val('i32'), [-3, Math.fround(2147483647)]);
    assert.deepStrictEqual(val('u8'), [0, 255]);
    assert.deepStrictEqual(val('mask'), [1, 0, 1]);
    assert.deepStrictEqual(val('after'), [0.75, -8]);
    assert.strictEqual(got.info.get('half').dtype, 'F16');
    assert.strictEqual(got.info.get('bn.num_batches_tracked').dtype, 'I64');
    assert.deepStrictEqual(got.info.get('after').dataOffsets, [89, 97]);
    assert.ok(got.views.has('w'), 'aligned F32 is a view');
    assert.ok(!got.views.has('after'), 'misaligned F32 is copied');
  });

  it('converts F16 NaN, subnormals and negative zero, BF16 NaN, and F8 values', function () {
    const bytes = buildFile({
      h: { dtype: 'F16', shape: [4], data_offsets: [0, 8] },
      b: { dtype: 'BF16', shape: [2], data_offsets: [8, 12] },
      e5: { dtype: 'F8_E5M2', shape: [2], data_offsets: [12, 14] },
      e4: { dtype: 'F8_E4M3', shape: [3], data_offsets: [14, 17] },
    }, Buffer.concat([u16(0x7e00, 0x8000, 0x03ff, 0xfbff), u16(0x7fc0, 0x0001), Buffer.from([0x3c, 0xc0]), Buffer.from([0x38, 0x7f, 0x01])]));
    const got = io.parseSafetensors(bytes);
    const h = got.get('h').data;
    assert.ok(Number.isNaN(h[0]));
    assert.ok(Object.is(h[1], -0));
    assert.strictEqual(h[2], 1023 * 2 ** -24);
    assert.strictEqual(h[3], -65504);
    assert.ok(Number.isNaN(got.get('b').data[0]));
    assert.strictEqual(got.get('b').data[1], new Float32Array(new Uint32Array([0x00010000]).buffer)[0]);
    assert.deepStrictEqual(Array.from(got.get('e5').data), [1, -2]);
    const e4 = got.get('e4').data;
    assert.strictEqual(e4[0], 1);
    assert.ok(Number.isNaN(e4[1]));
    assert.strictEqual(e4[2], 2 ** -9);
  });

  it('accepts a header that is not padded, an empty file body and a null __metadata__', function () {
    const a = io.parseSafetensors(buildFile('{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', f32(2), { pad: false }));
    assert.deepStrictEqual(Array.from(a.get('x').data), [2]);
    assert.strictEqual(io.parseSafetensors(buildFile({}, Buffer.alloc(0))).size, 0);
    assert.strictEqual(io.parseSafetensors(buildFile({ __metadata__: null }, Buffer.alloc(0))).size, 0);
  });
});

describe('safetensors: corrupt files give a clear error, never a crash', function () {
  const goodHeader = () => ({
    a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
    b: { dtype: 'F32', shape: [1, 1], data_offsets: [8, 12] },
  });
  const goodData = f32(1, 2, 3);

  function expectError(bytes, pattern) {
    assert.throws(() => io.parseSafetensors(bytes, { source: 'bad.safetensors' }), (e) => {
      assert.ok(e instanceof io.SafetensorsError, `a SafetensorsError, got ${e && e.constructor.name}: ${e && e.message}`);
      assert.ok(e.message.startsWith('safetensors bad.safetensors: '), e.message);
      assert.match(e.message, pattern);
      return true;
    });
  }
  const withEntry = (name, entry, data = goodData) => buildFile({ ...goodHeader(), [name]: entry }, data);

  it('file shorter than 8 bytes', function () {
    expectError(Buffer.from([1, 2, 3]), /3 bytes, too short for the 8-byte header length/);
    expectError(Buffer.alloc(0), /0 bytes/);
  });
  it('header length larger than the file', function () {
    expectError(buildFile(goodHeader(), goodData, { lengthOverride: 10_000 }), /header length 10000 exceeds the file size/);
  });
  it('header length over the 100 MB limit (e.g. a random file)', function () {
    const b = buildFile(goodHeader(), goodData);
    b.writeBigUInt64LE(2n ** 63n, 0);
    expectError(b, /header length 9223372036854775808 is over the 100 MB limit/);
    expectError(Buffer.from('PK\u0003\u0004 this is a zip file, not safetensors'), /over the 100 MB limit|exceeds the file size/);
  });
  it('header not UTF-8, not JSON, not an object', function () {
    expectError(buildFile(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]).toString('latin1'), Buffer.alloc(0)), /not valid JSON|not valid UTF-8/);
    const raw = Buffer.concat([Buffer.from([8, 0, 0, 0, 0, 0, 0, 0]), Buffer.from([0x7b, 0x22, 0xc3, 0x28, 0x22, 0x3a, 0x31, 0x7d])]);
    expectError(raw, /header is not valid UTF-8/);
    expectError(buildFile('{"a": {"dtype": "F32",', Buffer.alloc(0)), /header is not valid JSON/);
    expectError(buildFile('[1, 2, 3]', Buffer.alloc(0)), /header must be a JSON object, got an array/);
    expectError(buildFile('null', Buffer.alloc(0)), /header must be a JSON object, got null/);
  });
  it('unknown dtype, naming the tensor', function () {
    expectError(withEntry('c', { dtype: 'Q4', shape: [0], data_offsets: [12, 12] }), /tensor 'c': unknown dtype 'Q4'/);
    expectError(withEntry('c', { dtype: 7, shape: [0], data_offsets: [12, 12] }), /tensor 'c': dtype must be a string/);
  });
  it('negative, fractional or non-numeric shape', function () {
    expectError(withEntry('c', { dtype: 'F32', shape: [-1], data_offsets: [12, 12] }), /tensor 'c': shape \[-1\] has an invalid dimension -1/);
    expectError(withEntry('c', { dtype: 'F32', shape: [1.5], data_offsets: [12, 12] }), /tensor 'c': shape .* invalid dimension 1.5/);
    expectError(withEntry('c', { dtype: 'F32', shape: ['2'], data_offsets: [12, 12] }), /tensor 'c': shape .* invalid dimension "2"/);
    expectError(withEntry('c', { dtype: 'F32', shape: 3, data_offsets: [12, 12] }), /tensor 'c': shape must be an array/);
    expectError(withEntry('c', { dtype: 'F32', shape: [2 ** 30, 2 ** 30, 2 ** 30], data_offsets: [12, 12] }), /tensor 'c': shape .* too large/);
  });
  it('offsets past the end of the file (truncated data)', function () {
    expectError(buildFile(goodHeader(), goodData.subarray(0, 10)), /tensor 'b': data_offsets \[8, 12\] run past the end of the data \(10 bytes; file truncated\?\)/);
  });
  it('offsets that do not match shape x dtype size', function () {
    const h = goodHeader(); h.b.shape = [2];
    expectError(buildFile(h, goodData), /tensor 'b': data_offsets \[8, 12\] span 4 bytes but shape \[2\] of F32 needs 8/);
  });
  it('overlapping tensors, holes, and bytes not covered', function () {
    const h = goodHeader(); h.b.data_offsets = [4, 8]; h.a.shape = [2];
    expectError(buildFile(h, goodData.subarray(0, 8)), /tensor 'b': data_offsets \[4, 8\] overlap tensor 'a'/);
    const g = goodHeader(); g.b.data_offsets = [12, 16];
    expectError(buildFile(g, f32(1, 2, 3, 4)), /tensor 'b': data_offsets \[12, 16\] leave a hole of 4 bytes after tensor 'a'/);
    expectError(buildFile(goodHeader(), Buffer.concat([goodData, Buffer.from([0, 0])])), /2 bytes of data after the last tensor are not described/);
    const s = { a: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } };
    expectError(buildFile(s, goodData.subarray(0, 8)), /leave a hole of 4 bytes after the start of the data/);
  });
  it('malformed data_offsets, entries and metadata', function () {
    expectError(withEntry('c', { dtype: 'F32', shape: [0], data_offsets: [12] }), /tensor 'c': data_offsets must be two non-negative integers/);
    expectError(withEntry('c', { dtype: 'F32', shape: [0], data_offsets: [-4, 12] }), /tensor 'c': data_offsets must be two/);
    expectError(withEntry('c', { dtype: 'F32', shape: [0], data_offsets: [12, 8] }), /tensor 'c': data_offsets \[12, 8\] end before they begin/);
    expectError(withEntry('c', 'F32'), /tensor 'c': entry must be an object/);
    expectError(withEntry('c', null), /tensor 'c': entry must be an object, got null/);
    expectError(buildFile({ ...goodHeader(), __metadata__: { epoch: 3 } }, goodData), /__metadata__ value for 'epoch' must be a string/);
    expectError(buildFile({ ...goodHeader(), __metadata__: [1] }, goodData), /__metadata__ must be an object of strings/);
  });

  it('every truncation of a valid file is an error; random byte damage never crashes', function () {
    const header = { __metadata__: { k: 'v' }, h: { dtype: 'F16', shape: [3], data_offsets: [0, 6] }, i: { dtype: 'I64', shape: [1], data_offsets: [6, 14] }, f: { dtype: 'F32', shape: [2], data_offsets: [14, 22] } };
    const good = buildFile(header, Buffer.concat([u16(1, 2, 3), i64(5), f32(1, 2)]));
    io.parseSafetensors(good);
    for (let len = 0; len < good.length; len++) {
      assert.throws(() => io.parseSafetensors(good.subarray(0, len)), io.SafetensorsError, `truncated to ${len}`);
    }
    const gen = new R.Generator(123);
    let errors = 0;
    for (let k = 0; k < 2000; k++) {
      const bad = Buffer.from(good);
      const flips = 1 + gen.randint(3);
      for (let f = 0; f < flips; f++) bad[gen.randint(bad.length)] = gen.randint(256);
      try { io.parseSafetensors(bad); } catch (e) {
        if (!(e instanceof io.SafetensorsError)) throw e;
        errors++;
      }
    }
    assert.ok(errors > 0);
  });

  it('names the file when it cannot be read', function () {
    const missing = tmp('missing.safetensors');
    assert.throws(() => io.loadSafetensors(missing), (e) => e instanceof io.SafetensorsError && e.message.includes(missing) && /ENOENT/.test(e.message));
    fs.writeFileSync(tmp('trunc.safetensors'), io.encodeSafetensors({ a: t([1, 2], [2]) }).subarray(0, 20));
    assert.throws(() => io.loadSafetensors(tmp('trunc.safetensors')), (e) => e.message.includes(tmp('trunc.safetensors')));
  });
});

describe('safetensors: atomic writes', function () {
  it('replaces the file and leaves no temporary file behind', function () {
    const dir = fs.mkdtempSync(path.join(tmpdir, 'atomic-'));
    const file = path.join(dir, 'ckpt.safetensors');
    io.saveSafetensors(file, { a: t([1], [1]) });
    io.saveSafetensors(file, { a: t([2], [1]) });
    assert.deepStrictEqual(Array.from(io.loadSafetensors(file).get('a').data), [2]);
    assert.deepStrictEqual(fs.readdirSync(dir), ['ckpt.safetensors']);
  });

  it('leaves the previous file intact when the tensors are invalid', function () {
    const dir = fs.mkdtempSync(path.join(tmpdir, 'atomic-'));
    const file = path.join(dir, 'ckpt.safetensors');
    io.saveSafetensors(file, { a: t([1, 2], [2]) });
    const before = fs.readFileSync(file);
    const bad = [
      [{ a: t([1], [1]), b: 'not a tensor' }, /tensor 'b' is the string "not a tensor", not a Tensor/],
      [{ a: { data: new Float32Array(3), shape: [2, 2] } }, /tensor 'a': shape \[2, 2\] needs 4 values but data has 3/],
      [{ a: { data: [1, 2], shape: [2] } }, /tensor 'a': data must be a Float32Array/],
      [{ __metadata__: t([1], [1]) }, /'__metadata__' is reserved/],
      [new Map([['a', t([1], [1])], ['c', null]]), /tensor 'c' is null/],
    ];
    for (const [tensors, pattern] of bad) {
      assert.throws(() => io.saveSafetensors(file, tensors), (e) => e instanceof io.SafetensorsError && pattern.test(e.message));
    }
    assert.throws(() => io.saveSafetensors(file, { a: t([1], [1]) }, { epoch: 3 }), /metadata entries must be string -> string/);
    assert.deepStrictEqual(fs.readFileSync(file), before);
    assert.deepStrictEqual(tmpFilesIn(dir), []);
  });

  it('leaves the previous file intact and removes the temporary file when writing fails midway', function () {
    const dir = fs.mkdtempSync(path.join(tmpdir, 'atomic-'));
    const file = path.join(dir, 'history.json');
    fs.writeFileSync(file, 'old');
    assert.throws(() => io.writeFileAtomic(file, (write) => {
      write(Buffer.from('new, half written'));
      assert.strictEqual(tmpFilesIn(dir).length, 1, 'the data goes to a temporary file first');
      throw new Error('disk full (simulated)');
    }), /disk full/);
    assert.strictEqual(fs.readFileSync(file, 'utf8'), 'old');
    assert.deepStrictEqual(tmpFilesIn(dir), []);
    io.writeFileAtomic(file, [Buffer.from('ne'), Buffer.from('w')]);
    assert.strictEqual(fs.readFileSync(file, 'utf8'), 'new');
  });

  it('cleans up when the final rename fails (target is a folder) or the folder is missing', function () {
    const dir = fs.mkdtempSync(path.join(tmpdir, 'atomic-'));
    const target = path.join(dir, 'taken');
    fs.mkdirSync(target);
    fs.writeFileSync(path.join(target, 'inside'), 'keep');
    assert.throws(() => io.saveSafetensors(target, { a: t([1], [1]) }));
    assert.strictEqual(fs.readFileSync(path.join(target, 'inside'), 'utf8'), 'keep');
    assert.deepStrictEqual(tmpFilesIn(dir), []);
    assert.throws(() => io.saveSafetensors(path.join(dir, 'no', 'such', 'dir.safetensors'), { a: t([1], [1]) }), /ENOENT/);
  });
});
