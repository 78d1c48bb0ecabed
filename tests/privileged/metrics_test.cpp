// SPDX-License-Identifier: Apache-2.0
// `mountleak trace --metrics` on the seed node: the endpoint, scraped over
// loopback while the scenario runs, shows the leak (device, PV, holder pod
// and container) while it exists and drops it once the holder is gone; the
// page and the textfile pass `promtool check metrics` (Debian's promtool,
// scripts/fetch_promtool.sh).

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "mountleak_process.h"
#include "seed_test_support.h"

namespace mountleak::testing {
namespace {

using namespace std::chrono_literals;
using fixture::ContainerKind;

// A port free on loopback now (the kernel's pick, released for trace).
uint16_t free_loopback_port() {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0)
    a.sin_port = 0;
  close(fd);
  return ntohs(a.sin_port);
}

// GET path over loopback; the body of a 200 answer, or "" (with `status`).
std::string http_get(uint16_t port, const std::string& path, std::string* status = nullptr) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string out;
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
    const std::string request = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    if (write(fd, request.data(), request.size()) == static_cast<ssize_t>(request.size())) {
      char buf[8192];
      for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;) out.append(buf, static_cast<size_t>(n));
    }
  }
  close(fd);
  const size_t eol = out.find("\r\n");
  if (status) *status = out.substr(0, eol);
  const size_t body = out.find("\r\n\r\n");
  if (out.rfind("HTTP/1.1 200", 0) != 0 || body == std::string::npos) return "";
  return out.substr(body + 4);
}

bool has_line(const std::string& page, const std::string& line) {
  return page.find("\n" + line + "\n") != std::string::npos;
}

// `promtool check metrics` on the text; its output on failure.
std::optional<std::string> promtool_rejects(const std::string& text, const std::string& scratch) {
  const std::string dir = MOUNTLEAK_PROMTOOL_DIR;
  const std::string fetch = std::string(MOUNTLEAK_FETCH_PROMTOOL) + " " + dir + " 2>&1";
  if (std::system(fetch.c_str()) != 0) return "scripts/fetch_promtool.sh failed: no promtool to check with";
  std::ofstream(scratch) << text;
  const std::string cmd = dir + "/promtool check metrics < " + scratch + " > " + scratch + ".out 2>&1";
  const int rc = std::system(cmd.c_str());
  std::stringstream out;
  out << std::ifstream(scratch + ".out").rdbuf();
  if (rc != 0) return "promtool check metrics failed: " + out.str() + "\non:\n" + text;
  return std::nullopt;
}

class TraceMetrics : public SeedNodeTest {
 protected:
  void TearDown() override {
    if (trace_) {
      EXPECT_EQ(trace_->stop(), 0) << trace_->stderr_text();
      trace_.reset();
    }
    SeedNodeTest::TearDown();
  }
  // Scrapes until the page satisfies `ok` (the page is rendered at most
  // 100 ms after a finding; a scrape takes what is there).
  std::string scrape_until(const std::function<bool(const std::string&)>& ok, std::chrono::seconds limit = 10s) {
    std::string page;
    for (auto until = std::chrono::steady_clock::now() + limit; std::chrono::steady_clock::now() < until;
         std::this_thread::sleep_for(100ms)) {
      page = http_get(port_, "/metrics");
      if (ok(page)) return page;
    }
    ADD_FAILURE() << "the page never showed what was expected; last page:\n" << page;
    return page;
  }
  std::unique_ptr<TraceProcess> trace_;
  uint16_t port_ = 0;
};

