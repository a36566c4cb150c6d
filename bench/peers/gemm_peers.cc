// C++ peers for receptive's benchmarks: oneDNN (dnnl_sgemm, convolution / deconvolution
// and pooling primitives) and OpenBLAS (cblas_sgemm). Built by bench/setup-peers.sh
// (or on demand by bench/run.js) with -DHAVE_DNNL / -DHAVE_OPENBLAS when the
// libraries are installed.
//
// Usage: gemm_peers <gemm|conv|pool> <onednn|openblas> <threads> <maxTimeSeconds> <minSamples>
// Cases come on stdin, one a line (written by bench/peers/index.js):
//   gemm: id M N K transA transB
//   conv: id N C H W K R S strideH strideW padH padW dilH dilW groups transposed oneD
//         (transposed: C = its input channels, K = its output channels, H/W its input size)
//   pool: id kind N C H W kH kW sH sW pH pW           (kind: max | avg | gavg)
// Prints one JSON object: {"peer", "version", "threads", "results": {id: {"ms", "samples",
// "impl"}}, "skipped": {id: reason}}. Times are medians over samples, warm-up excluded;
// each sample averages enough calls to last >= 1 ms. oneDNN convolution and pooling run
// twice: on the activation layouts oneDNN prefers (blocked, nChw16c-style; the reorders
// into them are NOT timed: its best case, as benchdnn measures it), reported under the
// case id, and on plain NCHW activations, reported as '<id>-nchw'. Weights are always in
// the layout the primitive prefers (packed once, untimed).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>
#ifdef _OPENMP
#include <omp.h>
#endif
#ifdef HAVE_DNNL
#include <dnnl.hpp>
#endif
#ifdef HAVE_OPENBLAS
#include <cblas.h>
#endif

static double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

struct Timing { double ms; double minMs; int samples; };

static Timing timeit(const std::function<void()>& f, double maxTime, int minSamples) {
  f();  // warm-up (first-call setup, page faults, JIT in oneDNN)
  double t0 = now();
  f();
  double one = now() - t0;
  int inner = 1;
  if (one < 1e-3) inner = std::max(1, (int)(1e-3 / std::max(one, 1e-7)));
  std::vector<double> samples;
  double end = now() + maxTime;
  while ((int)samples.size() < minSamples || (now() < end && samples.size() < 1000)) {
    double s = now();
    for (int i = 0; i < inner; i++) f();
    samples.push_back((now() - s) / inner);
    if (samples.size() >= (size_t)minSamples && now() > end + 10 * maxTime) break;
  }
  std::sort(samples.begin(), samples.end());
  size_t n = samples.size();
  double med = n % 2 ? samples[n / 2] : 0.5 * (samples[n / 2 - 1] + samples[n / 2]);
  return {med * 1e3, samples[0] * 1e3, (int)n};
}

static std::vector<float> randVec(size_t n, unsigned seed) {
  std::vector<float> v(n);
  unsigned s = seed * 2654435761u + 1;
  for (size_t i = 0; i < n; i++) {
    s = s * 1664525u + 1013904223u;
    v[i] = ((s >> 8) & 0xffff) / 32768.0f - 1.0f;
  }
  return v;
}

static std::string jsonEscape(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '"' || c == '\\') { o += '\\'; o += c; }
    else if ((unsigned char)c < 0x20) o += ' ';
    else o += c;
  }
  return o;
}

struct Out {
  std::vector<std::string> results, skipped;
  void ok(const std::string& id, Timing t, const std::string& impl = "") {
    char buf[512];
    snprintf(buf, sizeof buf, "\"%s\": {\"ms\": %.6f, \"minMs\": %.6f, \"samples\": %d%s%s%s}", jsonEscape(id).c_str(),
             t.ms, t.minMs, t.samples, impl.empty() ? "" : ", \"impl\": \"", jsonEscape(impl).c_str(), impl.empty() ? "" : "\"");
    results.push_back(buf);
  }
  void skip(const std::string& id, const std::string& why) {
    skipped.push_back("\"" + jsonEscape(id) + "\": \"" + jsonEscape(why) + "\"");
  }
};

static std::string join(const std::vector<std::string>& v) {
  std::string o;
  for (size_t i = 0; i < v.size(); i++) o += (i ? ", " : "") + v[i];
  return o;
}

int main(int argc, char** argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: gemm_peers <gemm|conv|pool> <onednn|openblas> <threads> [maxTime] [minSamples]\n");
    return 2;
  }
  std::string mode = argv[1], lib = argv[2];
  int threads = atoi(argv[3]);
  double maxTime = argc > 4 ? atof(argv[4]) : 1.0;
  int minSamples = argc > 5 ? atoi(argv[5]) : 5;
