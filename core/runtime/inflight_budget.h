// A server-wide budget of work in flight, in caller-chosen units: the sender reserves a request's
// pixels (from its image header, before decoding) until its reply, so N concurrent large requests
// cannot hold N decoded images at once (measured: 20 concurrent 16 MP requests took the sender's
// RSS to 9 GB before the queue bound refused 17 of them, after decoding; docs/RELIABILITY.md).
// Thread-safety: all methods may be called from any number of threads.
#pragma once

#include <cstdint>
#include <mutex>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"

namespace mt {

class InflightBudget {
 public:
  // Releases its units when destroyed (movable, not copyable).
  class Reservation {
   public:
    Reservation() = default;
    Reservation(Reservation&& o) noexcept : budget_(std::exchange(o.budget_, nullptr)), units_(o.units_) {}
    Reservation& operator=(Reservation&& o) noexcept {
      if (this != &o) {
        Release();
        budget_ = std::exchange(o.budget_, nullptr);
        units_ = o.units_;
      }
      return *this;
    }
    Reservation(const Reservation&) = delete;
    Reservation& operator=(const Reservation&) = delete;
    ~Reservation() { Release(); }

   private:
    friend class InflightBudget;
    Reservation(InflightBudget* budget, int64_t units) : budget_(budget), units_(units) {}
    void Release() {
      if (budget_ != nullptr) budget_->Return(units_);
      budget_ = nullptr;
    }
    InflightBudget* budget_ = nullptr;
    int64_t units_ = 0;
  };

  // limit <= 0: unlimited. The budget must outlive its reservations.
  explicit InflightBudget(int64_t limit) : limit_(limit) {}

  // Reserves `units` (>= 0). RESOURCE_EXHAUSTED, naming what is in flight, when others hold
  // enough that this would pass the limit; one reservation alone always fits, whatever its size
  // (the pixel limit bounds that), so a large request is never refused on an idle server.
  absl::StatusOr<Reservation> Reserve(int64_t units) {
    std::lock_guard<std::mutex> lock(mu_);
    if (limit_ > 0 && in_use_ > 0 && in_use_ + units > limit_)
      return absl::ResourceExhaustedError(absl::StrCat(in_use_, " of ", limit_, " in flight, ", units, " more asked"));
    in_use_ += units;
    return Reservation(this, units);
  }

  int64_t in_use() const {
    std::lock_guard<std::mutex> lock(mu_);
    return in_use_;
  }

 private:
  void Return(int64_t units) {
    std::lock_guard<std::mutex> lock(mu_);
    in_use_ -= units;
  }

  const int64_t limit_;
  mutable std::mutex mu_;
  int64_t in_use_ = 0;
};

}  // namespace mt
