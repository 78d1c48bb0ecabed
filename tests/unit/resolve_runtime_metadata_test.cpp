// SPDX-License-Identifier: Apache-2.0
#include "resolve/runtime_metadata.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace mountleak {
namespace {

namespace fs = std::filesystem;

const std::string kData = MOUNTLEAK_TEST_DATA;

// IDs of the fixtures under tests/data/{containerd,crio,docker}; see
// tests/data/containerd/FIXTURES.md.
constexpr const char* kContainerdFluentd = "d142880e8427abeec12975fd55911ea2cbd390b656a4d2bad821df997d529975";
constexpr const char* kContainerdFluentdSandbox = "a84bba07931db925306a0799dc6ebd718b8c764d1c0acb3dea13519a60a077bb";
constexpr const char* kContainerdFluentBit = "8995efeba9032050d09c5892503e12b47fa42f93ceaf2ffbf3e0b6e9aba45ee6";
constexpr const char* kContainerdMysql = "ce9da201e0c0d1a0dc00f0e71a714a16e81c1aad236d31def0b9d2993134b65a";
constexpr const char* kContainerdMoby = "b3adf32b1cc8fa650bdf6593d1b61b4b171b2f3a9f889eeaf77ee09a4496e0ed";
constexpr const char* kContainerdTruncated = "b98dc935deae6d0093459b79b210779895feefb37c986847182905b0e600fe7b";
constexpr const char* kCrioFluentd = "83998e1705bb7a7af3d2e2425ba9682170905f4ec5a399fc47f5edbada514e28";
constexpr const char* kCrioFluentBit = "f0603577aa6c55e0d19d3572186e5761b1524bf0b0947c5eba021711473613ef";
constexpr const char* kCrioMysql = "db3ce587e4620fcd39a4d824aebf9c5ec6211d3d1d09155e1cd9d00e5d07844d";
constexpr const char* kCrioWrongShape = "c5c246dd3292aa1c30da8da8da471d7e93d06dbf9ced138c1de8ba2ac48cfec6";
constexpr const char* kDockerFluentd = "9301ffdb801678332777c027aaddbfe258b6736c838acdc4bbe92537f2f26ff2";
constexpr const char* kDockerFluentBit = "0d43e0a2fa91787effb2121c506bac842f5fa229d4f62a0290c9d174e373bdb7";
constexpr const char* kDockerMysql = "d218bafcbbaa49132982769100a24a6514cbb7928ac4d8b505ff3a5c241f7e19";
constexpr const char* kDockerLogspout = "e3f7128c3555127e4507b503ccb2c06e8c54554f2cc4cfac2b3f5230acbad8af";
constexpr const char* kDockerNotJson = "e9884d7da9412c63c662e27c8787288993d68ccfa4d1765d9c133d5975e3d1f9";

constexpr const char* kFluentdUid = "8f0e7c9a-1b2d-4c3e-9f4a-5b6c7d8e9f01";
constexpr const char* kFluentBitUid = "2b7d4e1f-3a5c-4e6b-8d9f-0a1b2c3d4e5f";
constexpr const char* kMysqlUid = "d6a2f1c4-7e3b-4a9d-b5c8-1e2f3a4b5c6d";

HostPaths fixture_paths() {
  HostPaths p;
  p.host_root = "/nonexistent-host-root";
  p.containerd_state = kData + "/containerd";
  p.crio_state = kData + "/crio";
  p.docker_root = kData + "/docker";
  return p;
}

const OciMount* mount_at(const ContainerMetadata& m, std::string_view destination) {
  for (const auto& mount : m.mounts)
    if (mount.destination == destination) return &mount;
  return nullptr;
}

void expect_pod(const ContainerMetadata& m, const char* ns, const char* name, const char* uid) {
  ASSERT_TRUE(m.pod.has_value());
  EXPECT_EQ(m.pod->namespace_, ns);
  EXPECT_EQ(m.pod->name, name);
  EXPECT_EQ(m.pod->uid, uid);
}

// Every runtime: the log collector that leaks, the one that cannot, and the
// pod that owns the rbd volume.
struct Case {
  const char* runtime;
  const char* fluentd;
  const char* fluent_bit;
  const char* mysql;
  const char* mysql_volume_source;
};

class ResolveRuntimeMetadataPerRuntime : public ::testing::TestWithParam<Case> {};

TEST_P(ResolveRuntimeMetadataPerRuntime, LogCollectorWithPrivateKubeletBind) {
  MetadataStore store(fixture_paths());
  auto m = store.find(GetParam().runtime, GetParam().fluentd);
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(m->runtime, GetParam().runtime);
  EXPECT_EQ(m->id, GetParam().fluentd);
  EXPECT_EQ(m->name, "fluentd");
  EXPECT_FALSE(m->sandbox);
  expect_pod(*m, "kube-system", "fluentd-x7k2p", kFluentdUid);
  const OciMount* kubelet = mount_at(*m, "/var/lib/kubelet");
  ASSERT_NE(kubelet, nullptr);
  EXPECT_EQ(kubelet->source, "/var/lib/kubelet");
  EXPECT_EQ(kubelet->type, "bind");
  EXPECT_EQ(kubelet->propagation, "rprivate");
  EXPECT_NE(std::find(kubelet->options.begin(), kubelet->options.end(), "ro"), kubelet->options.end());
  EXPECT_NE(m->metadata_file.find(GetParam().fluentd), std::string::npos);
}

TEST_P(ResolveRuntimeMetadataPerRuntime, LogCollectorWithSlaveKubeletBind) {
  MetadataStore store(fixture_paths());
  auto m = store.find(GetParam().runtime, GetParam().fluent_bit);
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(m->name, "fluent-bit");
  expect_pod(*m, "kube-system", "fluent-bit-4kq9z", kFluentBitUid);
  const OciMount* kubelet = mount_at(*m, "/var/lib/kubelet");
  ASSERT_NE(kubelet, nullptr);
  EXPECT_EQ(kubelet->propagation, "rslave");
}

TEST_P(ResolveRuntimeMetadataPerRuntime, PodWithItsOwnRbdVolume) {
  MetadataStore store(fixture_paths());
  auto m = store.find(GetParam().runtime, GetParam().mysql);
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(m->name, "mysql");
  expect_pod(*m, "default", "mysql-0", kMysqlUid);
  const OciMount* data = mount_at(*m, "/var/lib/mysql");
  ASSERT_NE(data, nullptr);
  EXPECT_EQ(data->source, std::string("/var/lib/kubelet/pods/") + kMysqlUid + GetParam().mysql_volume_source);
}

TEST_P(ResolveRuntimeMetadataPerRuntime, FoundWithoutARuntimeHint) {
  MetadataStore store(fixture_paths());
  auto m = store.find("", GetParam().fluentd);
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(m->runtime, GetParam().runtime);
}

INSTANTIATE_TEST_SUITE_P(
    Runtimes, ResolveRuntimeMetadataPerRuntime,
    ::testing::Values(Case{"containerd", kContainerdFluentd, kContainerdFluentBit, kContainerdMysql,
                           "/volumes/kubernetes.io~csi/pvc-4a1c7e2b-9d3f-4b6a-8c5e-0f1a2b3c4d5e/mount"},
                      Case{"cri-o", kCrioFluentd, kCrioFluentBit, kCrioMysql,
                           "/volumes/kubernetes.io~csi/pvc-4a1c7e2b-9d3f-4b6a-8c5e-0f1a2b3c4d5e/mount"},
                      Case{"docker", kDockerFluentd, kDockerFluentBit, kDockerMysql,
                           "/volumes/kubernetes.io~rbd/pvc-4a1c7e2b-9d3f-4b6a-8c5e-0f1a2b3c4d5e"}),
    [](const auto& info) { return info.param.runtime == std::string("cri-o") ? std::string("crio") : info.param.runtime; });

TEST(ResolveRuntimeMetadata, ContainerdSandbox) {
  MetadataStore store(fixture_paths());
  auto m = store.find("containerd", kContainerdFluentdSandbox);
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_TRUE(m->sandbox);
  EXPECT_EQ(m->name, "");
  expect_pod(*m, "kube-system", "fluentd-x7k2p", kFluentdUid);
}

TEST(ResolveRuntimeMetadata, PlainDockerContainerTakesPropagationFromBinds) {
  MetadataStore store(fixture_paths());
  auto m = store.find("docker", kDockerLogspout);
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(m->name, "logspout");
  EXPECT_FALSE(m->pod.has_value());
  const OciMount* kubelet = mount_at(*m, "/host/kubelet");
  ASSERT_NE(kubelet, nullptr);
  EXPECT_EQ(kubelet->source, "/var/lib/kubelet");
  EXPECT_EQ(kubelet->propagation, "rprivate");  // docker's default, from hostconfig.json Binds
}

TEST(ResolveRuntimeMetadata, DockerContainerKnownOnlyToContainerd) {
  MetadataStore store(fixture_paths());
  auto m = store.find("docker", kContainerdMoby);
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(m->runtime, "docker");
  EXPECT_EQ(m->name, "");
  ASSERT_NE(mount_at(*m, "/host/kubelet"), nullptr);
  EXPECT_EQ(mount_at(*m, "/host/kubelet")->propagation, "rprivate");
}

TEST(ResolveRuntimeMetadata, TruncatedJsonIsAnErrorNamingTheFile) {
  MetadataStore store(fixture_paths());
  auto m = store.find("containerd", kContainerdTruncated);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.error().message.find(kData + "/containerd/k8s.io/" + kContainerdTruncated + "/config.json"),
            std::string::npos)
      << m.error().message;
  EXPECT_NE(m.error().message.find("not valid JSON at byte "), std::string::npos) << m.error().message;
}

