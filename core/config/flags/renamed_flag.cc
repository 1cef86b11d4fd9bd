#include "core/config/flags/renamed_flag.h"

#include <mutex>
#include <set>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/internal/parse.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/runtime/log.h"

namespace mt {

bool FlagGiven(const absl::Flag<std::string>& flag) {
  // Abseil 20220623 (Debian 12) keeps CommandLineFlag::IsSpecifiedOnCommandLine private; the parser's
  // own record of the flags it saw is what it offers instead (newer releases still have it).
  return absl::flags_internal::WasPresentOnCommandLine(absl::GetFlagReflectionHandle(flag).Name());
}

absl::StatusOr<std::string> FlagOrDeprecatedAlias(const absl::Flag<std::string>& flag,
                                                  const absl::Flag<std::string>& alias) {
  const std::string name(absl::GetFlagReflectionHandle(flag).Name());
  const std::string old_name(absl::GetFlagReflectionHandle(alias).Name());
  if (!FlagGiven(alias)) return absl::GetFlag(flag);
  if (FlagGiven(flag)) {
    return absl::InvalidArgumentError(absl::StrCat("--", old_name, " is the deprecated name of --", name,
                                                   ": give only --", name));
  }
  // The value may be resolved more than once (several commands read the same connection flags):
  // one warning per process is enough to prompt the migration.
  static std::mutex mu;
  static std::set<std::string>* const warned = new std::set<std::string>();
  {
    std::lock_guard<std::mutex> lock(mu);
    if (warned->insert(old_name).second) {
      log::warn("--{} is deprecated and will be removed in the next release: use --{}", old_name, name);
    }
  }
  return absl::GetFlag(alias);
}

}  // namespace mt
