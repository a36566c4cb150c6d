#!/usr/bin/env bash
# Builds the standalone native harnesses (gemm_check, gemm_bench) together with the
# GEMM and runtime sources, using the addon's per-file ISA flags (see
# scripts/list-sources.js): *_avx512.cc get AVX-512, *_avx2.cc AVX2+FMA, the rest
# baseline x86-64. Never -march=native.
#
#   bench/native/build.sh              -> bench/native/build/{gemm_check,gemm_bench}
#   bench/native/build.sh --sanitize   -> bench/native/build-asan/... with ASan + UBSan
#   CXX=clang++ bench/native/build.sh  (any C++17 compiler with OpenMP)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
CXX="${CXX:-g++}"
out="$here/build"
common=(-O3 -std=c++17 -fopenmp -Wall -Wextra -fno-math-errno -I"$root/native/include")
link=(-fopenmp)
if [[ "${1:-}" == "--sanitize" ]]; then
  out="$here/build-asan"
  common+=(-g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined)
  link+=(-fsanitize=address,undefined)
fi
mkdir -p "$out/obj"
arch="$(uname -m)"

flags_for() {
  local base
  base="$(basename "$1")"
  if [[ "$arch" == "x86_64" ]]; then
    case "$base" in
      *_avx512.cc) echo "-mavx2 -mfma -mf16c -mavx512f -mavx512vl -mavx512bw -mavx512dq"; return ;;
      *_avx2.cc) echo "-mavx2 -mfma -mf16c"; return ;;
    esac
  fi
  echo ""
}

# Library sources this harness needs: GEMM + runtime (other kernels are not linked, so a
# colleague's half-edited file cannot break the build).
mapfile -t srcs < <(find "$root/native/gemm" "$root/native/runtime" -name '*.cc' | sort)
objs=()
pids=()
for src in "${srcs[@]}"; do
  rel="${src#"$root"/native/}"
  obj="$out/obj/${rel//\//_}.o"
  # shellcheck disable=SC2046
  "$CXX" "${common[@]}" $(flags_for "$src") -c "$src" -o "$obj" &
  pids+=($!)
  objs+=("$obj")
done
for pid in "${pids[@]}"; do wait "$pid"; done

# gemm_bench --vs times oneDNN next to us when libdnnl-dev is installed (optional; the
# library itself never links it).
bench_extra=()
if echo '#include <dnnl.h>' | "$CXX" -x c++ -fsyntax-only - 2>/dev/null &&
   echo 'int main(){}' | "$CXX" -x c++ - -ldnnl -o /dev/null 2>/dev/null; then
  bench_extra=(-DHAVE_DNNL -ldnnl)
fi
pids=()
"$CXX" "${common[@]}" -I"$root/native" "$here/gemm_check.cc" "${objs[@]}" "${link[@]}" \
  -o "$out/gemm_check" &
pids+=($!)
"$CXX" "${common[@]}" -I"$root/native" "$here/gemm_bench.cc" "${objs[@]}" "${link[@]}" \
  "${bench_extra[@]}" -o "$out/gemm_bench" &
pids+=($!)
for pid in "${pids[@]}"; do wait "$pid"; done
echo "built: $out/gemm_check $out/gemm_bench"
