// N-API glue: argument checks, typed-array views and async workers; no math here.
//
// Every entry point validates all of its arguments before any kernel touches memory:
// a wrong type is a TypeError, a wrong value, size or length a RangeError, and each
// message starts with the function's name and names the offending argument or field,
// e.g. "conv2dForward: x has 10 elements, expected 2*3*4*4 = 96".
#include <napi.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <iterator>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "receptive/activation.h"
#include "receptive/conv.h"
#include "receptive/gemm.h"
#include "receptive/pool.h"
#include "receptive/runtime.h"

namespace {

using receptive::AdaptivePoolGeometry;
using receptive::ConvGeometry;
using receptive::PoolGeometry;

// Sizes and offsets are kept below 2^31 so that every product of two of them, and the
// index arithmetic in the kernels, stays far from int64 overflow.
constexpr double kMaxDim = 2147483647.0;

std::string number_text(double d) {
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
  std::ostringstream s;
  s.precision(17);
  s << d;
  return s.str();
}

std::string describe(const Napi::Value& v) {
  if (v.IsUndefined()) return "undefined";
  if (v.IsNull()) return "null";
  if (v.IsBoolean()) return v.As<Napi::Boolean>().Value() ? "true" : "false";
  if (v.IsNumber()) return number_text(v.As<Napi::Number>().DoubleValue());
  if (v.IsString()) return "a string";
  if (v.IsTypedArray()) {
    switch (v.As<Napi::TypedArray>().TypedArrayType()) {
      case napi_int8_array: return "an Int8Array";
      case napi_uint8_array: return "a Uint8Array";
      case napi_uint8_clamped_array: return "a Uint8ClampedArray";
      case napi_int16_array: return "an Int16Array";
      case napi_uint16_array: return "a Uint16Array";
      case napi_int32_array: return "an Int32Array";
      case napi_uint32_array: return "a Uint32Array";
      case napi_float32_array: return "a Float32Array";
      case napi_float64_array: return "a Float64Array";
      default: return "a typed array of another type";
    }
  }
  if (v.IsArray()) return "an Array";
  if (v.IsArrayBuffer()) return "an ArrayBuffer";
  if (v.IsFunction()) return "a function";
  return "an object";
}

// One call's context: the function name that prefixes every message.
struct Call {
  const Napi::CallbackInfo& info;
  Napi::Env env;
  const char* fn;

  Call(const Napi::CallbackInfo& i, const char* name) : info(i), env(i.Env()), fn(name) {}

  [[noreturn]] void type_error(const std::string& msg) const {
    throw Napi::TypeError::New(env, std::string(fn) + ": " + msg);
  }
  [[noreturn]] void range_error(const std::string& msg) const {
    throw Napi::RangeError::New(env, std::string(fn) + ": " + msg);
  }
};

template <typename T>
struct View {
  T* data = nullptr;
  size_t length = 0;
  Napi::Value value;
  bool present() const { return !value.IsEmpty(); }
};

template <typename T>
View<T> typed_array(const Call& c, size_t index, const char* name, napi_typedarray_type type,
                    const char* type_name, bool nullable = false) {
  Napi::Value v = c.info[index];
  View<T> out;
  if (nullable && (v.IsNull() || v.IsUndefined())) return out;
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != type) {
    c.type_error(std::string(name) + " must be " + type_name +
                 (nullable ? " or null" : "") + ", got " + describe(v));
  }
  auto a = v.As<Napi::TypedArrayOf<T>>();
  out.data = a.Data();  // includes the view's byteOffset: subarrays are used in place
  out.length = a.ElementLength();
  out.value = v;
  return out;
}

View<float> f32(const Call& c, size_t index, const char* name, bool nullable = false) {
  return typed_array<float>(c, index, name, napi_float32_array, "a Float32Array", nullable);
}

View<int32_t> i32(const Call& c, size_t index, const char* name) {
  return typed_array<int32_t>(c, index, name, napi_int32_array, "an Int32Array");
}

// Requires `length` == product of dims; the message spells the product out.
void expect_length(const Call& c, const char* name, size_t length,
                   std::initializer_list<int64_t> dims) {
  int64_t want = 1;
  bool overflow = false;
  std::string expr;
  for (int64_t d : dims) {
    if (!expr.empty()) expr += "*";
    expr += std::to_string(d);
    if (__builtin_mul_overflow(want, d, &want)) overflow = true;
  }
  if (overflow) c.range_error(std::string(name) + " would need " + expr + " elements, too many");
  if (static_cast<uint64_t>(want) != static_cast<uint64_t>(length)) {
    c.range_error(std::string(name) + " has " + std::to_string(length) + " elements, expected " +
                  expr + (dims.size() > 1 ? " = " + std::to_string(want) : std::string()));
  }
}

template <typename A, typename B>
void expect_disjoint(const Call& c, const View<A>& out, const char* out_name, const View<B>& in,
                     const char* in_name) {
  if (!out.present() || !in.present() || out.length == 0 || in.length == 0) return;
  auto a0 = reinterpret_cast<uintptr_t>(out.data), a1 = a0 + out.length * sizeof(A);
  auto b0 = reinterpret_cast<uintptr_t>(in.data), b1 = b0 + in.length * sizeof(B);
  if (a0 < b1 && b0 < a1) {
    c.range_error(std::string(out_name) + " must not share memory with " + in_name);
  }
}

// The fields of a conv and of a pooling geometry record, in the order of their packed form.
constexpr const char* kConvFields[] = {"N", "C", "H", "W", "K", "R", "S", "strideH", "strideW",
                                       "padTop", "padBottom", "padLeft", "padRight",
                                       "dilationH", "dilationW", "groups"};
