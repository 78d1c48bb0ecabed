// SPDX-License-Identifier: Apache-2.0
// CephClient against a real throwaway cluster (scripts/ceph/start_cluster.sh:
// one mon, one memstore OSD, on 127.0.0.1 only) and against a dead one.
// The other clients of an image are real librbd clients: a process that
// opens the image and takes its exclusive lock (scripts/ceph/hold_image.py),
// and `rbd lock add`.
//
// ctest runs each test in its own process, so each starts its own cluster
// (~5-10 s); the checks are grouped into few tests to keep the suite short.
// The cluster is stopped in TearDownTestSuite, and, should this process die
// first, by start_cluster.sh's --owner-pid watcher; a later run also sweeps
// what a killed run left.

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "fixture/command.h"
#include "resolve/ceph_client.h"
#include "resolve/ceph_names.h"

extern char** environ;

namespace mountleak {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr const char* kDirPrefix = "mountleak-ceph-test-";

fs::path scripts_dir() {
  return MOUNTLEAK_CEPH_SCRIPTS;  // tests/CMakeLists.txt
}

std::map<std::string, std::string> read_env_file(const fs::path& path) {
  std::map<std::string, std::string> env;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);)
    if (size_t eq = line.find('='); eq != std::string::npos) env[line.substr(0, eq)] = line.substr(eq + 1);
  return env;
}

bool process_alive(pid_t pid) { return pid > 0 && (::kill(pid, 0) == 0 || errno == EPERM); }

// Clusters of runs that were killed before their teardown (and whose
// watcher was killed with them).
void sweep_stale_clusters() {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(fs::temp_directory_path(), ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind(kDirPrefix, 0) != 0) continue;
    std::ifstream owner_file(entry.path() / "owner.pid");
    pid_t owner = 0;
    if (!(owner_file >> owner) || process_alive(owner)) continue;
    (void)fixture::run_command({scripts_dir() / "stop_cluster.sh", entry.path().string()});
  }
}

// A process holding an image open (and its exclusive lock) until destroyed.
class ImageHolder {
 public:
  ImageHolder(const std::string& conf, const std::string& pool, const std::string& image, bool lock) {
    int in[2], out[2];
    if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0) return;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in[0], 0);
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    const std::string script = scripts_dir() / "hold_image.py";
    std::vector<std::string> argv = {script, conf, pool, image};
    if (lock) argv.push_back("--lock");
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    if (posix_spawn(&pid_, script.c_str(), &actions, nullptr, args.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&actions);
    ::close(in[0]);
    ::close(out[1]);
    stdin_ = in[1];
    stdout_ = out[0];
  }
  ~ImageHolder() { release(); }
  ImageHolder(const ImageHolder&) = delete;
  ImageHolder& operator=(const ImageHolder&) = delete;

  // "<global id> <address>" once it holds the image; nothing on timeout/exit.
  std::optional<std::string> wait_ready(std::chrono::seconds timeout) {
    std::string line;
    const auto deadline = Clock::now() + timeout;
    while (pid_ > 0 && Clock::now() < deadline) {
      pollfd p{stdout_, POLLIN, 0};
      int ms = static_cast<int>(
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count());
      if (::poll(&p, 1, std::max(ms, 0)) <= 0) break;
      char c;
      ssize_t n = ::read(stdout_, &c, 1);
      if (n <= 0) break;
      if (c == '\n') return line;
      line += c;
    }
    return std::nullopt;
  }

  // Closing stdin lets it close the image (releasing the lock) and exit.
  void release() {
    if (stdin_ >= 0) ::close(stdin_);
    if (stdout_ >= 0) ::close(stdout_);
    stdin_ = stdout_ = -1;
    if (pid_ <= 0) return;
    for (int i = 0; i < 200; ++i) {
      if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = -1;
        return;
      }
      ::usleep(50 * 1000);
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

 private:
  pid_t pid_ = -1;
  int stdin_ = -1, stdout_ = -1;
};

