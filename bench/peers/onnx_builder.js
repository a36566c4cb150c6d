'use strict';
// A minimal ONNX protobuf encoder, enough to build single-node graphs (Conv,
// ConvTranspose, MaxPool, GlobalAveragePool, Gemm, ...) with float initializers for
// the onnxruntime-node peer. No dependencies: it writes the wire format directly
// (field numbers from onnx.proto, proto2; repeated scalars are written unpacked,
// which every parser accepts).

const WIRE_VARINT = 0;
const WIRE_LEN = 2;
const WIRE_I32 = 5;

class Writer {
  constructor() { this.parts = []; }
  bytes(buf) { this.parts.push(Buffer.from(buf)); return this; }
  varint(v) {
    // Non-negative integers up to 2^53 (negatives as 10-byte two's complement).
    let n = BigInt.asUintN(64, BigInt(v));
    const out = [];
    do {
      let b = Number(n & 0x7fn);
      n >>= 7n;
      if (n !== 0n) b |= 0x80;
      out.push(b);
    } while (n !== 0n);
    return this.bytes(out);
  }
  tag(field, wire) { return this.varint((field << 3) | wire); }
  int(field, v) { return this.tag(field, WIRE_VARINT).varint(v); }
  float(field, v) {
    const b = Buffer.alloc(4);
    b.writeFloatLE(v, 0);
    return this.tag(field, WIRE_I32).bytes(b);
  }
  lenDelim(field, buf) { return this.tag(field, WIRE_LEN).varint(buf.length).bytes(buf); }
  string(field, s) { return this.lenDelim(field, Buffer.from(s, 'utf8')); }
  message(field, w) { return this.lenDelim(field, w.finish()); }
  finish() { return Buffer.concat(this.parts); }
}

const TensorType = { FLOAT: 1, INT64: 7 };
const AttrType = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, FLOATS: 6, INTS: 7 };

/** TensorProto: dims(1), data_type(2), name(8), raw_data(9). */
function tensorProto(name, dims, data) {
  const w = new Writer();
  for (const d of dims) w.int(1, d);
  w.int(2, TensorType.FLOAT);
  w.string(8, name);
  const f32 = data instanceof Float32Array ? data : Float32Array.from(data);
  w.lenDelim(9, Buffer.from(f32.buffer, f32.byteOffset, f32.byteLength));
  return w;
}

/** AttributeProto: name(1), f(2), i(3), s(4), floats(7), ints(8), type(20). */
function attribute(name, value) {
  const w = new Writer();
  w.string(1, name);
  if (Array.isArray(value)) {
    for (const v of value) w.int(8, v);
    w.int(20, AttrType.INTS);
  } else if (typeof value === 'string') {
    w.string(4, value);
    w.int(20, AttrType.STRING);
  } else if (Number.isInteger(value)) {
    w.int(3, value);
    w.int(20, AttrType.INT);
  } else {
    w.float(2, value);
    w.int(20, AttrType.FLOAT);
  }
  return w;
}

/** NodeProto: input(1), output(2), name(3), op_type(4), attribute(5). */
function node(opType, inputs, outputs, attrs = {}) {
  const w = new Writer();
  for (const i of inputs) w.string(1, i);
  for (const o of outputs) w.string(2, o);
  w.string(3, `${opType}_0`);
  w.string(4, opType);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined) w.message(5, attribute(k, v));
  return w;
}

/** ValueInfoProto: name(1), type(2) = TypeProto{tensor_type(1) = {elem_type(1), shape(2) = {dim(1) = {dim_value(1)}}}}. */
function valueInfo(name, dims) {
  const shape = new Writer();
  for (const d of dims) shape.message(1, new Writer().int(1, d));
  const tensorType = new Writer().int(1, TensorType.FLOAT).message(2, shape);
  const type = new Writer().message(1, tensorType);
  return new Writer().string(1, name).message(2, type);
}

/**
 * A model with one node. inputs/outputs: [{name, dims}]; initializers: [{name, dims, data}].
 * Returns the serialized ModelProto as a Buffer (pass it to InferenceSession.create).
 */