constexpr const char* kPoolFields[] = {"N", "C", "H", "W", "kernelH", "kernelW", "strideH",
                                       "strideW", "padH", "padW", "dilationH", "dilationW",
                                       "OH", "OW"};
constexpr const char* kAdaptiveFields[] = {"N", "C", "H", "W", "OH", "OW"};

// A geometry argument: a plain object, or its packed form, a Float64Array of the fields in
// the order above (the backend's per-call path: one typed-array read instead of a property
// lookup per field, which cost ~1.3 us a call). Every field is validated either way.
class GeometryArg {
 public:
  template <size_t n>
  GeometryArg(const Call& c, size_t index, const char* const (&fields)[n])
      : c_(c), fields_(fields), count_(n) {
    Napi::Value v = c.info[index];
    if (v.IsTypedArray() && v.As<Napi::TypedArray>().TypedArrayType() == napi_float64_array) {
      auto a = v.As<Napi::Float64Array>();
      if (a.ElementLength() != n)
        c.range_error("g (packed geometry) must have " + std::to_string(n) + " fields, got " +
                      std::to_string(a.ElementLength()));
      packed_ = a.Data();
      return;
    }
    if (!v.IsObject() || v.IsArray() || v.IsFunction() || v.IsTypedArray())
      c.type_error("g (geometry) must be an object, got " + describe(v));
    object_ = v.As<Napi::Object>();
  }

  // Integer field `name`, >= min.
  int64_t get(const char* name, double min) const {
    double d;
    if (packed_ != nullptr) {
      d = packed_[index_of(name)];
    } else {
      Napi::Value v = object_.Get(name);
      if (!v.IsNumber()) c_.type_error(std::string("g.") + name + " must be a number, got " + describe(v));
      d = v.As<Napi::Number>().DoubleValue();
    }
    if (!std::isfinite(d) || d != std::floor(d))
      c_.range_error(std::string("g.") + name + " must be an integer, got " + number_text(d));
    if (d < min) {
      const char* what = min == 1 ? "a positive integer" : min == 0 ? "a non-negative integer"
                                                                    : "an integer >= -2147483647";
      c_.range_error(std::string("g.") + name + " must be " + what + ", got " + number_text(d));
    }
    if (d > kMaxDim) c_.range_error(std::string("g.") + name + " is too large: " + number_text(d));
    return static_cast<int64_t>(d);
  }

  // The record as an object, for fields outside the packed form (null when packed).
  const Napi::Object* object() const { return packed_ != nullptr ? nullptr : &object_; }

 private:
  // Fields are read in their packed order, so the next one is tried first.
  size_t index_of(const char* name) const {
    for (size_t n = 0; n < count_; n++) {
      const size_t i = (next_ + n) % count_;
      if (fields_[i] == name || std::strcmp(fields_[i], name) == 0) {
        next_ = i + 1;
        return i;
      }
    }
    return 0;  // unreachable: every name read is in the field list
  }
  const Call& c_;
  const char* const* fields_;
  size_t count_;
  const double* packed_ = nullptr;
  mutable size_t next_ = 0;
  Napi::Object object_;
};

// A size argument (gemm's M, N, K): non-negative integer.
int64_t int_arg(const Call& c, size_t index, const char* name) {
  Napi::Value v = c.info[index];
  if (!v.IsNumber()) c.type_error(std::string(name) + " must be a number, got " + describe(v));
  double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d) || d != std::floor(d))
    c.range_error(std::string(name) + " must be an integer, got " + number_text(d));
  if (d < 0) c.range_error(std::string(name) + " must be a non-negative integer, got " + number_text(d));
  if (d > kMaxDim) c.range_error(std::string(name) + " is too large: " + number_text(d));
  return static_cast<int64_t>(d);
}

bool bool_arg(const Call& c, const Napi::Value& v, const char* name) {
  if (!v.IsBoolean()) c.type_error(std::string(name) + " must be a boolean, got " + describe(v));
  return v.As<Napi::Boolean>().Value();
}

double number_arg(const Call& c, size_t index, const char* name) {
  Napi::Value v = c.info[index];
  if (!v.IsNumber()) c.type_error(std::string(name) + " must be a number, got " + describe(v));
  return v.As<Napi::Number>().DoubleValue();
}

std::string kernel_text(int64_t a, int64_t b) { return std::to_string(a) + "x" + std::to_string(b); }

ConvGeometry conv_geometry(const Call& c, size_t index) {
  const GeometryArg o(c, index, kConvFields);
  ConvGeometry g;
  g.N = o.get("N", 1);
  g.C = o.get("C", 1);
  g.H = o.get("H", 1);
  g.W = o.get("W", 1);
  g.K = o.get("K", 1);
  g.R = o.get("R", 1);
  g.S = o.get("S", 1);
  g.stride_h = o.get("strideH", 1);
  g.stride_w = o.get("strideW", 1);
  g.pad_top = o.get("padTop", 0);
  g.pad_bottom = o.get("padBottom", -kMaxDim);
  g.pad_left = o.get("padLeft", 0);
  g.pad_right = o.get("padRight", -kMaxDim);
  g.dilation_h = o.get("dilationH", 1);
  g.dilation_w = o.get("dilationW", 1);
  g.groups = o.get("groups", 1);
  if (g.C % g.groups != 0)
    c.range_error("C (" + std::to_string(g.C) + ") must be divisible by groups (" +
                  std::to_string(g.groups) + ")");
  if (g.K % g.groups != 0)
    c.range_error("K (" + std::to_string(g.K) + ") must be divisible by groups (" +
                  std::to_string(g.groups) + ")");
  const int64_t ph = g.H + g.pad_top + g.pad_bottom, pw = g.W + g.pad_left + g.pad_right;
  const int64_t eh = g.dilation_h * (g.R - 1) + 1, ew = g.dilation_w * (g.S - 1) + 1;
  if (ph < eh || pw < ew) {
    std::string dil = g.dilation_h == g.dilation_w ? std::to_string(g.dilation_h)
                                                   : kernel_text(g.dilation_h, g.dilation_w);
    c.range_error("kernel " + kernel_text(g.R, g.S) + " (dilation " + dil +
                  ") larger than padded input " + kernel_text(ph, pw));
  }
  return g;
}