#ifdef _OPENMP
  omp_set_num_threads(threads);
#endif
  std::string version = "";
  bool have = false;
#ifdef HAVE_DNNL
  if (lib == "onednn") {
    have = true;
    const dnnl_version_t* v = dnnl_version();
    char b[64];
    snprintf(b, sizeof b, "%d.%d.%d", v->major, v->minor, v->patch);
    version = b;
  }
#endif
#ifdef HAVE_OPENBLAS
  if (lib == "openblas") {
    have = true;
    openblas_set_num_threads(threads);
    version = openblas_get_config();
  }
#endif
  if (!have) {
    printf("{\"peer\": \"%s\", \"unavailable\": \"not compiled in (library missing when gemm_peers was built)\"}\n",
           lib.c_str());
    return 0;
  }
  Out out;
  std::string line;
#ifdef HAVE_DNNL
  dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  dnnl::stream strm(eng);
#endif
  while (std::getline(std::cin, line)) {
    if (line.empty()) continue;
    std::istringstream in(line);
    std::string id;
    in >> id;
    try {
      if (mode == "gemm") {
        long M, N, K; int ta, tb;
        in >> M >> N >> K >> ta >> tb;
        auto A = randVec(M * K, 1), B = randVec(K * N, 2);
        std::vector<float> C(M * N, 0.f);
        long lda = ta ? M : K, ldb = tb ? K : N, ldc = N;
#ifdef HAVE_DNNL
        if (lib == "onednn") {
          out.ok(id, timeit([&] {
            dnnl_sgemm(ta ? 'T' : 'N', tb ? 'T' : 'N', M, N, K, 1.f, A.data(), lda, B.data(), ldb, 0.f, C.data(), ldc);
          }, maxTime, minSamples), "dnnl_sgemm");
        }
#endif
#ifdef HAVE_OPENBLAS
        if (lib == "openblas") {
          out.ok(id, timeit([&] {
            cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M, N, K, 1.f,
                        A.data(), lda, B.data(), ldb, 0.f, C.data(), ldc);
          }, maxTime, minSamples), "cblas_sgemm");
        }
#endif
      } else if (mode == "conv") {
        long N, C, H, W, K, R, S, sh, sw, ph, pw, dh, dw, g; int tr, oneD;
        in >> N >> C >> H >> W >> K >> R >> S >> sh >> sw >> ph >> pw >> dh >> dw >> g >> tr >> oneD;
        if (lib != "onednn") { out.skip(id, "no convolution in " + lib); continue; }
#ifdef HAVE_DNNL
        using namespace dnnl;
        using dt = memory::data_type;
        using tag = memory::format_tag;
        long OH, OW;
        if (tr) {
          OH = (H - 1) * sh - 2 * ph + dh * (R - 1) + 1;
          OW = (W - 1) * sw - 2 * pw + dw * (S - 1) + 1;
        } else {
          OH = (H + 2 * ph - dh * (R - 1) - 1) / sh + 1;
          OW = (W + 2 * pw - dw * (S - 1) - 1) / sw + 1;
        }
        memory::dims src, dst, wei, strides, dil, padL, padR;
        if (oneD) {
          src = {N, C, W}; dst = {N, K, OW};
          strides = {sw}; dil = {dw - 1}; padL = {pw}; padR = {pw};
          if (g == 1) wei = {K, C, S}; else wei = {g, K / g, C / g, S};
        } else {
          src = {N, C, H, W}; dst = {N, K, OH, OW};
          strides = {sh, sw}; dil = {dh - 1, dw - 1}; padL = {ph, pw}; padR = {ph, pw};
          if (g == 1) wei = {K, C, R, S}; else wei = {g, K / g, C / g, R, S};
        }
        // Blocked activations (oneDNN's preferred layouts, reorders untimed: its best case)
        // and plain NCHW activations (what an NCHW caller gets), weights in the layout the
        // primitive prefers in both (packed once, as any inference engine does).
        const tag plain = oneD ? tag::ncw : tag::nchw;
        const std::pair<const char*, tag> layouts[] = {{"", tag::any}, {"-nchw", plain}};
        for (auto& lay : layouts) {
          memory::desc smd(src, dt::f32, lay.second), wmd(wei, dt::f32, tag::any), dmd(dst, dt::f32, lay.second);
          primitive prim;
          memory sm, wm, dm;
          std::string impl;
          if (tr) {
            auto d = deconvolution_forward::desc(prop_kind::forward_inference, algorithm::deconvolution_direct, smd,
                                                 wmd, dmd, strides, dil, padL, padR);
            auto pd = deconvolution_forward::primitive_desc(d, eng);
            sm = memory(pd.src_desc(), eng); wm = memory(pd.weights_desc(), eng); dm = memory(pd.dst_desc(), eng);
            prim = deconvolution_forward(pd);
            impl = pd.impl_info_str();
          } else {
            auto d = convolution_forward::desc(prop_kind::forward_inference, algorithm::convolution_auto, smd, wmd,
                                               dmd, strides, dil, padL, padR);
            auto pd = convolution_forward::primitive_desc(d, eng);
            sm = memory(pd.src_desc(), eng); wm = memory(pd.weights_desc(), eng); dm = memory(pd.dst_desc(), eng);
            prim = convolution_forward(pd);
            impl = pd.impl_info_str();
          }
          {
            auto xs = randVec(sm.get_desc().get_size() / 4, 3), ws = randVec(wm.get_desc().get_size() / 4, 4);
            memcpy(sm.get_data_handle(), xs.data(), xs.size() * 4);
            memcpy(wm.get_data_handle(), ws.data(), ws.size() * 4);
          }
          std::unordered_map<int, memory> args = {{DNNL_ARG_SRC, sm}, {DNNL_ARG_WEIGHTS, wm}, {DNNL_ARG_DST, dm}};
          out.ok(id + lay.first, timeit([&] { prim.execute(strm, args); strm.wait(); }, maxTime, minSamples), impl);
        }
#endif
      } else if (mode == "pool") {
        std::string kind;
        long N, C, H, W, kh, kw, sh, sw, ph, pw;
        in >> kind >> N >> C >> H >> W >> kh >> kw >> sh >> sw >> ph >> pw;
        if (lib != "onednn") { out.skip(id, "no pooling in " + lib); continue; }
#ifdef HAVE_DNNL
        using namespace dnnl;
        using dt = memory::data_type;
        using tag = memory::format_tag;
        long OH = (H + 2 * ph - kh) / sh + 1, OW = (W + 2 * pw - kw) / sw + 1;
        auto alg = kind == "max" ? algorithm::pooling_max : algorithm::pooling_avg_exclude_padding;
        // Blocked layout (oneDNN's fast path) and plain NCHW (what an NCHW caller gets). The
        // blocked one is timed with 16- and 8-channel blocks and the faster is kept: oneDNN's
        // pooling kernels take the block of the vector width the CPU has (nChw16c where
        // AVX-512 runs, nChw8c on AVX2), and fall back to its reference loop on the other.
        auto time_layout = [&](tag t, std::string* impl) {
          memory::desc smd({N, C, H, W}, dt::f32, t), dmd({N, C, OH, OW}, dt::f32, tag::any);
          auto d = pooling_forward::desc(prop_kind::forward_inference, alg, smd, dmd, {sh, sw}, {kh, kw}, {ph, pw},
                                         {ph, pw});
          auto pd = pooling_forward::primitive_desc(d, eng);
          memory sm(pd.src_desc(), eng), dm(pd.dst_desc(), eng);
          auto xs = randVec(sm.get_desc().get_size() / 4, 5);
          memcpy(sm.get_data_handle(), xs.data(), xs.size() * 4);
          pooling_forward prim(pd);
          std::unordered_map<int, memory> args = {{DNNL_ARG_SRC, sm}, {DNNL_ARG_DST, dm}};
          *impl = pd.impl_info_str();
          return timeit([&] { prim.execute(strm, args); strm.wait(); }, maxTime, minSamples);
        };
        std::string impl16, impl8, impl_plain;
        const Timing b16 = time_layout(tag::nChw16c, &impl16), b8 = time_layout(tag::nChw8c, &impl8);
        if (b16.ms <= b8.ms) out.ok(id, b16, impl16 + " nChw16c");
        else out.ok(id, b8, impl8 + " nChw8c");
        const Timing plain = time_layout(tag::nchw, &impl_plain);
        out.ok(id + "-nchw", plain, impl_plain);
#endif
      } else {
        fprintf(stderr, "unknown mode %s\n", mode.c_str());
        return 2;
      }
    } catch (const std::exception& e) {
      out.skip(id, e.what());
    }
  }
  printf("{\"peer\": \"%s\", \"version\": \"%s\", \"threads\": %d, \"results\": {%s}, \"skipped\": {%s}}\n",
         lib.c_str(), jsonEscape(version).c_str(), threads, join(out.results).c_str(), join(out.skipped).c_str());
  return 0;
}