TEST(ResolveRuntimeMetadata, WrongShapeIsAnError) {
  MetadataStore store(fixture_paths());
  auto m = store.find("cri-o", kCrioWrongShape);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.error().message.find("/userdata/config.json"), std::string::npos) << m.error().message;
  EXPECT_NE(m.error().message.find("\"annotations\""), std::string::npos) << m.error().message;
}

TEST(ResolveRuntimeMetadata, DockerNotJson) {
  MetadataStore store(fixture_paths());
  auto m = store.find("docker", kDockerNotJson);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.error().message.find("config.v2.json: not valid JSON at byte 100"), std::string::npos)
      << m.error().message;
}

TEST(ResolveRuntimeMetadata, MissingEverywhere) {
  MetadataStore store(fixture_paths());
  auto m = store.find("", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().errno_value, ENOENT);
  EXPECT_NE(m.error().message.find("config.v2.json"), std::string::npos) << m.error().message;
  EXPECT_NE(m.error().message.find("userdata/config.json"), std::string::npos) << m.error().message;
  EXPECT_EQ(store.errors(), 1);
}

TEST(ResolveRuntimeMetadata, IdsCannotEscapeTheStateDirectories) {
  MetadataStore store(fixture_paths());
  for (const char* id : {"", ".", "..", "../../etc", "a/b"}) {
    auto m = store.find("", id);
    ASSERT_FALSE(m.ok()) << id;
    EXPECT_EQ(m.error().errno_value, EINVAL) << id;
  }
}