PoolGeometry pool_geometry(const Call& c, size_t index, Napi::Object* obj = nullptr) {
  const GeometryArg o(c, index, kPoolFields);
  if (obj) {
    // average pooling also reads countIncludePad, a field outside the packed form
    if (o.object() == nullptr) c.type_error("g (geometry) must be an object here, got a Float64Array");
    *obj = *o.object();
  }
  PoolGeometry g;
  g.N = o.get("N", 1);
  g.C = o.get("C", 1);
  g.H = o.get("H", 1);
  g.W = o.get("W", 1);
  g.kernel_h = o.get("kernelH", 1);
  g.kernel_w = o.get("kernelW", 1);
  g.stride_h = o.get("strideH", 1);
  g.stride_w = o.get("strideW", 1);
  g.pad_h = o.get("padH", 0);
  g.pad_w = o.get("padW", 0);
  g.dilation_h = o.get("dilationH", 1);
  g.dilation_w = o.get("dilationW", 1);
  g.OH = o.get("OH", 1);
  g.OW = o.get("OW", 1);
  // Every window must start inside the input or its top/left padding.
  const int64_t last_h = (g.OH - 1) * g.stride_h - g.pad_h;
  if (last_h > g.H - 1)
    c.range_error("g.OH = " + std::to_string(g.OH) + " is too large: the last window starts at row " +
                  std::to_string(last_h) + ", past the input (g.H = " + std::to_string(g.H) +
                  ", g.padH = " + std::to_string(g.pad_h) + ")");
  const int64_t last_w = (g.OW - 1) * g.stride_w - g.pad_w;
  if (last_w > g.W - 1)
    c.range_error("g.OW = " + std::to_string(g.OW) +
                  " is too large: the last window starts at column " + std::to_string(last_w) +
                  ", past the input (g.W = " + std::to_string(g.W) + ", g.padW = " +
                  std::to_string(g.pad_w) + ")");
  return g;
}

bool count_include_pad(const Call& c, const Napi::Object& o) {
  return bool_arg(c, o.Get("countIncludePad"), "g.countIncludePad");
}

AdaptivePoolGeometry adaptive_geometry(const Call& c, size_t index) {
  const GeometryArg o(c, index, kAdaptiveFields);
  AdaptivePoolGeometry g;
  g.N = o.get("N", 1);
  g.C = o.get("C", 1);
  g.H = o.get("H", 1);
  g.W = o.get("W", 1);
  g.OH = o.get("OH", 1);
  g.OW = o.get("OW", 1);
  return g;
}

// ---------------------------------------------------------------------------------
// gemm

struct GemmArgs {
  bool ta, tb;
  int64_t M, N, K;
  float alpha, beta;
  View<float> A, B, C;
};

GemmArgs gemm_args(const Call& c) {
  GemmArgs a;
  a.ta = bool_arg(c, c.info[0], "transA");
  a.tb = bool_arg(c, c.info[1], "transB");
  a.M = int_arg(c, 2, "M");
  a.N = int_arg(c, 3, "N");
  a.K = int_arg(c, 4, "K");
  a.alpha = static_cast<float>(number_arg(c, 5, "alpha"));
  a.A = f32(c, 6, "A");
  a.B = f32(c, 7, "B");
  a.beta = static_cast<float>(number_arg(c, 8, "beta"));
  a.C = f32(c, 9, "C");
  expect_length(c, "A", a.A.length, a.ta ? std::initializer_list<int64_t>{a.K, a.M}
                                         : std::initializer_list<int64_t>{a.M, a.K});
  expect_length(c, "B", a.B.length, a.tb ? std::initializer_list<int64_t>{a.N, a.K}
                                         : std::initializer_list<int64_t>{a.K, a.N});
  expect_length(c, "C", a.C.length, {a.M, a.N});
  expect_disjoint(c, a.C, "C", a.A, "A");
  expect_disjoint(c, a.C, "C", a.B, "B");
  return a;
}

void run_gemm(const GemmArgs& a) {
  if (a.M == 0 || a.N == 0) return;
  if (a.K == 0) {  // op(A) op(B) is all zeros: C = beta * C, and beta == 0 ignores C
    for (int64_t i = 0; i < a.M * a.N; i++) a.C.data[i] = a.beta == 0.f ? 0.f : a.beta * a.C.data[i];
    return;
  }
  receptive::sgemm(a.ta, a.tb, a.M, a.N, a.K, a.alpha, a.A.data, a.ta ? a.M : a.K, a.B.data,
                   a.tb ? a.K : a.N, a.beta, a.C.data, a.N);
}

Napi::Value Gemm(const Napi::CallbackInfo& info) {
  Call c(info, "gemm");
  run_gemm(gemm_args(c));
  return info.Env().Undefined();
}

// ---------------------------------------------------------------------------------
// convolution

struct ConvForwardArgs {
  ConvGeometry g;
  View<float> x, w, bias, y;
};

