// CPU feature detection (cpuid + xgetbv), the active ISA and the process-wide thread
// count. Everything is decided lazily at first use, in one thread-safe static init.
#include "receptive/runtime.h"

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>

#ifdef _OPENMP
#include <omp.h>
#endif
#if defined(__x86_64__)
#include <cpuid.h>
#endif
#if defined(__linux__)
#include <sched.h>
#endif

namespace receptive {

namespace {

struct CpuInfo {
  std::vector<std::string> features;
  Isa best = Isa::Scalar;
};

#if defined(__x86_64__)
uint64_t xgetbv0() {
  // Inline asm rather than _xgetbv(), which needs -mxsave on this baseline file.
  uint32_t lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (uint64_t(hi) << 32) | lo;
}
#endif

CpuInfo detect_cpu() {
  CpuInfo info;
#if defined(__x86_64__)
  unsigned a = 0, b = 0, c = 0, d = 0;
  unsigned max_leaf = __get_cpuid_max(0, nullptr);
  if (max_leaf < 1) return info;
  __cpuid_count(1, 0, a, b, c, d);
  const bool sse42 = c & (1u << 20);
  const bool osxsave = c & (1u << 27);
  const bool avx_cpu = c & (1u << 28);
  const bool fma_cpu = c & (1u << 12);
  const bool f16c_cpu = c & (1u << 29);
  uint64_t xcr0 = osxsave ? xgetbv0() : 0;
  const bool os_ymm = (xcr0 & 0x6) == 0x6;      // SSE + AVX state
  const bool os_zmm = (xcr0 & 0xe6) == 0xe6;    // + opmask, ZMM_Hi256, Hi16_ZMM
  unsigned b7 = 0, c7 = 0, a71 = 0;
  if (max_leaf >= 7) {
    __cpuid_count(7, 0, a, b, c, d);
    b7 = b;
    c7 = c;
    unsigned max_sub = a;
    if (max_sub >= 1) {
      __cpuid_count(7, 1, a, b, c, d);
      a71 = a;
    }
  }
  auto add = [&](bool has, const char* name) {
    if (has) info.features.emplace_back(name);
  };
  const bool avx = avx_cpu && os_ymm;
  const bool fma = fma_cpu && avx;
  const bool f16c = f16c_cpu && avx;
  const bool avx2 = (b7 & (1u << 5)) && avx;
  const bool avx512f = (b7 & (1u << 16)) && os_zmm;
  const bool avx512dq = (b7 & (1u << 17)) && avx512f;
  const bool avx512bw = (b7 & (1u << 30)) && avx512f;
  const bool avx512vl = (b7 & (1u << 31)) && avx512f;
  add(sse42, "sse4.2");
  add(avx, "avx");
  add(avx2, "avx2");
  add(fma, "fma");
  add(f16c, "f16c");
  add(avx512f, "avx512f");
  add(avx512vl, "avx512vl");
  add(avx512bw, "avx512bw");
  add(avx512dq, "avx512dq");
  add((c7 & (1u << 11)) && avx512f, "avx512_vnni");
  add((a71 & (1u << 5)) && avx512f, "avx512_bf16");
  if (avx2 && fma && f16c) info.best = Isa::Avx2;
  if (info.best == Isa::Avx2 && avx512f && avx512vl && avx512bw && avx512dq)
    info.best = Isa::Avx512;
#endif
  return info;
}

bool read_int_file(const std::string& path, long* out) {
  std::ifstream f(path);
  long v;
  if (!(f >> v)) return false;
  *out = v;
  return true;
}

int count_physical_cores() {
  int fallback = static_cast<int>(std::thread::hardware_concurrency());
  if (fallback < 1) fallback = 1;
#if defined(__linux__)
  cpu_set_t mask;
  CPU_ZERO(&mask);
  if (sched_getaffinity(0, sizeof(mask), &mask) != 0) return fallback;
  std::set<std::pair<long, long>> cores;
  for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
    if (!CPU_ISSET(cpu, &mask)) continue;
    const std::string dir = "/sys/devices/system/cpu/cpu" + std::to_string(cpu) + "/topology/";
    long core = 0, pkg = 0;
    if (!read_int_file(dir + "core_id", &core) || !read_int_file(dir + "physical_package_id", &pkg))
      return CPU_COUNT(&mask);
    cores.emplace(pkg, core);
  }
  if (cores.empty()) return fallback;
  return static_cast<int>(cores.size());
#else
  return fallback;
#endif
}

// Size of the level-`level` data (or unified) cache of cpu0 from sysfs, or 0.
long cache_bytes(int level) {
#if defined(__linux__)
  for (int index = 0; index < 8; index++) {
    const std::string dir = "/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(index) + "/";
    long lvl = 0;
    if (!read_int_file(dir + "level", &lvl)) break;
    std::ifstream type_file(dir + "type");
    std::string type;
    type_file >> type;
    if (lvl != level || (type != "Data" && type != "Unified")) continue;
    std::ifstream size_file(dir + "size");
    long size = 0;
    std::string unit;
    if (!(size_file >> size)) continue;
    size_file >> unit;  // "48K"
    if (!unit.empty() && (unit[0] == 'K' || unit[0] == 'k')) size *= 1024;
    else if (!unit.empty() && (unit[0] == 'M' || unit[0] == 'm')) size *= 1024 * 1024;
    return size;
  }
#else
  (void)level;
#endif
  return 0;
}

bool parse_positive_int(const char* s, int* out) {
  if (s == nullptr || *s == '\0') return false;
  char* end = nullptr;
  long v = std::strtol(s, &end, 10);
  if (*end != '\0' || v < 1 || v > 4096) return false;
  *out = static_cast<int>(v);
  return true;
}

struct State {
  CpuInfo cpu;
  std::string isa_error;
  std::atomic<int> isa{0};
  std::atomic<int> threads{1};
  int cores = 1;
  long l1d = 0, l2 = 0;