function singleNodeModel({ opType, attrs, inputs, outputs, initializers = [], opset = 13 }) {
  const g = new Writer();
  g.message(1, node(opType, [...inputs.map((i) => i.name), ...initializers.map((i) => i.name)],
    outputs.map((o) => o.name), attrs));
  g.string(2, `${opType.toLowerCase()}_graph`);
  for (const t of initializers) g.message(5, tensorProto(t.name, t.dims, t.data));
  for (const i of inputs) g.message(11, valueInfo(i.name, i.dims));
  for (const o of outputs) g.message(12, valueInfo(o.name, o.dims));
  const m = new Writer();
  m.int(1, 7); // ir_version 7 (opset 13 era)
  m.string(2, 'receptive-bench');
  m.message(7, g);
  m.message(8, new Writer().string(1, '').int(2, opset));
  return m.finish();
}

function randomData(n, seed) {
  const a = new Float32Array(n);
  let s = (seed * 2654435761 + 1) >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = ((s >>> 8) & 0xffff) / 32768 - 1;
  }
  return a;
}

const prod = (d) => d.reduce((a, b) => a * b, 1);

/** Conv / ConvTranspose model for a parsed conv case (bench/cases.js); weight is an initializer. */
function convModel(c) {
  const oneD = c.oneD;
  const x = oneD ? [c.N, c.C, c.W] : c.xShape;
  const y = oneD ? [c.N, c.K, c.OW] : c.yShape;
  const wDims = oneD ? [c.wShape[0], c.wShape[1], c.S] : c.wShape;
  const attrs = oneD
    ? { dilations: [c.dilationW], group: c.groups, kernel_shape: [c.S], pads: [c.padW, c.padW], strides: [c.strideW] }
    : {
      dilations: [c.dilationH, c.dilationW], group: c.groups, kernel_shape: [c.R, c.S],
      pads: [c.padH, c.padW, c.padH, c.padW], strides: [c.strideH, c.strideW],
    };
  return {
    model: singleNodeModel({
      opType: c.transposed ? 'ConvTranspose' : 'Conv', attrs,
      inputs: [{ name: 'x', dims: x }], outputs: [{ name: 'y', dims: y }],
      initializers: [{ name: 'w', dims: wDims, data: randomData(prod(wDims), 2) }],
    }),
    inputDims: x,
  };
}

function poolModel(c) {
  if (c.kind === 'gavg') {
    return {
      model: singleNodeModel({
        opType: 'GlobalAveragePool', attrs: {},
        inputs: [{ name: 'x', dims: c.xShape }], outputs: [{ name: 'y', dims: c.yShape }],
      }),
      inputDims: c.xShape,
    };
  }
  return {
    model: singleNodeModel({
      opType: c.kind === 'max' ? 'MaxPool' : 'AveragePool',
      attrs: { kernel_shape: [c.kH, c.kW], pads: [c.pH, c.pW, c.pH, c.pW], strides: [c.sH, c.sW] },
      inputs: [{ name: 'x', dims: c.xShape }], outputs: [{ name: 'y', dims: c.yShape }],
    }),
    inputDims: c.xShape,
  };
}

/** Gemm with both A and B as graph inputs (no weight pre-packing: a plain sgemm). */
function gemmModel(c) {
  const aDims = c.transA ? [c.K, c.M] : [c.M, c.K];
  const bDims = c.transB ? [c.N, c.K] : [c.K, c.N];
  return {
    model: singleNodeModel({
      opType: 'Gemm', attrs: { transA: c.transA ? 1 : 0, transB: c.transB ? 1 : 0 },
      inputs: [{ name: 'a', dims: aDims }, { name: 'b', dims: bDims }],
      outputs: [{ name: 'y', dims: [c.M, c.N] }],
    }),
    inputs: { a: aDims, b: bDims },
  };
}

module.exports = { Writer, singleNodeModel, convModel, poolModel, gemmModel, randomData, tensorProto, node, valueInfo };
