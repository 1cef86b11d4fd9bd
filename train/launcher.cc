#include "train/launcher.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "core/runtime/log.h"

extern char** environ;

namespace mt::train_cli {
namespace {

constexpr int kDefaultMasterPort = 29500;  // torchrun's

// The integer environment variable `name`, `fallback` if unset; INVALID_ARGUMENT if not a number.
absl::StatusOr<int> EnvInt(const char* name, int fallback) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return fallback;
  int out = 0;
  if (!absl::SimpleAtoi(v, &out)) return absl::InvalidArgumentError(absl::StrCat(name, "='", v, "' is not an integer"));
  return out;
}

std::string EnvString(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::string(v) : fallback;
}

// A TCP port nobody listens on now (the kernel's choice; another process could take it before
// rank 0 binds it, which then fails the rendezvous with a clear error).
absl::StatusOr<int> FreeLoopbackPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return absl::InternalError(absl::StrCat("socket: ", std::strerror(errno)));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  int port = -1;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
    port = ntohs(addr.sin_port);
  close(fd);
  if (port <= 0) return absl::InternalError("could not find a free TCP port for MASTER_PORT");
  return port;
}

}  // namespace

absl::StatusOr<WorldSpec> ResolveWorld(const TrainerConfig& t) {
  const int configured = static_cast<int>(t.devices * t.num_nodes);
  WorldSpec w;
  if (std::getenv("WORLD_SIZE") != nullptr) {  // torchrun-style launch (or one of our own workers)
    absl::StatusOr<int> world = EnvInt("WORLD_SIZE", 1), rank = EnvInt("RANK", -1);
    if (!world.ok()) return world.status();
    if (!rank.ok()) return rank.status();
    absl::StatusOr<int> local = EnvInt("LOCAL_RANK", *rank), port = EnvInt("MASTER_PORT", kDefaultMasterPort);
    if (!local.ok()) return local.status();
    if (!port.ok()) return port.status();
    if (*world != configured)
      return absl::InvalidArgumentError(absl::StrCat(
          "WORLD_SIZE=", *world, " but trainer.devices × trainer.num_nodes = ", t.devices, " × ", t.num_nodes,
          "; set trainer.devices to the processes per node and trainer.num_nodes to the nodes"));
    if (*rank < 0 || *rank >= *world)
      return absl::InvalidArgumentError(absl::StrCat("RANK must be set to a value in [0, ", *world, ")"));
    w.world_size = *world;
    w.rank = *rank;
    w.local_rank = *local;
    w.master_addr = EnvString("MASTER_ADDR", "127.0.0.1");
    w.master_port = *port;
    return w;
  }
  if (configured == 1) return w;
  absl::StatusOr<int> node = EnvInt("NODE_RANK", 0);
  if (!node.ok()) return node.status();
  if (t.num_nodes > 1 && (std::getenv("MASTER_ADDR") == nullptr || std::getenv("NODE_RANK") == nullptr))
    return absl::InvalidArgumentError(absl::StrCat(
        "trainer.num_nodes=", t.num_nodes, ": run mt-train once per node with NODE_RANK, MASTER_ADDR and "
        "MASTER_PORT set (or launch every process with torchrun)"));
  if (*node < 0 || *node >= t.num_nodes)
    return absl::InvalidArgumentError(absl::StrCat("NODE_RANK must be in [0, ", t.num_nodes, ")"));
  absl::StatusOr<int> port = EnvInt("MASTER_PORT", -1);
  if (!port.ok()) return port.status();
  if (*port < 0) {
    if (t.num_nodes > 1) {
      port = kDefaultMasterPort;
    } else {
      port = FreeLoopbackPort();
      if (!port.ok()) return port.status();
    }
  }
  w.world_size = configured;
  w.rank = static_cast<int>(*node * t.devices);
  w.master_addr = EnvString("MASTER_ADDR", "127.0.0.1");
  w.master_port = *port;
  w.spawn_local_ranks = true;
  return w;
}

int RunLocalRanks(const WorldSpec& world, int devices, const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t supervisor = getpid();
  std::vector<pid_t> pids;
  auto stop_all = [&pids] {
    for (pid_t p : pids) kill(p, SIGTERM);
  };
  for (int local = 0; local < devices; ++local) {
    // Built before fork: between fork and exec only async-signal-safe calls are allowed.
    std::vector<std::string> env_strings;
    bool wait_policy_set = false;
    for (char** e = environ; *e != nullptr; ++e) {
      const std::string kv = *e;
      const std::string key = kv.substr(0, kv.find('='));
      wait_policy_set |= key == "OMP_WAIT_POLICY";
      if (key != "WORLD_SIZE" && key != "RANK" && key != "LOCAL_RANK" && key != "MASTER_ADDR" && key != "MASTER_PORT")
        env_strings.push_back(kv);
    }
    if (!wait_policy_set) env_strings.push_back("OMP_WAIT_POLICY=passive");
    env_strings.push_back(absl::StrCat("WORLD_SIZE=", world.world_size));
    env_strings.push_back(absl::StrCat("RANK=", world.rank + local));
    env_strings.push_back(absl::StrCat("LOCAL_RANK=", local));
    env_strings.push_back(absl::StrCat("MASTER_ADDR=", world.master_addr));
    env_strings.push_back(absl::StrCat("MASTER_PORT=", world.master_port));
    std::vector<char*> env;
    for (std::string& kv : env_strings) env.push_back(kv.data());
    env.push_back(nullptr);
    const pid_t pid = fork();
    if (pid < 0) {
      log::error("fork: {}", std::strerror(errno));
      stop_all();
      break;
    }
    if (pid == 0) {
      prctl(PR_SET_PDEATHSIG, SIGTERM);  // never outlive the supervisor
      if (getppid() != supervisor) _exit(1);
      execve("/proc/self/exe", args.data(), env.data());
      _exit(127);
    }
    pids.push_back(pid);
  }
  log::info("started {} local rank(s) of {} (rendezvous {}:{})", pids.size(), world.world_size, world.master_addr,
            world.master_port);
  int job_status = pids.size() == static_cast<size_t>(devices) ? 0 : 1;
  for (size_t left = pids.size(); left > 0;) {
    int status = 0;
    const pid_t pid = waitpid(-1, &status, 0);
    if (pid < 0) {
      if (errno == EINTR) continue;
      break;
    }
    --left;
    const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (code != 0 && job_status == 0) {
      // The others would wait for it in a collective until the timeout: stop them now.
      const size_t local = static_cast<size_t>(std::find(pids.begin(), pids.end(), pid) - pids.begin());
      log::error("rank {} (pid {}) exited with status {}; stopping the job", world.rank + static_cast<int>(local), pid,
                 code);
      job_status = code;
      stop_all();
    }
  }
  return job_status;
}

}  // namespace mt::train_cli
