// CPU feature detection, ISA dispatch and thread control.
#pragma once
#include <string>
#include <vector>

namespace receptive {

enum class Isa { Scalar = 0, Avx2 = 1, Avx512 = 2 };

// Features the CPU reports (cpuid + OS support for the register state), e.g. "sse4.2",
// "avx", "avx2", "fma", "f16c", "avx512f", "avx512vl", "avx512bw", "avx512dq",
// "avx512_vnni", "avx512_bf16". A vector feature is listed only when the OS saves its
// registers (xgetbv), so everything listed can actually run. Empty on non-x86 builds.
std::vector<std::string> cpu_features();
// Best ISA this CPU and build support. Avx2 needs avx2+fma+f16c; Avx512 needs
// avx512f+vl+bw+dq on top of that.
Isa best_isa();
// ISA the kernels dispatch to: best_isa(), or RECEPTIVE_ISA=scalar|avx2|avx512 when set
// at load time, or the last force_isa(). force_isa throws std::invalid_argument when the
// CPU cannot run the requested ISA.
//
// RECEPTIVE_ISA is read once, at the first call of any function here. When its value is
// not an ISA name, or names an ISA this CPU cannot run, the choice stays best_isa() (the
// process keeps working) and isa_env_error() returns a message saying why, so the addon
// can report it; it is "" when the variable is unset or was honoured.
Isa active_isa();
void force_isa(Isa isa);
const char* isa_name(Isa isa);
bool parse_isa(const std::string& name, Isa* out);
const char* isa_env_error();

// Thread count for the kernels' OpenMP regions; default = physical cores the process
// may run on (or RECEPTIVE_NUM_THREADS when it is a positive integer; read once, at first
// use). The count is process-wide (not OpenMP's per-thread ICV), so calls from Node's
// worker threads see it too: kernels pass it as num_threads(get_num_threads()).
// set_num_threads throws std::invalid_argument for n < 1.
void set_num_threads(int n);
int get_num_threads();
bool has_openmp();
// Physical cores (distinct core_id/physical_package_id among the CPUs this process may
// run on); hardware_concurrency() when the topology cannot be read.
int physical_cores();
// Per-core data cache sizes in bytes, level 1 and 2 (sysfs on Linux; 32 KiB / 1 MiB when
// unknown). The GEMM driver sizes its cache blocks from them.
long l1d_cache_bytes();
long l2_cache_bytes();

}  // namespace receptive
