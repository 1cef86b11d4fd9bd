// Old flag names kept as deprecated aliases for one release after a rename (the daemons'
// --checkpoint for --mae_checkpoint, mt-eval's --mae / --masker, mt-client's --tls_cert / --tls_key),
// so existing scripts and manifests keep working while they migrate. The alias is an ordinary flag,
// defined by the binary that used to have it (its help says "deprecated: use --<new>"); these
// functions resolve the pair after absl::ParseCommandLine.
#pragma once

#include <string>

#include "absl/flags/flag.h"
#include "absl/status/statusor.h"

namespace mt {

// Whether `flag` was given on the command line, whatever its value (an explicit empty one or the
// default too). Call it after absl::ParseCommandLine.
bool FlagGiven(const absl::Flag<std::string>& flag);

// The value to use for `flag`, whose deprecated old name is `alias`:
//   only `alias` given: the alias's value, after one warning (once per alias and process) that names
//     the new flag;
//   both given: INVALID_ARGUMENT naming both, even with equal values (which one would win is not
//     obvious to a reader of the command line, so neither does);
//   otherwise: `flag`'s value (its default when neither was given).
// Thread-safe; call it after absl::ParseCommandLine.
absl::StatusOr<std::string> FlagOrDeprecatedAlias(const absl::Flag<std::string>& flag,
                                                  const absl::Flag<std::string>& alias);

}  // namespace mt
