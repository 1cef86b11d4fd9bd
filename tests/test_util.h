// Shared helpers for the core tests: reference values and temp paths.
#pragma once

#include <ATen/core/Tensor.h>

#include <map>
#include <string>

namespace mt::test {

// Arrays written by tests/reference/make_reference.py (float64 tensors), by name.
// Aborts the test binary if the file is missing (it is generated at build time).
const std::map<std::string, at::Tensor>& Reference();
at::Tensor Ref(const std::string& name);

// A fresh empty directory under the system temp dir, unique per call.
std::string TempDir();

}  // namespace mt::test