TEST(ResolveRuntimeMetadata, AnswersAreCached) {
  MetadataStore store(fixture_paths());
  ASSERT_TRUE(store.find("containerd", kContainerdFluentd).ok());
  int reads = store.files_read();
  EXPECT_EQ(reads, 1);
  ASSERT_TRUE(store.find("containerd", kContainerdFluentd).ok());
  ASSERT_FALSE(store.find("", "feedface").ok());
  ASSERT_FALSE(store.find("", "feedface").ok());  // asked again: it may be written yet
  EXPECT_EQ(store.files_read(), reads);
  EXPECT_EQ(store.errors(), 1);  // one container, however often asked
}

TEST(ResolveRuntimeMetadata, PropagationFromOptions) {
  EXPECT_EQ(propagation_from_options({"rbind", "rprivate", "rw"}), "rprivate");
  EXPECT_EQ(propagation_from_options({"rw", "rbind", "rslave"}), "rslave");
  EXPECT_EQ(propagation_from_options({"rbind", "rprivate", "rshared"}), "rshared");
  EXPECT_EQ(propagation_from_options({"rbind", "ro"}), "");
  EXPECT_EQ(propagation_from_options({}), "");
}

TEST(ResolveRuntimeMetadata, OciSpecWithoutPodAnnotationsUsesSandboxLogDirectory) {
  auto m = parse_oci_config(
      R"({"annotations":{"io.kubernetes.cri.container-type":"sandbox",
          "io.kubernetes.cri.sandbox-log-directory":"/var/log/pods/default_web-1_0a1b2c3d-0000-4000-8000-000000000001"},
          "mounts":[]})",
      "x/config.json", "containerd");
  ASSERT_TRUE(m.ok()) << m.error().message;
  expect_pod(*m, "default", "web-1", "0a1b2c3d-0000-4000-8000-000000000001");
}

TEST(ResolveRuntimeMetadata, OciSpecNotAnObject) {
  auto m = parse_oci_config("[1,2]", "x/config.json", "containerd");
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.error().message.find("x/config.json"), std::string::npos);
  auto empty = parse_oci_config("", "y/config.json", "cri-o");
  ASSERT_FALSE(empty.ok());
  EXPECT_NE(empty.error().message.find("y/config.json: not valid JSON at byte"), std::string::npos)
      << empty.error().message;
}

