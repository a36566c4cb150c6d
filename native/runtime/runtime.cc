// PLACEHOLDER: minimal runtime until detection and dispatch land.
#include "receptive/runtime.h"
#include <stdexcept>
#ifdef _OPENMP
#include <omp.h>
#endif

namespace receptive {

std::vector<std::string> cpu_features() { return {}; }
Isa best_isa() { return Isa::Scalar; }
Isa active_isa() { return Isa::Scalar; }
void force_isa(Isa isa) {
  if (isa != Isa::Scalar) throw std::invalid_argument("ISA not supported");
}
const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::Avx512: return "avx512";
    case Isa::Avx2: return "avx2";
    default: return "scalar";
  }
}
bool parse_isa(const std::string& name, Isa* out) {
  if (name == "scalar") { *out = Isa::Scalar; return true; }
  if (name == "avx2") { *out = Isa::Avx2; return true; }
  if (name == "avx512") { *out = Isa::Avx512; return true; }
  return false;
}
void set_num_threads(int n) {
#ifdef _OPENMP
  omp_set_num_threads(n);
#else
  (void)n;
#endif
}
int get_num_threads() {
#ifdef _OPENMP
  return omp_get_max_threads();
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

}  // namespace receptive