  State() : cpu(detect_cpu()) {
    Isa chosen = cpu.best;
    if (const char* env = std::getenv("RECEPTIVE_ISA"); env != nullptr && *env != '\0') {
      Isa want;
      if (!parse_isa(env, &want)) {
        isa_error = std::string("RECEPTIVE_ISA='") + env +
                    "' is not one of scalar, avx2, avx512; using " + isa_name(chosen);
      } else if (static_cast<int>(want) > static_cast<int>(cpu.best)) {
        isa_error = std::string("RECEPTIVE_ISA='") + env +
                    "' is not supported by this CPU or build; using " + isa_name(chosen);
      } else {
        chosen = want;
      }
    }
    isa.store(static_cast<int>(chosen));
    cores = count_physical_cores();
    l1d = cache_bytes(1);
    l2 = cache_bytes(2);
    if (l1d < 8 * 1024) l1d = 32 * 1024;
    if (l2 < 128 * 1024) l2 = 1024 * 1024;
    int n = cores;
    int env_n;
    if (parse_positive_int(std::getenv("RECEPTIVE_NUM_THREADS"), &env_n)) n = env_n;
    threads.store(n);
  }
};

State& state() {
  static State s;
  return s;
}

}  // namespace

std::vector<std::string> cpu_features() { return state().cpu.features; }

Isa best_isa() { return state().cpu.best; }

Isa active_isa() { return static_cast<Isa>(state().isa.load(std::memory_order_relaxed)); }

void force_isa(Isa isa) {
  State& s = state();
  if (static_cast<int>(isa) < 0 || static_cast<int>(isa) > static_cast<int>(s.cpu.best))
    throw std::invalid_argument(std::string("ISA ") + isa_name(isa) +
                                " cannot run here (best is " + isa_name(s.cpu.best) + ")");
  s.isa.store(static_cast<int>(isa));
}

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::Avx512: return "avx512";
    case Isa::Avx2: return "avx2";
    case Isa::Scalar: return "scalar";
  }
  return "unknown";
}

bool parse_isa(const std::string& name, Isa* out) {
  if (name == "scalar") { *out = Isa::Scalar; return true; }
  if (name == "avx2") { *out = Isa::Avx2; return true; }
  if (name == "avx512") { *out = Isa::Avx512; return true; }
  return false;
}

const char* isa_env_error() { return state().isa_error.c_str(); }

void set_num_threads(int n) {
  if (n < 1) throw std::invalid_argument("thread count must be at least 1");
  state().threads.store(n);
#ifdef _OPENMP
  // Also the caller's OpenMP default, for code that opens a plain `omp parallel`.
  omp_set_num_threads(n);
#endif
}

int get_num_threads() {
#ifdef _OPENMP
  return state().threads.load(std::memory_order_relaxed);
#else
  return 1;
#endif
}

bool has_openmp() {
#ifdef _OPENMP
  return true;
#else
  return false;
#endif
}

int physical_cores() { return state().cores; }
long l1d_cache_bytes() { return state().l1d; }
long l2_cache_bytes() { return state().l2; }

}  // namespace receptive