ConvForwardArgs conv_forward_args(const Call& c) {
  ConvForwardArgs a;
  a.g = conv_geometry(c, 0);
  const ConvGeometry& g = a.g;
  a.x = f32(c, 1, "x");
  a.w = f32(c, 2, "w");
  a.bias = f32(c, 3, "bias", true);
  a.y = f32(c, 4, "y");
  expect_length(c, "x", a.x.length, {g.N, g.C, g.H, g.W});
  expect_length(c, "w", a.w.length, {g.K, g.C / g.groups, g.R, g.S});
  if (a.bias.present()) expect_length(c, "bias", a.bias.length, {g.K});
  expect_length(c, "y", a.y.length, {g.N, g.K, g.out_h(), g.out_w()});
  expect_disjoint(c, a.y, "y", a.x, "x");
  expect_disjoint(c, a.y, "y", a.w, "w");
  expect_disjoint(c, a.y, "y", a.bias, "bias");
  return a;
}

Napi::Value Conv2dForward(const Napi::CallbackInfo& info) {
  Call c(info, "conv2dForward");
  ConvForwardArgs a = conv_forward_args(c);
  receptive::conv2d_forward(a.g, a.x.data, a.w.data, a.bias.data, a.y.data);
  return info.Env().Undefined();
}

Napi::Value Conv2dBackwardInput(const Napi::CallbackInfo& info) {
  Call c(info, "conv2dBackwardInput");
  ConvGeometry g = conv_geometry(c, 0);
  auto gy = f32(c, 1, "gy");
  auto w = f32(c, 2, "w");
  auto gx = f32(c, 3, "gx");
  expect_length(c, "gy", gy.length, {g.N, g.K, g.out_h(), g.out_w()});
  expect_length(c, "w", w.length, {g.K, g.C / g.groups, g.R, g.S});
  expect_length(c, "gx", gx.length, {g.N, g.C, g.H, g.W});
  expect_disjoint(c, gx, "gx", gy, "gy");
  expect_disjoint(c, gx, "gx", w, "w");
  receptive::conv2d_backward_input(g, gy.data, w.data, gx.data);
  return info.Env().Undefined();
}

Napi::Value Conv2dBackwardWeight(const Napi::CallbackInfo& info) {
  Call c(info, "conv2dBackwardWeight");
  ConvGeometry g = conv_geometry(c, 0);
  auto x = f32(c, 1, "x");
  auto gy = f32(c, 2, "gy");
  auto gw = f32(c, 3, "gw");
  expect_length(c, "x", x.length, {g.N, g.C, g.H, g.W});
  expect_length(c, "gy", gy.length, {g.N, g.K, g.out_h(), g.out_w()});
  expect_length(c, "gw", gw.length, {g.K, g.C / g.groups, g.R, g.S});
  expect_disjoint(c, gw, "gw", x, "x");
  expect_disjoint(c, gw, "gw", gy, "gy");
  receptive::conv2d_backward_weight(g, x.data, gy.data, gw.data);
  return info.Env().Undefined();
}

Napi::Value Conv2dBackwardBias(const Napi::CallbackInfo& info) {
  Call c(info, "conv2dBackwardBias");
  ConvGeometry g = conv_geometry(c, 0);
  auto gy = f32(c, 1, "gy");
  auto gb = f32(c, 2, "gb");
  expect_length(c, "gy", gy.length, {g.N, g.K, g.out_h(), g.out_w()});
  expect_length(c, "gb", gb.length, {g.K});
  expect_disjoint(c, gb, "gb", gy, "gy");
  receptive::conv2d_backward_bias(g, gy.data, gb.data);
  return info.Env().Undefined();
}

// Prepared weights (inference): a ConvWeights held by a type-tagged External, its memory
// reported to V8 so that the garbage collector sees what an unreachable handle frees.
constexpr napi_type_tag kConvWeightsTag = {0x7265636570746976ULL, 0x636f6e7677656967ULL};

struct PreparedHandle {
  receptive::ConvWeights weights;
  int64_t reported = 0;
};

Napi::Value PrepareConv2d(const Napi::CallbackInfo& info) {
  Call c(info, "prepareConv2d");
  ConvGeometry g = conv_geometry(c, 0);
  auto w = f32(c, 1, "w");
  auto scale = f32(c, 2, "scale", true);
  auto bias = f32(c, 3, "bias", true);
  expect_length(c, "w", w.length, {g.K, g.C / g.groups, g.R, g.S});
  if (scale.present()) expect_length(c, "scale", scale.length, {g.K});
  if (bias.present()) expect_length(c, "bias", bias.length, {g.K});
  auto* h = new PreparedHandle();
  try {
    h->weights.prepare(g, w.data, scale.data, bias.data);
  } catch (const std::exception& e) {
    delete h;
    c.range_error(std::string("cannot prepare the weights: ") + e.what());
  }
  h->reported = static_cast<int64_t>(h->weights.bytes());
  Napi::MemoryManagement::AdjustExternalMemory(info.Env(), h->reported);
  auto ext = Napi::External<PreparedHandle>::New(info.Env(), h, [](Napi::Env env, PreparedHandle* p) {
    Napi::MemoryManagement::AdjustExternalMemory(env, -p->reported);
    delete p;
  });
  ext.TypeTag(&kConvWeightsTag);
  return ext;
}

PreparedHandle* prepared_arg(const Call& c, size_t index) {
  Napi::Value v = c.info[index];
  if (!v.IsExternal() || !v.As<Napi::External<PreparedHandle>>().CheckTypeTag(&kConvWeightsTag))
    c.type_error("prepared must be a handle from prepareConv2d, got " + describe(v));
  return v.As<Napi::External<PreparedHandle>>().Data();
}