TEST_P(TraceMetrics, TheEndpointShowsTheLeakWhileItExistsAndTheTextfileIsValid) {
  port_ = free_loopback_port();
  ASSERT_NE(port_, 0);
  const std::string textfile_dir = node_->tmp_dir() + "/textfile";
  std::filesystem::create_directory(textfile_dir);
  const std::string textfile = textfile_dir + "/mountleak.prom";
  trace_ = std::make_unique<TraceProcess>(with({"--metrics", "127.0.0.1:" + std::to_string(port_),
                                                "--metrics-textfile", textfile},
                                               node_->cli_args()));
  ASSERT_TRUE(trace_->started());
  ASSERT_TRUE(trace_->wait_for_event("ready", 20s)) << trace_->stderr_text();

  std::string page = scrape_until([](const std::string& p) { return has_line(p, "mountleak_up 1"); });
  EXPECT_NE(page.find("mountleak_hook_tier_info{hook=\"umount\",tier=\""), std::string::npos) << page;
  EXPECT_TRUE(has_line(page, "mountleak_leaked_devices 0")) << page;
  std::string status;
  http_get(port_, "/anything", &status);
  EXPECT_NE(status.find(" 404"), std::string::npos) << status;

  fixture::Container* collector = start(ContainerKind::kLogCollectorPrivate);
  ASSERT_NE(collector, nullptr);
  ASSERT_TRUE(trace_->wait_for_event("hostpath_risk", 10s)) << trace_->describe();
  scrape_until([](const std::string& p) { return has_line(p, "mountleak_hostpath_risks 1"); });

  ASSERT_TRUE(node_->kubelet_unmount_pod_volume().ok());
  ASSERT_TRUE(node_->kubelet_unmount_global().ok());
  ASSERT_TRUE(trace_->wait_for_event("leak", 10s)) << trace_->describe();
  // The device, the PV from the kubelet's volume path, and who to restart.
  const std::string series = "mountleak_leak_info{device=\"" + node_->kernel_name() + "\",image=\"\",pv=\"" +
                             node_->pv_name() + "\",holder_pod_namespace=\"" + collector->pod.namespace_name +
                             "\",holder_pod=\"" + collector->pod.name + "\",holder_container=\"" +
                             collector->name + "\"} 1";
  page = scrape_until([&](const std::string& p) { return has_line(p, series); });
  EXPECT_TRUE(has_line(page, "mountleak_leaked_devices 1")) << page;
  EXPECT_TRUE(has_line(page, "mountleak_findings_total{kind=\"leak\"} 1")) << page;
  if (auto bad = promtool_rejects(page, node_->tmp_dir() + "/scraped.prom")) ADD_FAILURE() << *bad;

  // The collector is restarted: its namespace, and the last copy, go away.
  ASSERT_TRUE(node_->stop_container(*collector).ok());
  ASSERT_TRUE(trace_->wait_for_event("leak_resolved", 10s)) << trace_->describe();
  page = scrape_until([](const std::string& p) { return has_line(p, "mountleak_leaked_devices 0"); });
  EXPECT_EQ(page.find("mountleak_leak_info{"), std::string::npos) << page;
  EXPECT_TRUE(has_line(page, "mountleak_findings_total{kind=\"leak_resolved\"} 1")) << page;
  EXPECT_TRUE(has_line(page, "mountleak_hostpath_risks 0")) << page;

  // The textfile follows the same page, whole, valid, and says mountleak_up 0
  // once trace stops.
  std::stringstream running;
  running << std::ifstream(textfile).rdbuf();
  EXPECT_TRUE(has_line(running.str(), "mountleak_up 1")) << running.str();
  if (auto bad = promtool_rejects(running.str(), node_->tmp_dir() + "/textfile-copy.prom")) ADD_FAILURE() << *bad;
  EXPECT_EQ(trace_->stop(), 0) << trace_->stderr_text();
  trace_.reset();
  std::stringstream stopped;
  stopped << std::ifstream(textfile).rdbuf();
  EXPECT_TRUE(has_line(stopped.str(), "mountleak_up 0")) << stopped.str();
  EXPECT_TRUE(has_line(stopped.str(), "mountleak_findings_total{kind=\"leak_resolved\"} 1")) << stopped.str();
  size_t entries = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(textfile_dir)) ++entries;
  EXPECT_EQ(entries, 1u) << "a temporary file was left beside the textfile";
}

TEST_P(TraceMetrics, AWrongAddressOrTextfileStopsTraceBeforeItLoads) {
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"--metrics", "localhost:9745"},
           {"--metrics", "127.0.0.1:70000"},
           {"--metrics-textfile", node_->tmp_dir() + "/missing/mountleak.prom"},
           {"--metrics-textfile", node_->tmp_dir() + "/mountleak.txt"}}) {
    RunResult r = run_mountleak(with(with({"trace", "--duration", "5"}, args), node_->cli_args()));
    EXPECT_EQ(r.exit_code, 2) << args[1] << ": " << r.err;
    EXPECT_NE(r.err.find("--metrics"), std::string::npos) << r.err;
  }
}

INSTANTIATE_TEST_SUITE_P(Runtimes, TraceMetrics, ::testing::Values(runtime_variants()[0]), variant_name);

}  // namespace
}  // namespace mountleak::testing
