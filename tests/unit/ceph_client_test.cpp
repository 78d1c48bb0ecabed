// SPDX-License-Identifier: Apache-2.0
// CephClient without a cluster: every way of not reaching one must be a
// quick error that says which configuration and which client, never a hang.
// (Against a real cluster: tests/privileged/ceph_test.cpp.)
#include "resolve/ceph_client.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace mountleak {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// A loopback port nobody listens on: bound, read, closed. Another process
// could take it in between; then the test sees a refused handshake instead,
// which must time out the same way.
int closed_loopback_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    if (fd >= 0) ::close(fd);
    return -1;
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

class CephClientNoCluster : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "mountleak-ceph-unit-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }

  // A configuration whose only mon is a closed loopback port.
  std::string write_dead_cluster_conf() {
    int port = closed_loopback_port();
    EXPECT_GT(port, 0);
    const auto keyring = dir_ / "keyring";
    std::ofstream(keyring) << "[client.admin]\n\tkey = AQB3UwlrAAAAABAAcfhabD6Uz0vI7eeUJahDqg==\n";
    const auto conf = dir_ / "ceph.conf";
    std::ofstream(conf) << "[global]\nmon host = v1:127.0.0.1:" << port << "\nkeyring = " << keyring.string()
                        << "\nlog file = " << (dir_ / "client.log").string() << "\n";
    return conf.string();
  }

  fs::path dir_;
};

TEST_F(CephClientNoCluster, MissingConfigurationNamesTheFile) {
  const std::string conf = (dir_ / "nope.conf").string();
  CephClientOptions options;
  options.conf_path = conf;
  CephClient client(options);
  auto r = client.image_clients("kube", "", "img");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().errno_value, ENOENT);
  EXPECT_NE(r.error().message.find("reading " + conf), std::string::npos) << r.error().message;
}

TEST_F(CephClientNoCluster, RejectsANonClientName) {
  CephClientOptions options;
  options.conf_path = write_dead_cluster_conf();
  options.client = "osd.0";
  CephClient client(options);
  auto s = client.connect();
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().errno_value, EINVAL);
}

TEST_F(CephClientNoCluster, UnreachableClusterTimesOutAndIsRemembered) {
  const std::string conf = write_dead_cluster_conf();
  CephClientOptions options;
  options.conf_path = conf;
  options.client = "client.admin";
  options.timeout = std::chrono::seconds(1);
  CephClient client(options);
  EXPECT_EQ(client.description(), "the cluster in " + conf + " as client.admin");

  const auto start = Clock::now();
  auto r = client.image_clients("kube", "", "img");
  const auto took = Clock::now() - start;
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().errno_value, ETIMEDOUT) << r.error().message;
  EXPECT_EQ(r.error().message,
            "connecting to the cluster in " + conf + " as client.admin: " + std::strerror(ETIMEDOUT));
  EXPECT_LT(took, std::chrono::seconds(4))
      << "a 1 s timeout took " << std::chrono::duration<double>(took).count() << " s";

  // The second device of the same dead cluster costs nothing.
  const auto again = Clock::now();
  auto fsid = client.cluster_fsid();
  ASSERT_FALSE(fsid);
  EXPECT_EQ(fsid.error().message, r.error().message);
  EXPECT_LT(Clock::now() - again, std::chrono::milliseconds(100));
}

}  // namespace
}  // namespace mountleak
