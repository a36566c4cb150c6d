{
  "variables": {
    "receptive_cflags": ["-O3", "-std=c++17", "-fopenmp", "-Wall", "-Wextra", "-fno-math-errno", "-fvisibility=hidden"]
  },
  "target_defaults": {
    "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")", "native/include"],
    "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"],
    "cflags!": ["-fno-exceptions"],
    "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17", "-std=gnu++14"],
    "cflags_cc": ["<@(receptive_cflags)"],
    "xcode_settings": {
      "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
      "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
      "MACOSX_DEPLOYMENT_TARGET": "10.15"
    },
    "msvs_settings": { "VCCLCompilerTool": { "ExceptionHandling": 1 } }
  },
  "targets": [
    {
      "target_name": "receptive_base",
      "type": "static_library",
      "sources": ["<!@(node scripts/list-sources.js base)"],
      "cflags_cc": ["-fPIC"]
    },
    {
      "target_name": "receptive_avx2",
      "type": "static_library",
      "conditions": [["target_arch=='x64'", {
        "sources": ["<!@(node scripts/list-sources.js avx2)"],
        "cflags_cc": ["-fPIC", "-mavx2", "-mfma", "-mf16c"]
      }]]
    },
    {
      "target_name": "receptive_avx512",
      "type": "static_library",
      "conditions": [["target_arch=='x64'", {
        "sources": ["<!@(node scripts/list-sources.js avx512)"],
        "cflags_cc": ["-fPIC", "-mavx2", "-mfma", "-mf16c", "-mavx512f", "-mavx512vl", "-mavx512bw", "-mavx512dq"]
      }]]
    },
    {
      "target_name": "receptive",
      "sources": ["<!@(node scripts/list-sources.js addon)"],
      "dependencies": ["receptive_base", "receptive_avx2", "receptive_avx512"],
      "libraries": ["-fopenmp"],
      "ldflags": ["-fopenmp"]
    }
  ]
}