Napi::Value PreparedConv2dInfo(const Napi::CallbackInfo& info) {
  Call c(info, "preparedConv2dInfo");
  PreparedHandle* h = prepared_arg(c, 0);
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("algorithm", receptive::conv_algorithm_name(h->weights.algorithm()));
  o.Set("kernel", h->weights.kernel());
  o.Set("bytes", static_cast<double>(h->weights.bytes()));
  return o;
}

Napi::Value Conv2dForwardPrepared(const Napi::CallbackInfo& info) {
  Call c(info, "conv2dForwardPrepared");
  ConvGeometry g = conv_geometry(c, 0);
  auto x = f32(c, 1, "x");
  PreparedHandle* h = prepared_arg(c, 2);
  auto residual = f32(c, 3, "residual", true);
  const bool relu = bool_arg(c, info[4], "relu");
  auto y = f32(c, 5, "y");
  if (!h->weights.compatible(g))
    c.range_error("prepared weights were made for another filter, groups, stride or dilation "
                  "than g");
  expect_length(c, "x", x.length, {g.N, g.C, g.H, g.W});
  const std::initializer_list<int64_t> out = {g.N, g.K, g.out_h(), g.out_w()};
  if (residual.present()) expect_length(c, "residual", residual.length, out);
  // Optional yImageStride: y's images that far apart (channels of a wider tensor).
  int64_t y_stride = 0;
  if (info.Length() > 6 && !info[6].IsUndefined()) {
    y_stride = int_arg(c, 6, "yImageStride");
    int64_t image = 0;
    if (__builtin_mul_overflow(g.K, g.out_h(), &image) ||
        __builtin_mul_overflow(image, g.out_w(), &image))
      c.range_error("y would need too many elements");
    if (y_stride < image)
      c.range_error("yImageStride must be at least K*OH*OW = " + std::to_string(image) + ", got " +
                    std::to_string(y_stride));
    if (residual.present()) c.range_error("a residual needs a contiguous y (no yImageStride)");
    int64_t need = 0;
    if (g.N > 0 && (__builtin_mul_overflow(g.N - 1, y_stride, &need) ||
                    __builtin_add_overflow(need, image, &need)))
      c.range_error("yImageStride is too large");
    if (static_cast<uint64_t>(y.length) < static_cast<uint64_t>(need))
      c.range_error("y has " + std::to_string(y.length) + " elements, fewer than the " +
                    std::to_string(need) + " that N images " + std::to_string(y_stride) +
                    " apart need");
  } else {
    expect_length(c, "y", y.length, out);
  }
  expect_disjoint(c, y, "y", x, "x");
  // residual === y (the same elements) adds in place; any other overlap is an error
  if (!(residual.present() && residual.data == y.data && residual.length == y.length))
    expect_disjoint(c, y, "y", residual, "residual");
  receptive::conv2d_forward(g, x.data, h->weights, residual.data, relu, y.data, y_stride);
  return info.Env().Undefined();
}

// conv2dForwardPreparedSplit(g, x, prepared, relu, y0, channels0, imageStride0, y1, ...):
// sibling layers' output channels, in order, to 1 to 8 destinations (see
// receptive::conv2d_forward_split).
Napi::Value Conv2dForwardPreparedSplit(const Napi::CallbackInfo& info) {
  Call c(info, "conv2dForwardPreparedSplit");
  ConvGeometry g = conv_geometry(c, 0);
  auto x = f32(c, 1, "x");
  PreparedHandle* h = prepared_arg(c, 2);
  const bool relu = bool_arg(c, info[3], "relu");
  if (!h->weights.compatible(g))
    c.range_error("prepared weights were made for another filter, groups, stride or dilation "
                  "than g");
  expect_length(c, "x", x.length, {g.N, g.C, g.H, g.W});
  const size_t args = info.Length();
  if (args < 7 || (args - 4) % 3 != 0 || (args - 4) / 3 > receptive::kMaxConvOutputParts)
    c.range_error("expected 1 to 8 outputs as (y, channels, imageStride) after relu, got " +
                  std::to_string(args > 4 ? args - 4 : 0) + " arguments");
  const int count = static_cast<int>((args - 4) / 3);
  const int64_t ohw = g.out_h() * g.out_w();
  receptive::ConvOutputPart parts[receptive::kMaxConvOutputParts];
  View<float> ys[receptive::kMaxConvOutputParts];
  int64_t channels = 0;
  for (int s = 0; s < count; s++) {
    const size_t at = 4 + 3 * static_cast<size_t>(s);
    const std::string name = "outputs[" + std::to_string(s) + "]";
    ys[s] = f32(c, at, (name + ".data").c_str());
    const int64_t k = int_arg(c, at + 1, (name + ".channels").c_str());
    const int64_t stride = int_arg(c, at + 2, (name + ".imageStride").c_str());
    int64_t image = 0, need = 0;
    if (k < 1) c.range_error(name + ".channels must be at least 1, got " + std::to_string(k));
    if (__builtin_mul_overflow(k, ohw, &image)) c.range_error(name + " would need too many elements");
    if (stride < image)
      c.range_error(name + ".imageStride must be at least channels*OH*OW = " + std::to_string(image) +
                    ", got " + std::to_string(stride));
    if (g.N > 0 && (__builtin_mul_overflow(g.N - 1, stride, &need) ||
                    __builtin_add_overflow(need, image, &need)))
      c.range_error(name + ".imageStride is too large");
    if (static_cast<uint64_t>(ys[s].length) < static_cast<uint64_t>(need))
      c.range_error(name + ".data has " + std::to_string(ys[s].length) + " elements, fewer than the " +
                    std::to_string(need) + " that N images " + std::to_string(stride) + " apart need");
    expect_disjoint(c, ys[s], name.c_str(), x, "x");
    for (int t = 0; t < s; t++)
      expect_disjoint(c, ys[s], name.c_str(), ys[t], ("outputs[" + std::to_string(t) + "]").c_str());
    channels += k;
    parts[s] = {ys[s].data, k, stride};
  }
  if (channels != g.K)
    c.range_error("the outputs' channels add up to " + std::to_string(channels) + ", not K = " +
                  std::to_string(g.K));
  receptive::conv2d_forward_split(g, x.data, h->weights, relu, parts, count);
  return info.Env().Undefined();
}