class CephCluster : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    sweep_stale_clusters();
    std::string tmpl = (fs::temp_directory_path() / (std::string(kDirPrefix) + "XXXXXX")).string();
    if (!::mkdtemp(tmpl.data())) {
      start_error_ = "mkdtemp failed";
      return;
    }
    dir_ = tmpl;
    const auto start = Clock::now();
    auto started = fixture::run_command(
        {scripts_dir() / "start_cluster.sh", dir_.string(), "--owner-pid", std::to_string(::getpid())});
    start_seconds_ = std::chrono::duration<double>(Clock::now() - start).count();
    if (!started) {
      start_error_ = started.error().message;
      return;
    }
    env_ = read_env_file(dir_ / "env");
    std::ofstream(dir_ / "owner.pid") << ::getpid() << "\n";
  }

  static void TearDownTestSuite() {
    if (dir_.empty()) return;
    auto stopped = fixture::run_command({scripts_dir() / "stop_cluster.sh", dir_.string()});
    if (!stopped) ADD_FAILURE() << stopped.error().message;
    EXPECT_FALSE(fs::exists(dir_)) << dir_ << " left behind";
    dir_.clear();
  }

  void SetUp() override {
    ASSERT_TRUE(start_error_.empty()) << "starting the cluster: " << start_error_;
    ASSERT_FALSE(env_["CEPH_CONF"].empty()) << "no CEPH_CONF in " << (dir_ / "env");
    std::printf("cluster started in %.1f s\n", start_seconds_);
  }

  static std::string conf() { return env_["CEPH_CONF"]; }
  static std::string pool() { return env_["CEPH_POOL"]; }
  static std::string image() { return env_["CEPH_IMAGE"]; }

  static Status rbd(std::vector<std::string> args) {
    args.insert(args.begin(), {"rbd", "-c", conf()});
    return fixture::run_command(args);
  }

  static CephClient client() {
    CephClientOptions options;
    options.conf_path = conf();
    options.keyring_path = env_["CEPH_KEYRING"];
    return CephClient(options);
  }

  static inline fs::path dir_;
  static inline std::map<std::string, std::string> env_;
  static inline std::string start_error_;
  static inline double start_seconds_ = 0;
};

const RbdWatcher* find_watcher(const RbdImageClients& c, int64_t id) {
  for (const auto& w : c.watchers)
    if (w.global_id == id) return &w;
  return nullptr;
}

TEST_F(CephCluster, ReportsTheWatcherAndExclusiveLockOwnerOfAnOpenImage) {
  auto ceph = client();
  auto fsid = ceph.cluster_fsid();
  ASSERT_TRUE(fsid) << fsid.error().message;
  std::ifstream conf_file(conf());
  std::string conf_text((std::istreambuf_iterator<char>(conf_file)), std::istreambuf_iterator<char>());
  EXPECT_NE(conf_text.find("fsid = " + *fsid), std::string::npos) << *fsid;

  // Nobody uses the new image; our own read-only open must not show up.
  auto idle = ceph.image_clients(pool(), "", image());
  ASSERT_TRUE(idle) << idle.error().message;
  EXPECT_TRUE(idle->watchers.empty())
      << idle->watchers.size() << " watchers, first id " << idle->watchers.front().global_id;
  EXPECT_TRUE(idle->lockers.empty());
  EXPECT_TRUE(idle->has_exclusive_lock_feature);
  EXPECT_TRUE(idle->lock_owners.empty());

  {
    ImageHolder holder(conf(), pool(), image(), /*lock=*/true);
    auto ready = holder.wait_ready(std::chrono::seconds(30));
    ASSERT_TRUE(ready) << "hold_image.py did not take the lock";
    std::istringstream fields(*ready);
    int64_t holder_id = 0;
    std::string holder_addr;
    fields >> holder_id >> holder_addr;
    ASSERT_GT(holder_id, 0) << *ready;

    // The same connection again: cached, not reconnected.
    auto held = ceph.image_clients(pool(), "", image());
    ASSERT_TRUE(held) << held.error().message;
    const RbdWatcher* w = find_watcher(*held, holder_id);
    ASSERT_NE(w, nullptr) << "holder client." << holder_id << " is not among " << held->watchers.size()
                          << " watchers";
    EXPECT_EQ(w->address, holder_addr);
    EXPECT_NE(w->cookie, 0u);
    EXPECT_EQ(held->watchers.size(), 1u);

    ASSERT_EQ(held->lockers.size(), 1u);
    EXPECT_EQ(held->lockers[0].client, "client." + std::to_string(holder_id));
    EXPECT_EQ(held->lockers[0].address, holder_addr);
    EXPECT_EQ(held->lockers[0].cookie.rfind("auto ", 0), 0u) << held->lockers[0].cookie;
    EXPECT_TRUE(held->lock_exclusive);
    EXPECT_EQ(held->lock_tag, kRbdExclusiveLockTag);
    EXPECT_EQ(held->lock_owners, std::vector<std::string>{"client." + std::to_string(holder_id)});

    // A kernel mapping by this client would carry its id in sysfs.
    RbdInfo mapping;
    mapping.pool = pool();
    mapping.image = image();
    mapping.client_id = "client" + std::to_string(holder_id);
    EXPECT_TRUE(is_mapping_watcher(*w, mapping));
    auto by_mapping = ceph.image_clients(mapping);
    ASSERT_TRUE(by_mapping) << by_mapping.error().message;
    EXPECT_EQ(by_mapping->watchers.size(), 1u);
  }

  // Closed: the watch and the lock are gone.
  auto after = ceph.image_clients(pool(), "", image());
  ASSERT_TRUE(after) << after.error().message;
  EXPECT_TRUE(after->watchers.empty());
  EXPECT_TRUE(after->lockers.empty());
  EXPECT_TRUE(after->lock_owners.empty());
}

