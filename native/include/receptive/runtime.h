// CPU feature detection, ISA dispatch and thread control.
#pragma once
#include <string>
#include <vector>

namespace receptive {

enum class Isa { Scalar = 0, Avx2 = 1, Avx512 = 2 };

// Features the CPU reports (cpuid + OS support for the register state).
std::vector<std::string> cpu_features();
// Best ISA this CPU and build support.
Isa best_isa();
// ISA the kernels dispatch to: best_isa(), or RECEPTIVE_ISA=scalar|avx2|avx512 when set
// at load time, or the last force_isa(). force_isa throws std::invalid_argument when the
// CPU cannot run the requested ISA.
Isa active_isa();
void force_isa(Isa isa);
const char* isa_name(Isa isa);
bool parse_isa(const std::string& name, Isa* out);

// OpenMP thread count; default = physical cores (or RECEPTIVE_NUM_THREADS).
void set_num_threads(int n);
int get_num_threads();
bool has_openmp();

}  // namespace receptive