// ---------------------------------------------------------------------------------
// element-wise

// Same elements (in place) or no shared memory at all.
template <typename T>
void expect_same_or_disjoint(const Call& c, const View<T>& out, const char* out_name,
                             const View<T>& in, const char* in_name) {
  if (out.data == in.data && out.length == in.length) return;
  expect_disjoint(c, out, out_name, in, in_name);
}

Napi::Value ReluForward(const Napi::CallbackInfo& info) {
  Call c(info, "reluForward");
  auto x = f32(c, 0, "x");
  auto y = f32(c, 1, "y");
  expect_length(c, "y", y.length, {static_cast<int64_t>(x.length)});
  expect_same_or_disjoint(c, y, "y", x, "x");
  receptive::relu_forward(x.data, y.data, static_cast<int64_t>(x.length));
  return info.Env().Undefined();
}

Napi::Value ReluBackward(const Napi::CallbackInfo& info) {
  Call c(info, "reluBackward");
  auto y = f32(c, 0, "y");
  auto gy = f32(c, 1, "gy");
  auto gx = f32(c, 2, "gx");
  const int64_t n = static_cast<int64_t>(y.length);
  expect_length(c, "gy", gy.length, {n});
  expect_length(c, "gx", gx.length, {n});
  expect_same_or_disjoint(c, gx, "gx", gy, "gy");
  expect_disjoint(c, gx, "gx", y, "y");
  receptive::relu_backward(y.data, gy.data, gx.data, n);
  return info.Env().Undefined();
}

Napi::Value SetConvAlgorithm(const Napi::CallbackInfo& info) {
  Call c(info, "setConvAlgorithm");
  Napi::Value v = info[0];
  if (!v.IsString()) c.type_error("name must be a string, got " + describe(v));
  std::string name = v.As<Napi::String>().Utf8Value();
  receptive::ConvPolicy p;
  if (!receptive::parse_conv_policy(name.c_str(), &p))
    c.range_error("name must be 'auto', 'gemm', 'winograd' or 'direct', got '" + name + "'");
  receptive::set_conv_policy(p);
  return info.Env().Undefined();
}

Napi::Value GetConvAlgorithm(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), receptive::conv_policy_name(receptive::conv_policy()));
}

Napi::Value ConvAlgorithm(const Napi::CallbackInfo& info) {
  Call c(info, "convAlgorithm");
  ConvGeometry g = conv_geometry(c, 0);
  return Napi::String::New(info.Env(),
                           receptive::conv_algorithm_name(receptive::conv2d_algorithm(g)));
}

// ---------------------------------------------------------------------------------
// pooling

Napi::Value MaxPool2dForward(const Napi::CallbackInfo& info) {
  Call c(info, "maxPool2dForward");
  PoolGeometry g = pool_geometry(c, 0);
  auto x = f32(c, 1, "x");
  auto y = f32(c, 2, "y");
  // null indices: inference, only y is computed.
  auto indices = typed_array<int32_t>(c, 3, "indices", napi_int32_array, "an Int32Array", true);
  expect_length(c, "x", x.length, {g.N, g.C, g.H, g.W});
  expect_length(c, "y", y.length, {g.N, g.C, g.OH, g.OW});
  if (indices.present()) {
    expect_length(c, "indices", indices.length, {g.N, g.C, g.OH, g.OW});
    if (g.H * g.W > std::numeric_limits<int32_t>::max())
      c.range_error("g.H*g.W = " + std::to_string(g.H * g.W) + " does not fit Int32Array indices");
  }
  expect_disjoint(c, y, "y", x, "x");
  expect_disjoint(c, indices, "indices", x, "x");
  expect_disjoint(c, indices, "indices", y, "y");
  receptive::max_pool2d_forward(g, x.data, y.data, indices.data);
  return info.Env().Undefined();
}

Napi::Value MaxPool2dBackward(const Napi::CallbackInfo& info) {
  Call c(info, "maxPool2dBackward");
  PoolGeometry g = pool_geometry(c, 0);
  auto gy = f32(c, 1, "gy");
  auto indices = i32(c, 2, "indices");
  auto gx = f32(c, 3, "gx");
  expect_length(c, "gy", gy.length, {g.N, g.C, g.OH, g.OW});
  expect_length(c, "indices", indices.length, {g.N, g.C, g.OH, g.OW});
  expect_length(c, "gx", gx.length, {g.N, g.C, g.H, g.W});
  expect_disjoint(c, gx, "gx", gy, "gy");
  expect_disjoint(c, gx, "gx", indices, "indices");
  const int64_t plane = g.H * g.W;
  for (size_t i = 0; i < indices.length; i++) {
    const int32_t v = indices.data[i];
    // -1 marks a window that held padding only (forward output -inf): no gradient.
    if (v < -1 || v >= plane)
      c.range_error("indices[" + std::to_string(i) + "] = " + std::to_string(v) +
                    " is out of range [0, " + std::to_string(plane) + ") (g.H*g.W)");
  }
  receptive::max_pool2d_backward(g, gy.data, indices.data, gx.data);
  return info.Env().Undefined();
}