TEST(ResolveRuntimeMetadata, DockershimNameWithoutLabels) {
  auto m = parse_docker_config(
      R"({"ID":"abc","Name":"/k8s_fluentd_fluentd-x7k2p_kube-system_8f0e7c9a-1b2d-4c3e-9f4a-5b6c7d8e9f01_3",
          "Config":{"Labels":null},"MountPoints":{}})",
      "c/config.v2.json");
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(m->name, "fluentd");
  expect_pod(*m, "kube-system", "fluentd-x7k2p", kFluentdUid);
}

TEST(ResolveRuntimeMetadata, DockerBindsAddMountsAndPropagation) {
  auto m = parse_docker_config(R"({"ID":"abc","Name":"/x","Config":{},"MountPoints":{
        "/data":{"Source":"/srv/data","Destination":"/data","RW":true,"Type":"bind","Propagation":""}}})",
                               "c/config.v2.json",
                               R"({"Binds":["/srv/data:/data:rshared","/var/lib/kubelet:/kubelet:ro,rslave","named:/vol"]})",
                               "c/hostconfig.json");
  ASSERT_TRUE(m.ok()) << m.error().message;
  ASSERT_NE(mount_at(*m, "/data"), nullptr);
  EXPECT_EQ(mount_at(*m, "/data")->propagation, "rshared");
  ASSERT_NE(mount_at(*m, "/kubelet"), nullptr);
  EXPECT_EQ(mount_at(*m, "/kubelet")->propagation, "rslave");
  EXPECT_EQ(mount_at(*m, "/kubelet")->options, (std::vector<std::string>{"rbind", "ro", "rslave"}));
  ASSERT_NE(mount_at(*m, "/vol"), nullptr);
  EXPECT_EQ(mount_at(*m, "/vol")->type, "volume");
  EXPECT_EQ(mount_at(*m, "/vol")->propagation, "");

  auto bad = parse_docker_config(R"({"ID":"abc"})", "c/config.v2.json", "{", "c/hostconfig.json");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("c/hostconfig.json: not valid JSON"), std::string::npos);
}

class ResolvePodLogDir : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("mountleak-podlogs-" + std::to_string(::getpid()));
    fs::create_directories(dir_ / (std::string("kube-system_fluentd-x7k2p_") + kFluentdUid) / "fluentd");
    fs::create_directories(dir_ / (std::string("default_mysql-0_") + kMysqlUid) / "mysql");
    fs::create_directories(dir_ / "0f0f0f0f-1111-4222-8333-444444444444");  // before Kubernetes 1.14
    std::ofstream(dir_ / "stray-file");
    paths_.pod_log_dir = dir_.string();
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
  HostPaths paths_;
};

TEST_F(ResolvePodLogDir, FindsDirectoryByUid) {
  auto d = find_pod_log_dir(paths_, kMysqlUid);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(*d, (dir_ / (std::string("default_mysql-0_") + kMysqlUid)).string());
  auto pod = pod_from_log_dir_name(fs::path(*d).filename().string());
  ASSERT_TRUE(pod.has_value());
  EXPECT_EQ(pod->namespace_, "default");
  EXPECT_EQ(pod->name, "mysql-0");
  EXPECT_EQ(pod->uid, kMysqlUid);
}

TEST_F(ResolvePodLogDir, OldLayoutAndMisses) {
  EXPECT_TRUE(find_pod_log_dir(paths_, "0f0f0f0f-1111-4222-8333-444444444444").has_value());
  EXPECT_FALSE(find_pod_log_dir(paths_, kFluentBitUid).has_value());
  EXPECT_FALSE(find_pod_log_dir(paths_, "").has_value());
  HostPaths nowhere;
  nowhere.pod_log_dir = (dir_ / "missing").string();
  EXPECT_FALSE(find_pod_log_dir(nowhere, kMysqlUid).has_value());
}

TEST(ResolvePodLogDirName, Parses) {
  EXPECT_FALSE(pod_from_log_dir_name("").has_value());
  EXPECT_FALSE(pod_from_log_dir_name("a_b").has_value());
  EXPECT_FALSE(pod_from_log_dir_name("a_b_c_d").has_value());
  EXPECT_FALSE(pod_from_log_dir_name("_b_c").has_value());
  EXPECT_FALSE(pod_from_log_dir_name("a__c").has_value());
  EXPECT_FALSE(pod_from_log_dir_name("a_b_").has_value());
  auto p = pod_from_log_dir_name("kube-system_kube-proxy-abcde_5d9f3a1c8e2b4f7a9c0d1e2f3a4b5c6d");
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->uid, "5d9f3a1c8e2b4f7a9c0d1e2f3a4b5c6d");
}

}  // namespace
}  // namespace mountleak
