#include "core/io/torch_pickle.h"

#include <caffe2/serialize/inline_container.h>
#include <torch/serialize.h>

#include <cstring>
#include <filesystem>
#include <set>
#include <vector>

#include "absl/strings/str_cat.h"

namespace mt {
namespace {

constexpr char kOrderedDict[] = "collections\nOrderedDict\n";

// Little-endian unsigned integer of `n` bytes at p[at].
uint64_t ReadLe(const std::string& p, size_t at, int n) {
  uint64_t v = 0;
  for (int i = n - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[at + static_cast<size_t>(i)]);
  return v;
}

// Bytes of argument after opcode `op` at p[at] (at = first argument byte); -1 for an unknown opcode.
int64_t ArgumentBytes(unsigned char op, const std::string& p, size_t at) {
  auto need = [&](size_t n) { return at + n <= p.size(); };
  switch (op) {
    // No argument.
    case '}': case ')': case ']': case '(': case 'u': case 's': case 't': case 'R': case 'Q': case 'N':
    case '.': case 'a': case 'e': case 'b': case '0': case '1': case '2': case 'l': case 'd': case 'o':
    case 0x85: case 0x86: case 0x87: case 0x88: case 0x89: case 0x81: case 0x92: case 0x93: case 0x94:
    case 0x8f: case 0x90: case 0x91: case 0x97: case 0x98:
      return 0;
    case 'q': case 'h': case 'K': case 0x80: return 1;                 // BINPUT BINGET BININT1 PROTO
    case 'M': return 2;                                                 // BININT2
    case 'r': case 'j': case 'J': return 4;                             // LONG_BINPUT LONG_BINGET BININT
    case 'G': case 0x95: return 8;                                      // BINFLOAT FRAME
    case 'U': case 'C': case 0x8c: case 0x8a:                           // 1-byte length + data
      return need(1) ? 1 + static_cast<int64_t>(ReadLe(p, at, 1)) : -1;
    case 'T': case 'B': case 'X': case 0x8b:                            // 4-byte length + data
      return need(4) ? 4 + static_cast<int64_t>(ReadLe(p, at, 4)) : -1;
    case 0x8d: case 0x8e: case 0x96:                                    // 8-byte length + data
      return need(8) ? 8 + static_cast<int64_t>(ReadLe(p, at, 8)) : -1;
    case 'c': {                                                         // GLOBAL: two lines
      const size_t a = p.find('\n', at);
      const size_t b = a == std::string::npos ? a : p.find('\n', a + 1);
      return b == std::string::npos ? -1 : static_cast<int64_t>(b + 1 - at);
    }
    case 'I': case 'L': case 'F': case 'S': case 'V': case 'P': case 'g': case 'p': {  // text opcodes
      const size_t a = p.find('\n', at);
      return a == std::string::npos ? -1 : static_cast<int64_t>(a + 1 - at);
    }
    default: return -1;
  }
}

}  // namespace

namespace {

// Where each value on the unpickler's stack starts in the output, so that a SETITEM can be turned
// into MARK ... SETITEMS (LibTorch's unpickler has no SETITEM, which Python writes for a dict
// with one item, e.g. {"model": ...}).
class StackStarts {
 public:
  // Applies `op` (written at `at`) to the stack; false on underflow or an opcode without a known effect.
  bool Apply(unsigned char op, size_t at) {
    switch (op) {
      case '(': stack_.push_back({at, true}); return true;
      case 'q': case 'r': case 'p': case 0x94: case 0x80: case 0x95: case '.': return true;  // memo, proto, frame, stop
      case 't': case 'l': case 'd': case 'o': case 0x91: {  // pop to mark, push the result where the mark was
        const int m = LastMark();
        if (m < 0) return false;
        const size_t start = stack_[static_cast<size_t>(m)].start;
        stack_.resize(static_cast<size_t>(m));
        stack_.push_back({start, false});
        return true;
      }
      case 'u': case 'e': case 0x90: case '1': {  // pop to mark
        const int m = LastMark();
        if (m < 0) return false;
        stack_.resize(static_cast<size_t>(m));
        return true;
      }
      case 'a': case 'b': case '0': return Pop(1);
      case 's': return Pop(2);
      case 0x85: return Combine(1);
      case 0x86: case 'R': case 0x81: return Combine(2);
      case 0x87: return Combine(3);
      case 'Q': return Combine(1);
      case '2': stack_.push_back({at, false}); return true;
      case 0x93: return Combine(2);  // STACK_GLOBAL
      case 0x92: return Combine(3);  // NEWOBJ_EX
      case 0x98: return true;        // READONLY_BUFFER
      case '}': case ')': case ']': case 'N': case 0x88: case 0x89: case 0x8f: case 'c': case 'X': case 'T':
      case 'U': case 'C': case 'B': case 0x8c: case 0x8d: case 0x8e: case 0x96: case 0x97: case 'J': case 'K':
      case 'M': case 'G': case 0x8a: case 0x8b: case 'I': case 'L': case 'F': case 'S': case 'V': case 'g':
      case 'h': case 'j': case 'P':  // push one value
        stack_.push_back({at, false});
        return true;
      default: return false;
    }
  }
  // Start of the value `depth` from the top (0 = top); -1 if absent or a mark.
  int64_t StartOf(size_t depth) const {
    if (depth >= stack_.size() || stack_[stack_.size() - 1 - depth].mark) return -1;
    return static_cast<int64_t>(stack_[stack_.size() - 1 - depth].start);
  }