Napi::Value AvgPool2dForward(const Napi::CallbackInfo& info) {
  Call c(info, "avgPool2dForward");
  Napi::Object o;
  PoolGeometry g = pool_geometry(c, 0, &o);
  bool include = count_include_pad(c, o);
  auto x = f32(c, 1, "x");
  auto y = f32(c, 2, "y");
  expect_length(c, "x", x.length, {g.N, g.C, g.H, g.W});
  expect_length(c, "y", y.length, {g.N, g.C, g.OH, g.OW});
  expect_disjoint(c, y, "y", x, "x");
  receptive::avg_pool2d_forward(g, include, x.data, y.data);
  return info.Env().Undefined();
}

Napi::Value AvgPool2dBackward(const Napi::CallbackInfo& info) {
  Call c(info, "avgPool2dBackward");
  Napi::Object o;
  PoolGeometry g = pool_geometry(c, 0, &o);
  bool include = count_include_pad(c, o);
  auto gy = f32(c, 1, "gy");
  auto gx = f32(c, 2, "gx");
  expect_length(c, "gy", gy.length, {g.N, g.C, g.OH, g.OW});
  expect_length(c, "gx", gx.length, {g.N, g.C, g.H, g.W});
  expect_disjoint(c, gx, "gx", gy, "gy");
  receptive::avg_pool2d_backward(g, include, gy.data, gx.data);
  return info.Env().Undefined();
}

Napi::Value AdaptiveAvgPool2dForward(const Napi::CallbackInfo& info) {
  Call c(info, "adaptiveAvgPool2dForward");
  AdaptivePoolGeometry g = adaptive_geometry(c, 0);
  auto x = f32(c, 1, "x");
  auto y = f32(c, 2, "y");
  expect_length(c, "x", x.length, {g.N, g.C, g.H, g.W});
  expect_length(c, "y", y.length, {g.N, g.C, g.OH, g.OW});
  expect_disjoint(c, y, "y", x, "x");
  receptive::adaptive_avg_pool2d_forward(g, x.data, y.data);
  return info.Env().Undefined();
}

Napi::Value AdaptiveAvgPool2dBackward(const Napi::CallbackInfo& info) {
  Call c(info, "adaptiveAvgPool2dBackward");
  AdaptivePoolGeometry g = adaptive_geometry(c, 0);
  auto gy = f32(c, 1, "gy");
  auto gx = f32(c, 2, "gx");
  expect_length(c, "gy", gy.length, {g.N, g.C, g.OH, g.OW});
  expect_length(c, "gx", gx.length, {g.N, g.C, g.H, g.W});
  expect_disjoint(c, gx, "gx", gy, "gy");
  receptive::adaptive_avg_pool2d_backward(g, gy.data, gx.data);
  return info.Env().Undefined();
}

// ---------------------------------------------------------------------------------
// async forms: the kernel runs on a libuv worker thread and a Promise settles when it is
// done. The worker holds references to every array so that they outlive the call.

class KernelWorker : public Napi::AsyncWorker {
 public:
  KernelWorker(Napi::Env env, std::vector<Napi::Value> keep)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)) {
    for (auto& v : keep)
      if (!v.IsEmpty()) refs_.push_back(Napi::Persistent(v.As<Napi::Object>()));
  }
  Napi::Promise promise() { return deferred_.Promise(); }

 protected:
  virtual void run() = 0;
  void Execute() override {
    try {
      run();
    } catch (const std::exception& e) {
      SetError(e.what());
    } catch (...) {
      SetError("native kernel failed");
    }
  }
  void OnOK() override { deferred_.Resolve(Env().Undefined()); }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  std::vector<Napi::ObjectReference> refs_;
};

class ConvForwardWorker : public KernelWorker {
 public:
  ConvForwardWorker(Napi::Env env, const ConvForwardArgs& a)
      : KernelWorker(env, {a.x.value, a.w.value, a.bias.value, a.y.value}), a_(a) {}

 protected:
  void run() override {
    receptive::conv2d_forward(a_.g, a_.x.data, a_.w.data, a_.bias.data, a_.y.data);
  }

 private:
  ConvForwardArgs a_;
};

class GemmWorker : public KernelWorker {
 public:
  GemmWorker(Napi::Env env, const GemmArgs& a)
      : KernelWorker(env, {a.A.value, a.B.value, a.C.value}), a_(a) {}

 protected:
  void run() override { run_gemm(a_); }

 private:
  GemmArgs a_;
};

// Bad arguments reject the promise (with the same TypeError/RangeError the sync form
// throws) instead of throwing synchronously.
template <typename Worker, typename Parse>
Napi::Value start_async(const Napi::CallbackInfo& info, const char* name, Parse parse) {
  Napi::Env env = info.Env();
  Call c(info, name);
  try {
    auto args = parse(c);
    auto* worker = new Worker(env, args);
    Napi::Promise p = worker->promise();
    worker->Queue();
    return p;
  } catch (const Napi::Error& e) {
    auto d = Napi::Promise::Deferred::New(env);
    d.Reject(e.Value());
    return d.Promise();
  }
}

Napi::Value Conv2dForwardAsync(const Napi::CallbackInfo& info) {
  return start_async<ConvForwardWorker>(info, "conv2dForwardAsync", conv_forward_args);
}

Napi::Value GemmAsync(const Napi::CallbackInfo& info) {
  return start_async<GemmWorker>(info, "gemmAsync", gemm_args);
}