TEST_F(CephCluster, ReportsAdvisoryLocksNamespacesAndMissingImages) {
  // An `rbd lock add` lock outlives its client: a locker with no watcher.
  ASSERT_TRUE(rbd({"create", "--size", "16", "--image-feature", "layering", pool() + "/advisory"}));
  ASSERT_TRUE(rbd({"lock", "add", pool() + "/advisory", "leak-test"}));
  ASSERT_TRUE(rbd({"namespace", "create", pool() + "/tenant-a"}));
  ASSERT_TRUE(rbd({"create", "--size", "16", pool() + "/tenant-a/vol"}));

  auto ceph = client();
  auto advisory = ceph.image_clients(pool(), "", "advisory");
  ASSERT_TRUE(advisory) << advisory.error().message;
  EXPECT_TRUE(advisory->watchers.empty());
  ASSERT_EQ(advisory->lockers.size(), 1u);
  EXPECT_EQ(advisory->lockers[0].cookie, "leak-test");
  EXPECT_TRUE(ceph_entity_global_id(advisory->lockers[0].client).has_value()) << advisory->lockers[0].client;
  EXPECT_FALSE(advisory->lockers[0].address.empty());
  EXPECT_TRUE(advisory->lock_exclusive);
  EXPECT_EQ(advisory->lock_tag, "");
  EXPECT_FALSE(advisory->has_exclusive_lock_feature);
  EXPECT_TRUE(advisory->lock_owners.empty());

  {
    ImageHolder holder(conf(), pool() + "/tenant-a", "vol", /*lock=*/false);
    auto ready = holder.wait_ready(std::chrono::seconds(30));
    ASSERT_TRUE(ready) << "hold_image.py did not open tenant-a/vol";
    auto in_ns = ceph.image_clients(pool(), "tenant-a", "vol");
    ASSERT_TRUE(in_ns) << in_ns.error().message;
    EXPECT_EQ(in_ns->rados_namespace, "tenant-a");
    ASSERT_EQ(in_ns->watchers.size(), 1u);
    EXPECT_EQ(std::to_string(in_ns->watchers[0].global_id), ready->substr(0, ready->find(' ')));
    EXPECT_TRUE(in_ns->lockers.empty());  // opened, never written: no exclusive lock taken
  }

  // The same name in the default namespace does not exist.
  auto missing = ceph.image_clients(pool(), "", "vol");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().errno_value, ENOENT);
  EXPECT_NE(missing.error().message.find("opening rbd image " + pool() + "/vol in the cluster in " + conf() +
                                         " as client.admin"),
            std::string::npos)
      << missing.error().message;

  auto no_pool = ceph.image_clients("no-such-pool", "", "vol");
  ASSERT_FALSE(no_pool);
  EXPECT_EQ(no_pool.error().errno_value, ENOENT);
  EXPECT_NE(no_pool.error().message.find("opening pool no-such-pool"), std::string::npos)
      << no_pool.error().message;
}

// A cluster whose mon is a closed loopback port: an error after the default
// 5 s timeout, never a hang.
TEST(CephUnreachable, ErrorsWithinTheTimeout) {
  std::string tmpl = (fs::temp_directory_path() / "mountleak-ceph-dead-XXXXXX").string();
  ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
  const fs::path dir = tmpl;
  // The port of a listener we close again: nobody listens there now.
  int port = 0;
  {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
    port = ntohs(addr.sin_port);
    ::close(fd);
  }
  std::ofstream(dir / "keyring") << "[client.admin]\n\tkey = AQB3UwlrAAAAABAAcfhabD6Uz0vI7eeUJahDqg==\n";
  std::ofstream(dir / "ceph.conf") << "[global]\nmon host = [v2:127.0.0.1:" << port
                                   << ",v1:127.0.0.1:" << port
                                   << "]\nkeyring = " << (dir / "keyring").string() << "\n";

  CephClientOptions options;
  options.conf_path = (dir / "ceph.conf").string();
  CephClient ceph(options);
  const auto start = Clock::now();
  auto r = ceph.image_clients("kube", "", "img0");
  const double took = std::chrono::duration<double>(Clock::now() - start).count();
  fs::remove_all(dir);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().errno_value, ETIMEDOUT) << r.error().message;
  EXPECT_EQ(
      r.error().message.rfind("connecting to the cluster in " + options.conf_path + " as client.admin: ", 0),
      0u)
      << r.error().message;
  EXPECT_GE(took, 4.0);
  EXPECT_LT(took, 8.0);
}

}  // namespace
}  // namespace mountleak