 private:
  struct Entry {
    size_t start;
    bool mark;
  };
  int LastMark() const {
    for (size_t k = stack_.size(); k-- > 0;)
      if (stack_[k].mark) return static_cast<int>(k);
    return -1;
  }
  bool Pop(size_t n) {
    if (stack_.size() < n) return false;
    stack_.resize(stack_.size() - n);
    return true;
  }
  bool Combine(size_t n) {  // pop n, push one value starting where the first of them started
    if (stack_.size() < n || stack_[stack_.size() - n].mark) return false;
    const size_t start = stack_[stack_.size() - n].start;
    stack_.resize(stack_.size() - n);
    stack_.push_back({start, false});
    return true;
  }
  std::vector<Entry> stack_;
};

}  // namespace

absl::StatusOr<std::string> RewriteOrderedDicts(const std::string& p) {
  // OrderedDict() in a pickle is `GLOBAL collections OrderedDict` (memoized, later fetched again
  // by BINGET), then EMPTY_TUPLE, REDUCE. The class becomes EMPTY_DICT and the `() REDUCE` after
  // it is dropped, so the fresh dict stands where the call's result stood and the items that
  // follow fill it. Memo writes are kept as they are (LibTorch numbers memo slots by order).
  // SETITEM becomes MARK (before its key) ... SETITEMS.
  std::string out;
  out.reserve(p.size() + 64);
  StackStarts stack;
  std::set<uint64_t> class_slots;  // memo slots that hold the class
  bool class_on_top = false;       // the value just pushed stands for the class
  size_t i = 0;
  auto bad = [&](const char* what) {
    return absl::InvalidArgumentError(absl::StrCat("pickle: ", what, " at byte ", i));
  };
  while (i < p.size()) {
    const auto op = static_cast<unsigned char>(p[i]);
    const int64_t n = ArgumentBytes(op, p, i + 1);
    if (n < 0 || i + 1 + static_cast<size_t>(n) > p.size())
      return absl::InvalidArgumentError(
          absl::StrCat("pickle: unsupported opcode 0x", absl::Hex(op), " or truncated stream at byte ", i));
    const std::string arg = p.substr(i + 1, static_cast<size_t>(n));
    const bool fetches_class = (op == 'h' || op == 'j') && class_slots.count(ReadLe(arg, 0, op == 'h' ? 1 : 4)) > 0;
    if ((op == 'c' && arg == kOrderedDict) || fetches_class) {
      if (!stack.Apply('}', out.size())) return bad("stack underflow");
      out += '}';
      class_on_top = true;
    } else if (class_on_top && (op == 'q' || op == 'r')) {
      class_slots.insert(ReadLe(arg, 0, op == 'q' ? 1 : 4));
      out.append(p, i, 1 + static_cast<size_t>(n));
    } else if (class_on_top) {
      if (op != ')' || i + 1 >= p.size() || p[i + 1] != 'R')
        return bad("an OrderedDict built other than as OrderedDict() is not supported");
      class_on_top = false;
      i += 2;
      continue;
    } else if (op == 's') {
      const int64_t key_start = stack.StartOf(1);
      if (key_start < 0 || stack.StartOf(2) < 0) return bad("SETITEM without a dict, key and value");
      out.insert(static_cast<size_t>(key_start), 1, '(');
      out += 'u';
      stack.Apply('s', out.size());
    } else {
      if (!stack.Apply(op, out.size())) return bad("stack underflow or unsupported opcode");
      out.append(p, i, 1 + static_cast<size_t>(n));
    }
    if (op == '.') return out;  // STOP
    i += 1 + static_cast<size_t>(n);
  }
  return absl::InvalidArgumentError("pickle: no STOP opcode");
}

absl::StatusOr<std::map<std::string, at::Tensor>> ReadTorchStateDict(const std::string& path, const std::string& key) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return absl::NotFoundError(absl::StrCat("no file '", path, "'"));
  try {
    caffe2::serialize::PyTorchStreamReader reader(path);
    if (!reader.hasRecord("data.pkl"))
      return absl::InvalidArgumentError(absl::StrCat("'", path, "' is a zip archive without data.pkl: not a torch.save file"));
    auto [pkl, pkl_size] = reader.getRecord("data.pkl");
    absl::StatusOr<std::string> rewritten =
        RewriteOrderedDicts(std::string(static_cast<const char*>(pkl.get()), pkl_size));
    if (!rewritten.ok()) return absl::InvalidArgumentError(absl::StrCat("'", path, "': ", rewritten.status().message()));
    // The same archive with the rewritten pickle, in memory, for torch::pickle_load.
    std::vector<char> archive;
    {
      caffe2::serialize::PyTorchStreamWriter writer([&](const void* data, size_t size) {
        archive.insert(archive.end(), static_cast<const char*>(data), static_cast<const char*>(data) + size);
        return size;
      });
      for (const std::string& name : reader.getAllRecords()) {
        if (name == "data.pkl") {
          writer.writeRecord(name, rewritten->data(), rewritten->size());
        } else if (name != "version") {
          auto [data, size] = reader.getRecord(name);
          writer.writeRecord(name, data.get(), size);
        }
      }
      writer.writeEndOfFile();
    }
    const c10::IValue root = torch::pickle_load(archive);
    if (!root.isGenericDict()) return absl::InvalidArgumentError(absl::StrCat("'", path, "' does not hold a dict"));
    c10::impl::GenericDict dict = root.toGenericDict();
    if (dict.contains(key) && dict.at(key).isGenericDict()) dict = dict.at(key).toGenericDict();
    std::map<std::string, at::Tensor> out;
    for (const auto& kv : dict)
      if (kv.key().isString() && kv.value().isTensor()) out[kv.key().toStringRef()] = kv.value().toTensor();
    if (out.empty()) return absl::InvalidArgumentError(absl::StrCat("'", path, "' holds no tensors (under '", key, "' or at the top)"));
    return out;
  } catch (const c10::Error& e) {
    return absl::InvalidArgumentError(absl::StrCat("'", path, "' is not a readable torch.save file: ", e.what_without_backtrace()));
  }
}

}  // namespace mt