// ---------------------------------------------------------------------------------
// runtime

Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("isa", receptive::isa_name(receptive::active_isa()));
  auto features = receptive::cpu_features();
  Napi::Array arr = Napi::Array::New(env, features.size());
  for (size_t i = 0; i < features.size(); i++) arr.Set(static_cast<uint32_t>(i), features[i]);
  o.Set("cpuFeatures", arr);
  o.Set("openmp", receptive::has_openmp());
  return o;
}

// A zero-filled Float32Array of n floats whose first element sits on a 64-byte boundary
// (a cache line, a zmm vector): a view into a slightly larger ArrayBuffer. Large
// ArrayBuffers come from mmap with a 16-byte header, so plain arrays start 16 bytes into a
// line, and every vector load or store of an activation row split across two lines.
Napi::Value AlignedFloat32Array(const Napi::CallbackInfo& info) {
  Call c(info, "alignedFloat32Array");
  Napi::Value v = info[0];
  if (!v.IsNumber()) c.type_error("n must be a number, got " + describe(v));
  const double d = v.As<Napi::Number>().DoubleValue();
  constexpr double kMaxFloats = 4294967295.0;  // what a Float32Array may hold (2^32 - 1 here)
  if (!std::isfinite(d) || d != std::floor(d) || d < 0 || d > kMaxFloats)
    c.range_error("n must be a non-negative integer (at most 2^32 - 1), got " + number_text(d));
  constexpr size_t kAlign = 64;
  const size_t n = static_cast<size_t>(d);
  Napi::ArrayBuffer buffer = Napi::ArrayBuffer::New(info.Env(), n * sizeof(float) + kAlign);
  const uintptr_t address = reinterpret_cast<uintptr_t>(buffer.Data());
  const size_t offset = (kAlign - address % kAlign) % kAlign;  // a multiple of 4: data is 8-aligned
  return Napi::Float32Array::New(info.Env(), n, buffer, offset);
}

Napi::Value SetNumThreads(const Napi::CallbackInfo& info) {
  Call c(info, "setNumThreads");
  Napi::Value v = info[0];
  if (!v.IsNumber()) c.type_error("n must be a number, got " + describe(v));
  double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d) || d != std::floor(d) || d < 1 || d > 4096)
    c.range_error("n must be a positive integer (at most 4096), got " + number_text(d));
  receptive::set_num_threads(static_cast<int>(d));
  return info.Env().Undefined();
}

Napi::Value GetNumThreads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), receptive::get_num_threads());
}

Napi::Value SetIsa(const Napi::CallbackInfo& info) {
  Call c(info, "setIsa");
  Napi::Value v = info[0];
  if (!v.IsString()) c.type_error("name must be a string, got " + describe(v));
  std::string name = v.As<Napi::String>().Utf8Value();
  receptive::Isa isa;
  if (!receptive::parse_isa(name, &isa))
    c.range_error("name must be 'scalar', 'avx2' or 'avx512', got '" + name + "'");
  try {
    receptive::force_isa(isa);
  } catch (const std::exception& e) {
    c.range_error("name: ISA '" + name + "' is not supported by this CPU or build (" + e.what() + ")");
  }
  return info.Env().Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  auto fn = [&](const char* name, Napi::Function::Callback cb) {
    exports.Set(name, Napi::Function::New(env, cb, name));
  };
  fn("gemm", Gemm);
  fn("gemmAsync", GemmAsync);
  fn("conv2dForward", Conv2dForward);
  fn("conv2dForwardAsync", Conv2dForwardAsync);
  fn("conv2dBackwardInput", Conv2dBackwardInput);
  fn("conv2dBackwardWeight", Conv2dBackwardWeight);
  fn("conv2dBackwardBias", Conv2dBackwardBias);
  fn("convAlgorithm", ConvAlgorithm);
  fn("prepareConv2d", PrepareConv2d);
  fn("preparedConv2dInfo", PreparedConv2dInfo);
  fn("conv2dForwardPrepared", Conv2dForwardPrepared);
  fn("conv2dForwardPreparedSplit", Conv2dForwardPreparedSplit);
  fn("reluForward", ReluForward);
  fn("reluBackward", ReluBackward);
  fn("setConvAlgorithm", SetConvAlgorithm);
  fn("getConvAlgorithm", GetConvAlgorithm);
  fn("maxPool2dForward", MaxPool2dForward);
  fn("maxPool2dBackward", MaxPool2dBackward);
  fn("avgPool2dForward", AvgPool2dForward);
  fn("avgPool2dBackward", AvgPool2dBackward);
  fn("adaptiveAvgPool2dForward", AdaptiveAvgPool2dForward);
  fn("adaptiveAvgPool2dBackward", AdaptiveAvgPool2dBackward);
  fn("info", Info);
  fn("alignedFloat32Array", AlignedFloat32Array);
  fn("setNumThreads", SetNumThreads);
  fn("getNumThreads", GetNumThreads);
  fn("setIsa", SetIsa);
  // The packed geometry layouts (see GeometryArg), so that the backend packs in this order.
  auto names = [&](const char* const* fields, size_t n) {
    Napi::Array a = Napi::Array::New(env, n);
    for (size_t i = 0; i < n; i++) a.Set(static_cast<uint32_t>(i), fields[i]);
    return a;
  };
  Napi::Object layouts = Napi::Object::New(env);
  layouts.Set("conv", names(kConvFields, std::size(kConvFields)));
  layouts.Set("pool", names(kPoolFields, std::size(kPoolFields)));
  layouts.Set("adaptivePool", names(kAdaptiveFields, std::size(kAdaptiveFields)));
  exports.Set("geometryFields", layouts);
  return exports;
}

}  // namespace

NODE_API_MODULE(receptive, Init)
