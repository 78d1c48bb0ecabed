// SPDX-License-Identifier: Apache-2.0
// The metrics endpoint on loopback: --metrics' addresses, what it answers,
// and what it refuses.

#include "output/metrics_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

namespace mountleak {
namespace {

TEST(ListenAddress, LoopbackUnlessWrittenOut) {
  EXPECT_EQ(parse_listen_address("9745")->text, "127.0.0.1:9745");
  EXPECT_EQ(parse_listen_address(":9745")->text, "127.0.0.1:9745");
  EXPECT_EQ(parse_listen_address("0.0.0.0:9745")->text, "0.0.0.0:9745");
  EXPECT_EQ(parse_listen_address("10.1.2.3:80")->text, "10.1.2.3:80");
  EXPECT_EQ(parse_listen_address("[::1]:9745")->text, "[::1]:9745");
  EXPECT_EQ(parse_listen_address("[::]:9745")->addr.ss_family, AF_INET6);
}

TEST(ListenAddress, RefusesWhatIsNotANumericAddressAndPort) {
  for (const char* bad : {"", ":", "0", "65536", "localhost:9745", "node:9745", "1.2.3:9745", "9745x",
                          "[::1]9745", "[::1]", "::1:9745", "-1", "127.0.0.1:"})
    EXPECT_FALSE(parse_listen_address(bad).ok()) << bad;
}

// One request on a fresh connection; the whole answer.
std::string http_exchange(uint16_t port, const std::string& request) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return "connect failed";
  }
  (void)!write(fd, request.data(), request.size());
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;) out.append(buf, static_cast<size_t>(n));
  close(fd);
  return out;
}

class MetricsServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ListenAddress any_port;
    auto* a = reinterpret_cast<sockaddr_in*>(&any_port.addr);
    a->sin_family = AF_INET;
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    any_port.len = sizeof *a;
    auto bound = MetricsServer::listen(any_port);
    ASSERT_TRUE(bound.ok()) << bound.error().message;
    server_ = std::move(*bound);
    ASSERT_TRUE(server_->serve().ok());
    port_ = server_->port();
    ASSERT_NE(port_, 0);
  }
  std::unique_ptr<MetricsServer> server_;
  uint16_t port_ = 0;
};

TEST_F(MetricsServerTest, GetMetricsAnswersThePagePublishedLast) {
  server_->publish("mountleak_up 1\n");
  std::string answer = http_exchange(port_, "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_TRUE(answer.starts_with("HTTP/1.1 200")) << answer;
  EXPECT_NE(answer.find("text/plain; version=0.0.4"), std::string::npos) << answer;
  EXPECT_TRUE(answer.ends_with("\r\n\r\nmountleak_up 1\n")) << answer;
  server_->publish("mountleak_up 0\n");
  answer = http_exchange(port_, "GET /metrics HTTP/1.0\r\n\r\n");
  EXPECT_TRUE(answer.ends_with("mountleak_up 0\n")) << answer;
}

TEST_F(MetricsServerTest, RootPointsToMetrics) {
  std::string answer = http_exchange(port_, "GET / HTTP/1.0\r\n\r\n");
  EXPECT_TRUE(answer.starts_with("HTTP/1.0 200") || answer.starts_with("HTTP/1.1 200")) << answer;
  EXPECT_NE(answer.find("/metrics"), std::string::npos) << answer;
}

TEST_F(MetricsServerTest, AnythingElseIsRefused) {
  server_->publish("secret-free page\n");
  EXPECT_NE(http_exchange(port_, "GET /etc/passwd HTTP/1.0\r\n\r\n").find(" 404 "), std::string::npos);
  EXPECT_NE(http_exchange(port_, "GET /metrics/../x HTTP/1.0\r\n\r\n").find(" 404 "), std::string::npos);
  std::string post = http_exchange(port_, "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello");
  EXPECT_NE(post.find(" 405 "), std::string::npos) << post;
  EXPECT_EQ(post.find("secret-free page"), std::string::npos) << post;
  // Headers larger than a connection's memory: an error, never a page.
  std::string huge = "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Pad: " + std::string(64 * 1024, 'a') + "\r\n\r\n";
  std::string answer = http_exchange(port_, huge);
  EXPECT_EQ(answer.find("secret-free page"), std::string::npos) << answer.substr(0, 200);
  // And it still serves afterwards.
  EXPECT_NE(http_exchange(port_, "GET /metrics HTTP/1.0\r\n\r\n").find("secret-free page"), std::string::npos);
}

TEST(MetricsServer, APortInUseIsAnError) {
  ListenAddress any_port;
  auto* a = reinterpret_cast<sockaddr_in*>(&any_port.addr);
  a->sin_family = AF_INET;
  a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  any_port.len = sizeof *a;
  auto first = MetricsServer::listen(any_port);
  ASSERT_TRUE(first.ok());
  a->sin_port = htons((*first)->port());
  any_port.text = "127.0.0.1:" + std::to_string((*first)->port());
  auto second = MetricsServer::listen(any_port);
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.error().message.find(any_port.text), std::string::npos) << second.error().message;
}

TEST(MetricsServer, ServesOnIpv6Loopback) {
  auto address = parse_listen_address("[::1]:1");
  ASSERT_TRUE(address.ok());
  reinterpret_cast<sockaddr_in6*>(&address->addr)->sin6_port = 0;  // the kernel's pick
  auto server = MetricsServer::listen(*address);
  ASSERT_TRUE(server.ok()) << server.error().message;
  ASSERT_TRUE((*server)->serve().ok());
  (*server)->publish("mountleak_up 1\n");
  const int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in6 a{};
  a.sin6_family = AF_INET6;
  a.sin6_port = htons((*server)->port());
  a.sin6_addr = in6addr_loopback;
  ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  const std::string request = "GET /metrics HTTP/1.0\r\n\r\n";
  ASSERT_EQ(write(fd, request.data(), request.size()), static_cast<ssize_t>(request.size()));
  std::string out;
  char buf[1024];
  for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;) out.append(buf, static_cast<size_t>(n));
  close(fd);
  EXPECT_TRUE(out.ends_with("mountleak_up 1\n")) << out;
}

}  // namespace
}  // namespace mountleak
